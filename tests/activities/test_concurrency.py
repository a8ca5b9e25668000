"""Approvals racing each other, each in its own thread and session."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from points_service.activities import service as activities
from points_service.extensions import db
from points_service.ledger.models import LedgerEntry
from points_service.timeutil import utcnow
from tests.builders.rules import rules_config
from tests.builders.threads import run_concurrently

pytestmark = pytest.mark.slow


def test_two_approvers_approving_one_record_at_once_write_one_earn_entry(app, build):
    volunteer = build.volunteer()
    record_id = build.record(volunteer).id
    approver_ids = [build.approver().id, build.staff("admin", build.tree()["city"]).id]
    db.session.commit()

    def approve(user_id):
        from points_service.accounts.models import User

        return lambda: activities.approve_record(db.session.get(User, user_id), record_id).status

    results = run_concurrently(app, [approve(user_id) for user_id in approver_ids])

    assert results == ["approved", "approved"]
    count = db.session.execute(select(func.count()).where(LedgerEntry.kind == "earn")).scalar_one()
    assert count == 1
    assert activities.check_service_records() == []


def test_concurrent_approvals_of_one_volunteers_records_respect_the_daily_cap(app, build):
    build._service_rules = build.rule_set(config=rules_config(caps={"per_day": 30}))
    volunteer = build.volunteer()
    start = (utcnow() - timedelta(days=1)).replace(hour=1, minute=0, second=0, microsecond=0)
    record_ids = [build.record(volunteer, started_at=start + timedelta(hours=2 * i), minutes=120).id for i in range(4)]
    approver_id = build.approver().id
    db.session.commit()

    def approve(record_id):
        from points_service.accounts.models import User

        return lambda: activities.approve_record(db.session.get(User, approver_id), record_id).points

    results = run_concurrently(app, [approve(record_id) for record_id in record_ids])

    assert sorted(results) == [0, 0, 10, 20]
    assert build.account(volunteer).balance == 30
    assert activities.check_service_records() == []
