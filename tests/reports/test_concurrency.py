"""Two approvals of the same organization and month at once both land in its figures."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from points_service.accounts.models import User
from points_service.activities import service as activities
from points_service.extensions import db
from points_service.reports.models import ActiveMonth, ServiceMonth
from points_service.timeutil import utcnow
from tests.builders.threads import run_concurrently
from tests.reports.helpers import raw_figures, stored_figures

pytestmark = pytest.mark.slow


def test_two_approvals_in_one_organization_and_month_at_once_are_both_counted(app, build):
    start = (utcnow() - timedelta(days=1)).replace(second=0, microsecond=0)
    volunteers = [build.volunteer(), build.volunteer()]
    record_ids = [build.record(volunteer, started_at=start, minutes=60).id for volunteer in volunteers]
    approver_id = build.approver().id
    db.session.commit()

    def approve(record_id):
        return lambda: activities.approve_record(db.session.get(User, approver_id), record_id).status

    results = run_concurrently(app, [approve(record_id) for record_id in record_ids])

    assert results == ["approved", "approved"]
    db.session.expire_all()
    for level in build.community.ancestor_ids:  # the community, and every node above it alike
        row = db.session.execute(select(ServiceMonth).where(ServiceMonth.organization_id == level)).scalar_one()
        assert (row.records, row.minutes, row.points) == (2, 120, 20)
        active = select(ActiveMonth.volunteers).where(ActiveMonth.organization_id == level)
        assert db.session.execute(active).scalar_one() == 2
    assert stored_figures() == raw_figures()
