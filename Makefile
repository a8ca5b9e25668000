# Volunteer Points: `make run` serves the product with demo data, `make test` runs every test.
# Every target is idempotent and works on a fresh Debian machine as root.
# One gunicorn worker with threads: rate limits are counted in its memory (gunicorn.conf.py
# refuses several workers without RATELIMIT_STORAGE_URI=redis://...). The app logs one JSON
# line per request by endpoint, never by path: member numbers appear in some API paths.

VENV    ?= .venv
PYTHON  ?= python3
HOST    ?= 127.0.0.1
PORT    ?= 5000
BIN     := $(VENV)/bin
FLASK   := $(BIN)/flask --app wsgi
APT_PACKAGES := chromium fonts-wqy-zenhei postgresql postgresql-contrib poppler-utils redis-server wrk

.PHONY: install system-packages translations run test test-sqlite test-postgresql lint format bench bench-faults clean

install: system-packages $(VENV)/.installed translations

system-packages:
	@scripts/install-system-packages.sh $(APT_PACKAGES)

$(VENV)/.installed: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dev]'
	touch $@

translations: $(VENV)/.installed
	@$(BIN)/pybabel compile -d points_service/translations

run: install
	$(FLASK) db upgrade
	$(FLASK) points demo --if-empty
	@echo "Serving on http://$(HOST):$(PORT)/ — log in with a demo login printed above."
	$(BIN)/gunicorn --bind $(HOST):$(PORT) --workers 1 --threads 8 wsgi:app

test: install lint
	scripts/run-tests.sh

test-sqlite: install
	DATABASES=sqlite scripts/run-tests.sh

test-postgresql: install
	DATABASES=postgresql scripts/run-tests.sh

lint: $(VENV)/.installed
	$(BIN)/ruff check points_service admin tests wsgi.py gunicorn.conf.py migrations benchmarks bench
	$(BIN)/ruff format --check points_service admin tests wsgi.py gunicorn.conf.py migrations benchmarks bench

format: $(VENV)/.installed
	$(BIN)/ruff format points_service admin tests wsgi.py gunicorn.conf.py migrations benchmarks bench
	$(BIN)/ruff check --fix points_service admin tests wsgi.py gunicorn.conf.py migrations benchmarks bench

# Load benchmarks on a throwaway PostgreSQL (not part of `make test`): figures next to their
# ceilings in bench/results/. BENCH_SCALE=city for 1,000,000 volunteers; BENCH_SECONDS per load.
BENCH_SCALE   ?= small
BENCH_SECONDS ?= 20
bench: install
	$(BIN)/python bench/run.py --scale $(BENCH_SCALE) --seconds $(BENCH_SECONDS)

bench-faults: install
	$(BIN)/python bench/faults.py

clean:
	rm -rf $(VENV) instance .pytest_cache

# Extract messages and update both catalogs (then translate the new entries in the .po files).
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ --no-location --sort-output -o points_service/translations/messages.pot points_service admin
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -i points_service/translations/messages.pot -d points_service/translations
	$(BIN)/python scripts/complete_english_catalog.py
