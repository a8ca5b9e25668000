"""One fixture set for the whole suite.

The suite runs once on SQLite (a fresh database file per test, copied from a schema
template) and once on PostgreSQL when ``TEST_DATABASE_URL`` is set (one schema, every
table truncated before each test). ``scripts/run-tests.sh`` does both.
"""

import os
import shutil
import tempfile

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from points_service import create_app
from points_service.extensions import db

# The Stripe mock's fixtures (``stripe_mock``, ``assert_verified``) for the payment and browser tests.
pytest_plugins = ["tests.stripe_mock"]

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
ON_POSTGRESQL = TEST_DATABASE_URL.startswith("postgresql")

_session_dir = tempfile.mkdtemp(prefix="points-tests-")
os.environ.setdefault("INSTANCE_PATH", os.path.join(_session_dir, "instance"))

BASE_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    "BABEL_DEFAULT_LOCALE": "en",
    "SERVER_NAME": None,
    # A cheap Argon2id cost keeps the suite fast; production uses argon2-cffi's defaults.
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 1024,
    # Backtests run inside the request; tests/admin/test_backtest_runs.py runs the real thread.
    "BACKTEST_IN_BACKGROUND": False,
}


def _build_schema(url):
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        if ON_POSTGRESQL:
            with db.engine.begin() as connection:
                connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        db.create_all()
        db.engine.dispose()


@pytest.fixture(scope="session")
def database_template():
    if ON_POSTGRESQL:
        _build_schema(TEST_DATABASE_URL)
        return TEST_DATABASE_URL
    path = os.path.join(_session_dir, "template.sqlite3")
    _build_schema(f"sqlite:///{path}")
    return path


def _truncate_all(url):
    """Empty every table between tests. The ledger's tables refuse TRUNCATE by trigger;
    this connection, as a superuser, switches triggers off for its own transaction only
    (``session_replication_role``), which the app's role cannot do."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        tables = [t.name for t in db.metadata.sorted_tables]
        connection.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def database_url(database_template, tmp_path):
    if ON_POSTGRESQL:
        _truncate_all(database_template)
        return database_template
    path = tmp_path / "points.sqlite3"
    shutil.copyfile(database_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app_config():
    """Override in a test module to change settings."""
    return {}


class FreshRequestClient(FlaskClient):
    """A test client whose every request starts with an empty ``g``, as in production.

    The ``app`` fixture keeps an application context pushed so that a test can use the
    database, and Flask reuses that context for the client's requests. Without this,
    what one request left on ``g`` (Flask-Login's user, Flask-Babel's language) would be
    seen by the next request, even one from another client without a session cookie.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            g.__dict__.clear()
        return super().open(*args, **kwargs)


@pytest.fixture
def app(database_url, app_config):
    application = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, **app_config})
    application.test_client_class = FreshRequestClient
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def build(app):
    from tests.builders import Builder

    return Builder(app)


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, login, password):
        return self._client.post("/login", data={"login": login, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)
