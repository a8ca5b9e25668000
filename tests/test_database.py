"""write_transaction: one unit of work that commits or rolls back, and joins when nested."""

import pytest
from sqlalchemy import text

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
