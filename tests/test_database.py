"""write_transaction: one unit of work that commits or rolls back, and joins when nested;
and how a request that only read ends its transaction."""

import pytest
from sqlalchemy import event, text

from points_service.database import write_transaction
from points_service.extensions import db
from points_service.organizations.models import Organization
from tests.conftest import ON_POSTGRESQL


def names():
    db.session.rollback()
    return sorted(o.name for o in Organization.query.all())


def add(name):
    db.session.add(Organization(name=name, kind="city", path=f"/{name}/"))
    db.session.flush()


def test_a_unit_of_work_commits_at_its_end(app):
    with write_transaction():
        add("A")
    assert names() == ["A"]


def test_a_failing_unit_of_work_leaves_nothing(app):
    with pytest.raises(RuntimeError), write_transaction():
        add("A")
        raise RuntimeError("failed halfway")
    assert names() == []


def test_a_nested_unit_of_work_commits_or_fails_with_the_outer_one(app):
    with pytest.raises(RuntimeError), write_transaction():
        with write_transaction():
            add("inner")
        raise RuntimeError("the outer work failed")
    assert names() == []

    with write_transaction():
        with write_transaction():
            add("inner")
        add("outer")
    assert names() == ["inner", "outer"]


def test_a_failure_inside_a_nested_unit_of_work_undoes_the_outer_work_too(app):
    with pytest.raises(RuntimeError), write_transaction():
        add("outer")
        with write_transaction():
            raise RuntimeError("the inner work failed")
    assert names() == []


@pytest.mark.skipif(ON_POSTGRESQL, reason="SQLite settings")
@pytest.mark.parametrize("app_config", [{"SQLITE_BUSY_TIMEOUT_MS": 4321}])
def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_the_configured_busy_timeout(app):
    session = db.session
    assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert session.execute(text("PRAGMA busy_timeout")).scalar() == 4321


# -- how a request's transaction ends (each request has its own application context) ----


def _prepared_statements_like(marker):
    return db.session.execute(
        text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :marker"), {"marker": f"%{marker}%"}
    ).scalar()


@pytest.mark.skipif(not ON_POSTGRESQL, reason="psycopg's prepared statements")
def test_requests_that_only_read_keep_their_statements_prepared_on_postgresql(app):
    db.session.remove()
    for _ in range(8):
        with app.app_context():
            db.session.execute(text("SELECT count(*) AS reads_only_marker FROM organizations")).scalar()
    with app.app_context():
        assert _prepared_statements_like("reads_only_marker") == 1


def test_a_write_made_outside_a_unit_of_work_is_rolled_back_when_the_request_ends(app):
    db.session.remove()
    with app.app_context():
        db.session.execute(
            text(
                "INSERT INTO organizations (name, kind, path, timezone, created_at)"
                " VALUES ('stray', 'city', '/stray/', 'Asia/Shanghai', CURRENT_TIMESTAMP)"
            )
        )
    assert names() == []


def test_a_request_that_fails_after_reading_is_rolled_back(app):
    db.session.remove()
    ends = []
    event.listen(db.engine, "rollback", lambda connection: ends.append("rollback"))
    event.listen(db.engine, "commit", lambda connection: ends.append("commit"))
    with pytest.raises(RuntimeError), app.app_context():
        db.session.execute(text("SELECT count(*) FROM organizations")).scalar()
        raise RuntimeError("the view failed")
    assert ends == ["rollback"]


@pytest.mark.skipif(not ON_POSTGRESQL, reason="a server that drops the connection")
def test_a_request_whose_connection_broke_after_reading_still_ends_and_the_next_one_works(app):
    db.session.remove()
    with app.app_context():
        backend = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        with db.engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    with app.app_context():
        assert db.session.execute(text("SELECT 1")).scalar() == 1
