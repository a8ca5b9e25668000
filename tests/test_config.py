import pytest

from points_service import create_app
from points_service.config import ConfigurationError


def test_production_start_without_secret_key_is_refused_with_an_explanation(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("POINTS_ENV", "production")
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_sets_secure_cookies(monkeypatch):
    monkeypatch.setenv("POINTS_ENV", "production")
    app = create_app({"SECRET_KEY": "x" * 64, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["REMEMBER_COOKIE_SECURE"] is True


def test_postgres_urls_use_the_psycopg_driver(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db/points")
    app = create_app({"SECRET_KEY": "x"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db/points"


def test_the_migration_url_is_empty_by_default_and_uses_the_psycopg_driver(monkeypatch):
    monkeypatch.delenv("MIGRATION_DATABASE_URL", raising=False)
    assert create_app({"SECRET_KEY": "x"}).config["MIGRATION_DATABASE_URL"] == ""
    monkeypatch.setenv("MIGRATION_DATABASE_URL", "postgres://owner:p@db/points")
    app = create_app({"SECRET_KEY": "x"})
    assert app.config["MIGRATION_DATABASE_URL"] == "postgresql+psycopg://owner:p@db/points"


def test_stripe_js_is_stripes_own_by_default_and_a_url_that_is_not_web_is_refused(monkeypatch):
    monkeypatch.delenv("STRIPE_JS_URL", raising=False)
    assert create_app({"SECRET_KEY": "x"}).config["STRIPE_JS_URL"] == "https://js.stripe.com/v3/"
    monkeypatch.setenv("STRIPE_JS_URL", "javascript:alert(1)")
    with pytest.raises(ConfigurationError, match="STRIPE_JS_URL"):
        create_app({"SECRET_KEY": "x"})


def test_a_read_replica_is_a_postgresql_standby_and_refused_beside_sqlite(monkeypatch):
    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgres://u:p@standby/points")
    with pytest.raises(ConfigurationError, match="DATABASE_REPLICA_URL"):
        create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "postgresql://u:p@primary/points"})
    assert app.config["DATABASE_REPLICA_URL"] == "postgresql+psycopg://u:p@standby/points"
