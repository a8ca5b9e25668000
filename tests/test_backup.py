"""The restore drill: ``points backup`` of a database with data, restored into a fresh
database, passes ``points verify`` and holds the same rows (SQLite's online backup API,
``pg_dump``/``pg_restore`` on PostgreSQL)."""

import shutil
import subprocess

import pytest
from sqlalchemy import func, make_url, select

from points_service import create_app
from points_service.backup import libpq_arguments
from points_service.extensions import db
from points_service.ledger.models import LedgerEntry
from points_service.perks.models import Redemption
from tests.builders.perks import spend_code
from tests.conftest import BASE_CONFIG, ON_POSTGRESQL
from tests.databases import empty_database


def _fill(client, build):
    district = build.tree()["districts"][0]
    clerk = build.counter_clerk(district)
    perk = build.perk(points_cost=15, stock=5)
    headers = build.bearer(clerk, role="counter", organization=district)
    for number in range(3):
        volunteer = build.volunteer(points=40)
        build.approved_record(volunteer)
        response = client.post(
            "/api/v1/redemptions",
            json={
                "member_no": volunteer.volunteer.member_no,
                "member_code": spend_code(volunteer.volunteer.member_no),
                "perk_id": perk.id,
                "quantity": 1,
            },
            headers={**headers, "Idempotency-Key": f"backup-drill-{number}"},
        )
        assert response.status_code == 201, response.json


def _counts():
    return (
        db.session.scalar(select(func.count(LedgerEntry.id))),
        db.session.scalar(select(func.sum(LedgerEntry.delta))),
        db.session.scalar(select(func.count(Redemption.id))),
    )


@pytest.fixture
def fresh_database_url(tmp_path):
    """An empty database to restore into: a new file, or a new PostgreSQL database."""
    with empty_database(tmp_path, "restore") as url:
        yield url


def _restore(backup, url):
    """What the README tells an operator to do."""
    if not ON_POSTGRESQL:
        shutil.copyfile(backup, make_url(url).database)
        return
    uri, environment = libpq_arguments(url)
    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", uri, str(backup)], env=environment, check=True
    )


def test_a_backup_restored_into_a_fresh_database_passes_verify_with_the_same_rows(
    client, build, runner, tmp_path, fresh_database_url
):
    _fill(client, build)
    before = _counts()
    backup = tmp_path / "points.backup"

    result = runner.invoke(args=["points", "backup", str(backup)])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("backed up the ")
    _restore(backup, fresh_database_url)
    restored = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": fresh_database_url})
    with restored.app_context():
        verify = restored.test_cli_runner().invoke(args=["points", "verify"])
        assert verify.exit_code == 0, verify.output
        assert verify.output.strip().endswith("entries: 0 discrepancies")
        assert _counts() == before
        db.session.remove()
        db.engine.dispose()


def test_a_backup_never_overwrites_a_file(runner, tmp_path):
    existing = tmp_path / "points.backup"
    existing.write_text("keep me")
    result = runner.invoke(args=["points", "backup", str(existing)])
    assert result.exit_code == 2
    assert "exists already" in result.output
    assert existing.read_text() == "keep me"
