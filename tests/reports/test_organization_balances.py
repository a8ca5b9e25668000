"""The points held per home organization move with every balance, and a rebuild
recomputes them from the accounts."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from points_service.accounts.models import VolunteerProfile
from points_service.activities import service as activities
from points_service.audit.models import AuditEvent
from points_service.database import write_transaction
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.ledger.models import PointsAccount
from points_service.perks import service as perks
from points_service.reports import service as reports
from points_service.reports.balances import rebuild_organization_balances
from points_service.reports.models import OrganizationBalance
from points_service.timeutil import utcnow
from tests.builders.perks import redeem_with_code, request_key, stars


@pytest.fixture
def app_config():
    return {"VOUCHER_TTL_MINUTES": 60}


def _stored():
    rows = db.session.execute(select(OrganizationBalance.organization_id, OrganizationBalance.points)).all()
    return {organization_id: points for organization_id, points in rows if points}


def _from_accounts():
    rows = db.session.execute(
        select(VolunteerProfile.home_organization_id, func.sum(PointsAccount.balance))
        .join(PointsAccount, PointsAccount.volunteer_id == VolunteerProfile.id)
        .group_by(VolunteerProfile.home_organization_id)
    ).all()
    return {organization_id: int(points) for organization_id, points in rows if points}


def test_every_kind_of_balance_change_keeps_the_points_held_per_home_equal_to_the_accounts(build):
    tree = build.tree()
    home, other, district = tree["communities"][0], tree["communities"][3], tree["districts"][0]
    first, second = build.volunteer(home, points=50), build.volunteer(other, points=30)
    now = utcnow().replace(microsecond=0)
    record = build.approved_record(first, organization=other, started_at=now - timedelta(hours=30), minutes=60)
    admin = build.staff("admin", tree["city"])
    activities.reverse_record(admin, record.id, "entered twice")
    clerk = build.counter_clerk(district)
    perk = build.perk(points_cost=5)
    redeem_with_code(clerk, district, first.volunteer.member_no, perk.id, 1, request_key(), level_of=stars(0))
    voided = redeem_with_code(clerk, district, first.volunteer.member_no, perk.id, 2, request_key(), level_of=stars(0))
    perks.void_redemption(admin, voided.id, "wrong perk")
    ledger.adjust_points(build.account(second).id, -4, reason="correction", actor_id=admin.id)
    ledger.earn_points(build.account(second).id, 7, reason="test", expires_at=now - timedelta(hours=1), now=now)
    ledger.expire_due_lots()

    db.session.expire_all()
    assert _stored() == _from_accounts() == {home.id: 50 - 5, other.id: 30 - 4}
    assert reports.points_outstanding(tree["city"]) == 45 + 26


def test_a_failed_unit_of_work_moves_no_points_held(build):
    volunteer = build.volunteer(points=20)
    with pytest.raises(RuntimeError), write_transaction():
        ledger.earn_points(build.account(volunteer).id, 9, reason="test")
        raise RuntimeError("the unit of work fails after the earning")

    db.session.expire_all()
    assert _stored() == {build.community.id: 20}


def test_a_rebuild_recomputes_the_points_held_of_a_subtree_and_is_audited(build):
    tree = build.tree()
    inside, outside = tree["communities"][0], tree["communities"][3]
    build.volunteer(inside, points=40)
    build.volunteer(outside, points=70)
    db.session.execute(OrganizationBalance.__table__.update().values(points=999))
    db.session.commit()

    written = rebuild_organization_balances(None, tree["districts"][0])

    db.session.expire_all()
    assert written == 1
    assert _stored() == {inside.id: 40, outside.id: 999}
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "reports.rebuild_balances")).scalar_one()
    assert event.after == {"rows": 1}
    rebuild_organization_balances(None)
    assert _stored() == _from_accounts() == {inside.id: 40, outside.id: 70}
