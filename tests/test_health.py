"""``/healthz`` answers while the process lives; ``/readyz`` only when the database
answers and its schema is at the migrations' head."""

import pytest
from sqlalchemy import text

from points_service.extensions import db
from points_service.health import code_migration_heads


def stamp_alembic_version(revision):
    """Make the test database look migrated to ``revision`` (it is built with create_all)."""
    with db.engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL)"))
        connection.execute(text("DELETE FROM alembic_version"))
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": revision})


def _drop_alembic_version():
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture
def drop_alembic_version(app):
    _drop_alembic_version()  # the authorization matrix stamps it on PostgreSQL's shared database
    yield
    _drop_alembic_version()


@pytest.fixture
def unreachable_app(tmp_path):
    from points_service import create_app
    from tests.conftest import BASE_CONFIG

    return create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing-folder/points.sqlite3"})


def test_healthz_answers_while_the_database_is_unreachable(unreachable_app):
    response = unreachable_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readyz_is_ready_when_the_schema_is_at_the_migrations_head(app, client, drop_alembic_version):
    (head,) = code_migration_heads(app)
    stamp_alembic_version(head)
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    assert response.json == {"status": "ready"}


def test_readyz_is_503_naming_both_revisions_when_migrations_are_behind(app, client, drop_alembic_version):
    (head,) = code_migration_heads(app)
    stamp_alembic_version("0123456789ab")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["reason"] == f"migrations not at head: database at 0123456789ab, code at {head}"


def test_readyz_is_503_when_the_database_was_never_migrated(client, drop_alembic_version):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["reason"].startswith("migrations not at head: database at none")


def test_readyz_is_503_when_the_database_is_unreachable(unreachable_app):
    response = unreachable_app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["reason"] == "database unreachable: OperationalError"
