"""Settings from the environment, with safe defaults for a local run.

Only ``create_app`` reads this module. A production start (``FLASK_ENV`` or
``POINTS_ENV`` set to ``production``) refuses to run without ``SECRET_KEY``.
"""

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit


class ConfigurationError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def _bool(value, default=False):
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config(instance_path, overrides=None):
    """Build the Flask config mapping from the environment and ``overrides``."""
    overrides = dict(overrides or {})
    env = os.environ
    production = (overrides.get("ENV") or env.get("POINTS_ENV") or "development") == "production"
    secret_key = overrides.get("SECRET_KEY") or env.get("SECRET_KEY")
    if not secret_key:
        if production:
            raise ConfigurationError(
                "SECRET_KEY is not set: export SECRET_KEY to a long random value "
                "(python -c 'import secrets; print(secrets.token_hex(32))') before a production start."
            )
        secret_key = _development_secret(instance_path)
    default_db = "sqlite:///" + str(Path(instance_path) / "points.sqlite3")
    config = {
        "ENV": "production" if production else "development",
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": _normalise_database_url(env.get("DATABASE_URL") or default_db),
        # A PostgreSQL read replica for the views that opt in (replicas.py); empty: all read the primary.
        "DATABASE_REPLICA_URL": env.get("DATABASE_REPLICA_URL", ""),
        # The tables' owner, for ``flask db upgrade`` only; empty: migrate with DATABASE_URL.
        "MIGRATION_DATABASE_URL": env.get("MIGRATION_DATABASE_URL", ""),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", 16 * 1024 * 1024)),
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": env.get("DEFAULT_LOCALE", "zh_CN"),
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "DEFAULT_TIMEZONE": env.get("DEFAULT_TIMEZONE", "Asia/Shanghai"),
        "LANGUAGES": ["zh_CN", "en"],
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), True),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        # How many reverse proxies (nginx ...) stand in front and set X-Forwarded-For: the
        # client address that login throttling and rate limits count comes from them.
        "TRUSTED_PROXY_COUNT": int(env.get("TRUSTED_PROXY_COUNT", 0)),
        "RATELIMIT_HEADERS_ENABLED": True,
        "PRIVACY_NOTICE_VERSION": env.get("PRIVACY_NOTICE_VERSION", "2026-11"),
        # Where uploaded perk pictures are kept (re-encoded, content-addressed names);
        # empty: the instance folder's perk-pictures/. Every app server must see the same folder.
        "PERK_PICTURE_DIR": env.get("PERK_PICTURE_DIR", ""),
        # The defaults of the settings per organization (organizations/settings.py): the
        # administrators' settings page overrides them per subtree.
        "VOUCHER_TTL_MINUTES": int(env.get("VOUCHER_TTL_MINUTES", 60 * 24 * 7)),
        "MAX_SERVICE_MINUTES": int(env.get("MAX_SERVICE_MINUTES", 12 * 60)),
        "CHECKIN_GRACE_MINUTES": int(env.get("CHECKIN_GRACE_MINUTES", 30)),
        # A volunteer reports their own service at most this many days after it.
        "SELF_REPORT_WINDOW_DAYS": int(env.get("SELF_REPORT_WINDOW_DAYS", 60)),
        # A manual adjustment of more points than this (either way) needs a second administrator.
        "ADJUSTMENT_APPROVAL_THRESHOLD": int(env.get("ADJUSTMENT_APPROVAL_THRESHOLD", 200)),
        # Volunteers see the points that expire within this many days.
        "EXPIRY_WARNING_DAYS": int(env.get("EXPIRY_WARNING_DAYS", 60)),
        # How new honor rolls show names: masked or full.
        "HONOR_ROLL_NAMES": env.get("HONOR_ROLL_NAMES", "masked"),
        # The rules desk's backtest runs in a background thread of the web process; off, it
        # runs inside the request that asks for it (the tests' deterministic path).
        "BACKTEST_IN_BACKGROUND": _bool(env.get("BACKTEST_IN_BACKGROUND"), True),
        "SQLITE_BUSY_TIMEOUT_MS": int(env.get("SQLITE_BUSY_TIMEOUT_MS", 30000)),
        "API_TITLE": "Volunteer Points API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        # Requests per API token (or per user or address without one), shared by every endpoint.
        "API_RATELIMIT": env.get("API_RATELIMIT", "600 per minute"),
        # Looking up a member number or a voucher code: enough for a busy counter, too few to guess.
        "CODE_LOOKUP_RATELIMIT": env.get("CODE_LOOKUP_RATELIMIT", "120 per minute"),
        "API_TOKEN_DEFAULT_DAYS": int(env.get("API_TOKEN_DEFAULT_DAYS", 90)),
        "API_TOKEN_MAX_DAYS": int(env.get("API_TOKEN_MAX_DAYS", 366)),
        # The longest a request may run: gunicorn's --timeout (its default is 30 s). An
        # unfinished request with an Idempotency-Key is presumed dead after this long and
        # its key taken over by a retry.
        "REQUEST_TIMEOUT_SECONDS": int(env.get("REQUEST_TIMEOUT_SECONDS", 30)),
        # How long a request waits for the first request with the same Idempotency-Key.
        "IDEMPOTENCY_WAIT_SECONDS": int(env.get("IDEMPOTENCY_WAIT_SECONDS", 10)),
        # How long a stored response to an Idempotency-Key is replayed (idempotency-purge).
        "IDEMPOTENCY_RETENTION_DAYS": int(env.get("IDEMPOTENCY_RETENTION_DAYS", 7)),
        # The bearer token Prometheus sends to /metrics; empty: /metrics answers 404.
        "METRICS_TOKEN": env.get("METRICS_TOKEN", ""),
        # json: one JSON object per log line; text: plain lines for a terminal.
        "LOG_FORMAT": env.get("LOG_FORMAT", "json"),
        # Card payment of co-payments (payments/gateway.py): no key, no card payments (cash
        # at the counter only); the API base points the SDK at a mock server in tests.
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE", ""),
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET", ""),
        # The card form on the volunteer's perk page: Stripe.js (the one script not served
        # by the service itself, loaded only on pages that take a card) and the publishable
        # key it runs with; no publishable key, no card form.
        "STRIPE_PUBLISHABLE_KEY": env.get("STRIPE_PUBLISHABLE_KEY", ""),
        "STRIPE_JS_URL": env.get("STRIPE_JS_URL", "https://js.stripe.com/v3/"),
    }
    config.update(overrides)
    config["SQLALCHEMY_DATABASE_URI"] = _normalise_database_url(config["SQLALCHEMY_DATABASE_URI"])
    config["MIGRATION_DATABASE_URL"] = _normalise_database_url(config["MIGRATION_DATABASE_URL"] or "")
    config["DATABASE_REPLICA_URL"] = _normalise_database_url(config["DATABASE_REPLICA_URL"] or "")
    if config["DATABASE_REPLICA_URL"] and not (
        config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
        and config["DATABASE_REPLICA_URL"].startswith("postgresql")
    ):
        raise ConfigurationError(
            "DATABASE_REPLICA_URL is a PostgreSQL standby of the PostgreSQL database in DATABASE_URL: "
            "with SQLite, leave it empty."
        )
    if not 0 <= config["IDEMPOTENCY_WAIT_SECONDS"] < config["REQUEST_TIMEOUT_SECONDS"]:
        raise ConfigurationError(
            "IDEMPOTENCY_WAIT_SECONDS must be at least 0 and less than REQUEST_TIMEOUT_SECONDS: "
            "a request waiting for another with the same key must finish within its own timeout."
        )
    script = urlsplit(config["STRIPE_JS_URL"])
    if script.scheme not in ("https", "http") or not script.netloc:
        raise ConfigurationError("STRIPE_JS_URL must be an http(s) address such as https://js.stripe.com/v3/.")
    if config["LOG_FORMAT"] not in ("json", "text"):
        raise ConfigurationError("LOG_FORMAT must be json or text.")
    return config


def check_rate_limit_storage(workers, env=os.environ):
    """Refuse several worker processes that would each keep their own rate-limit counts."""
    storage_uri = env.get("RATELIMIT_STORAGE_URI", "memory://")
    if _bool(env.get("RATELIMIT_ENABLED"), True) and workers > 1 and storage_uri.startswith("memory://"):
        raise ConfigurationError(
            f"{workers} worker processes would each count rate limits on their own (RATELIMIT_STORAGE_URI is "
            f"{storage_uri}): set RATELIMIT_STORAGE_URI=redis://HOST:PORT/0 to a Redis every app server reaches, "
            "or run one worker with threads (--workers 1 --threads 8)."
        )


def _normalise_database_url(url):
    """Accept ``postgres://`` and ``postgresql://`` and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _development_secret(instance_path):
    """A per-checkout random key kept in instance/, so sessions survive restarts."""
    path = Path(instance_path) / "dev-secret-key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
