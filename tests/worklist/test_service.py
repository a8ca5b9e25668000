"""The staff work list: every shortfall and refund due appears, scoped to the actor's
subtree, with its way out; a write-off needs a second administrator; verify stays clean."""

import pytest
from sqlalchemy import select

from points_service.activities import service as activities
from points_service.audit.models import AuditEvent
from points_service.changes import service as changes
from points_service.checks import run_all_checks
from points_service.errors import ValidationError
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.ledger.errors import ShortfallChanged, ShortfallNotFound
from points_service.ledger.models import LedgerEntry
from points_service.perks import service as perks
from points_service.worklist import service as worklist
from tests.builders.perks import redeem_with_code, request_key, stars


def _spent_and_reversed(build, admin, name="Zhang San"):
    """A volunteer's approved hour (10 points), 8 of them spent, then the record reversed: 8 owed."""
    volunteer = build.volunteer(name=name)
    record = build.approved_record(volunteer, minutes=60)
    account = build.account(volunteer)
    ledger.spend_points(account.id, 8, reason="tea", cause_type="test")
    reversal = activities.reverse_record(admin, record.id, "The hours were never served.")
    assert (reversal.points_removed, reversal.shortfall) == (2, 8)
    return volunteer, record, ledger.open_shortfalls(account.id)[0]


@pytest.fixture
def admins(build):
    build.service_rules()
    city = build.tree()["city"]
    return build.staff("admin", city), build.staff("admin", city)


def _clean():
    return run_all_checks().discrepancies == []


def test_a_reversal_shortfall_is_listed_masked_with_its_record_for_admins_of_the_subtree_only(build, admins):
    author, _ = admins
    volunteer, record, shortfall = _spent_and_reversed(build, author, name="Zhang Sanfeng")

    [item] = worklist.work_list(author).shortfalls
    assert item.shortfall.id == shortfall.id and item.shortfall.open_points == 8
    assert item.volunteer_name == "Z************" and item.community == build.community.name
    assert (item.cause_type, item.cause_id) == ("service_record", str(record.id))
    assert item.request is None

    district_admin = build.staff("admin", build.tree()["districts"][0])  # the volunteer's district
    assert [i.shortfall.id for i in worklist.work_list(district_admin).shortfalls] == [shortfall.id]
    for outsider in (build.staff("admin", build.tree()["districts"][1]), build.staff("organizer", build.community)):
        assert worklist.work_list(outsider).shortfalls == []
        with pytest.raises(ShortfallNotFound):
            worklist.request_shortfall_write_off(outsider, shortfall.id, "moved away")
    assert _clean()


def test_the_next_approved_record_recovers_the_shortfall_and_it_leaves_the_list(build, admins):
    author, _ = admins
    volunteer, _record, shortfall = _spent_and_reversed(build, author)

    build.approved_record(volunteer, minutes=120)  # 20 points: 8 go to the shortfall

    db.session.expire_all()
    assert worklist.work_list(author).shortfalls == []
    assert (shortfall.recovered_points, shortfall.settled_at is not None) == (8, True)
    assert build.account(volunteer).balance == 12
    recovery = (
        db.session.execute(
            select(LedgerEntry).where(LedgerEntry.cause_type == "shortfall").order_by(LedgerEntry.id.desc())
        )
        .scalars()
        .first()
    )
    assert recovery.reason == ledger.RECOVERY_REASON and recovery.delta == -8
    assert _clean()


def test_a_write_off_waits_for_a_second_administrator_then_settles_the_shortfall(build, admins):
    author, reviewer = admins
    _volunteer, _record, shortfall = _spent_and_reversed(build, author)

    request = worklist.request_shortfall_write_off(author, shortfall.id, "  The volunteer moved away.  ")

    assert request.status == "pending" and request.kind == worklist.WRITE_OFF_KIND
    assert request.diff[0] == {"field": "open_points", "before": 8, "after": 0}
    [item] = worklist.work_list(author).shortfalls
    assert item.request.id == request.id
    assert [r.id for r in worklist.work_list(reviewer).requests] == [request.id]
    with pytest.raises(changes.SecondPersonRequired):
        changes.approve_change(author, request.id)
    assert shortfall.open_points == 8

    changes.approve_change(reviewer, request.id)

    db.session.expire_all()
    assert (shortfall.written_off_points, shortfall.open_points) == (8, 0)
    assert (shortfall.settled_by_id, shortfall.settlement_note) == (reviewer.id, "The volunteer moved away.")
    assert worklist.work_list(author).shortfalls == [] and worklist.work_list(reviewer).requests == []
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "shortfall.write_off")).scalar_one()
    assert event.actor_id == reviewer.id and event.after["requested_by"] == author.id
    assert _clean()


def test_a_write_off_needs_a_reason_and_is_refused_when_points_were_recovered_meanwhile(build, admins):
    author, reviewer = admins
    volunteer, _record, shortfall = _spent_and_reversed(build, author)
    for reason in ("", "   ", None, "x" * 256, "two\nlines"):
        with pytest.raises(ValidationError) as refused:
            worklist.request_shortfall_write_off(author, shortfall.id, reason)
        assert refused.value.details == {"field": "reason"}
    assert changes.list_change_requests(author) == []

    request = worklist.request_shortfall_write_off(author, shortfall.id, "moved away")
    ledger.earn_points(build.account(volunteer).id, 3, reason="bonus", cause_type="test")  # 3 recovered

    with pytest.raises(ShortfallChanged):
        changes.approve_change(reviewer, request.id)
    db.session.expire_all()
    assert (shortfall.recovered_points, shortfall.written_off_points, shortfall.open_points) == (3, 0, 5)
    changes.reject_change(reviewer, request.id, "Partly recovered; ask again.")
    changes.approve_change(reviewer, worklist.request_shortfall_write_off(author, shortfall.id, "moved away").id)
    db.session.expire_all()
    assert (shortfall.recovered_points, shortfall.written_off_points, shortfall.open_points) == (3, 5, 0)
    assert _clean()


def test_a_refund_due_is_listed_for_admins_of_the_counter_until_it_is_marked_refunded(build, admins):
    author, _ = admins
    district = build.tree()["districts"][0]
    clerk = build.counter_clerk(district)
    volunteer = build.volunteer(points=30, name="Li Si")
    perk = build.perk(kind="goods", points_cost=10, copay_amount=500)
    redemption = redeem_with_code(
        clerk, district, volunteer.volunteer.member_no, perk.id, 1, request_key("k"), level_of=stars(0)
    )
    perks.void_redemption(clerk, redemption.id, "wrong perk")

    [item] = worklist.work_list(author).refunds
    assert (item.redemption.id, item.volunteer_name, item.place.id) == (redemption.id, "L****", district.id)
    assert worklist.work_list(build.staff("admin", build.tree()["districts"][1])).refunds == []
    assert worklist.work_list(clerk).refunds == []
    assert _clean()

    perks.settle_refund(author, redemption.id, "cash", "5 yuan handed back at the counter")

    assert worklist.work_list(author).refunds == []
    assert _clean()


def test_the_work_list_is_for_holders_of_its_permissions(build):
    assert worklist.may_see_work_list(build.staff("admin"))
    for role in ("organizer", "counter"):
        assert not worklist.may_see_work_list(build.staff(role))
    assert not worklist.may_see_work_list(build.volunteer())
