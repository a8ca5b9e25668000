"""Duplicate volunteers: finding them, merging one into the other without losing a point."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from points_service.accounts.models import User, VolunteerProfile
from points_service.accounts.service import volunteer_by_member_number
from points_service.activities.models import ServiceRecord
from points_service.audit.service import list_audit_events
from points_service.changes import service as changes
from points_service.checks import run_all_checks
from points_service.errors import NotFound, PermissionDenied, ValidationError
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.ledger.models import PointsAccount, PointsLot
from points_service.organizations.models import Organization
from points_service.people import merge
from points_service.perks import service as perks
from points_service.perks.models import Redemption
from points_service.timeutil import utcnow
from tests.builders.perks import redeem_with_code, request_key, stars
from tests.ledger.test_concurrency import run_concurrently
from tests.reports.helpers import raw_figures, stored_figures


@pytest.fixture
def community(build):
    return build.tree()["communities"][0]


@pytest.fixture
def admins(build):
    district = build.tree()["districts"][0]
    return build.staff("admin", district), build.staff("admin", district)


def _earn(build, user, points, expires_at=None):
    ledger.earn_points(
        build.account(user).id, points, reason="test earning", cause_type="test", cause_id="x", expires_at=expires_at
    )


def _total_points():
    db.session.expire_all()
    return db.session.execute(select(func.sum(PointsAccount.balance))).scalar_one()


def _open_lots(user):
    lots = db.session.execute(
        select(PointsLot.expires_at, PointsLot.remaining).where(
            PointsLot.account_id == ledger.account_of_volunteer(user.volunteer.id).id,
            PointsLot.remaining > 0,
            PointsLot.expired_at.is_(None),
        )
    ).all()
    return sorted(lots, key=lambda lot: (lot[0] is None, lot[0] or utcnow(), lot[1]))


def _merge_with_approval(admins, absorbed, survivor):
    author, reviewer = admins
    outcome, request = merge.request_merge(author, absorbed.volunteer.id, survivor.volunteer.id)
    assert outcome == "requested"
    changes.approve_change(reviewer, request.id)
    db.session.expire_all()
    return request


def test_likely_duplicates_are_same_name_same_community_pairs_in_the_admins_subtree(build, admins, community):
    older = build.volunteer(community, name="Wang Fang")
    newer = build.volunteer(community, name=" wang fang")
    build.volunteer(community, name="Wang Fangfang")
    build.volunteer(build.tree()["communities"][1], name="Wang Fang")  # same name, another community
    build.volunteer(build.tree()["communities"][3], name="Li Lei")
    build.volunteer(build.tree()["communities"][3], name="Li Lei")  # outside the district admin's subtree

    pairs = merge.find_duplicates(admins[0])

    assert [(pair.first.id, pair.second.id) for pair in pairs] == [(older.volunteer.id, newer.volunteer.id)]
    shown = merge.masked_profile(pairs[0].first)
    assert "Wang Fang" not in str(shown) and older.mobile not in str(shown)
    assert older.volunteer.member_no not in str(shown)


def test_a_merge_moves_points_with_their_lots_records_and_redemptions_and_keeps_every_point(build, admins, community):
    district = build.tree()["districts"][0]
    absorbed = build.volunteer(community, name="Li Lei")
    survivor = build.volunteer(community, name="Li Lei", points=30)
    soon, later = utcnow() + timedelta(days=40), utcnow() + timedelta(days=400)
    _earn(build, absorbed, 100, expires_at=soon)
    _earn(build, absorbed, 60, expires_at=later)
    _earn(build, absorbed, 25)
    record = build.approved_record(absorbed)
    perk = build.perk(points_cost=20)
    redemption = redeem_with_code(
        build.counter_clerk(district),
        district,
        absorbed.volunteer.member_no,
        perk.id,
        1,
        request_key(),
        level_of=stars(0),
    )
    minutes = absorbed.volunteer.verified_minutes + survivor.volunteer.verified_minutes
    absorbed_balance = build.account(absorbed).balance
    total_before = _total_points()
    assert absorbed_balance > 0 and run_all_checks().ok

    _merge_with_approval(admins, absorbed, survivor)

    assert _total_points() == total_before
    assert build.account(absorbed).balance == 0
    assert build.account(survivor).balance == 30 + absorbed_balance
    survivor_lots = _open_lots(survivor)
    assert [expiry for expiry, _points in survivor_lots].count(None) == 2  # its own and the moved one
    assert {expiry.replace(microsecond=0) for expiry, _points in survivor_lots if expiry} >= {
        soon.replace(microsecond=0),
        later.replace(microsecond=0),
    }
    assert db.session.get(ServiceRecord, record.id).volunteer_id == survivor.volunteer.id
    assert db.session.get(Redemption, redemption.id).volunteer_id == survivor.volunteer.id
    assert db.session.get(VolunteerProfile, survivor.volunteer.id).verified_minutes == minutes
    report = run_all_checks()
    assert report.ok, report.discrepancies
    assert stored_figures() == raw_figures()  # the monthly report figures follow the records
    for number in (absorbed.volunteer.member_no, survivor.volunteer.member_no):
        assert volunteer_by_member_number(number).id == survivor.volunteer.id
    assert db.session.get(User, absorbed.id).active is False
    [event] = list_audit_events(action="volunteer.merge")
    assert event.before["absorbed_balance"] == absorbed_balance and event.after["survivor_balance"] == 30 + (
        absorbed_balance
    )
    assert "Li Lei" not in str(event.before)


def test_the_old_member_number_finds_the_survivor_at_the_counter_and_in_the_api(client, build, admins, community):
    district = build.tree()["districts"][0]
    absorbed = build.volunteer(community, name="Li Lei", points=40)
    survivor = build.volunteer(community, name="Li Lei", points=10)
    _merge_with_approval(admins, absorbed, survivor)
    clerk = build.counter_clerk(district)

    response = client.get(
        f"/api/v1/members/{absorbed.volunteer.member_no}?counter_id={district.id}", headers=build.bearer(clerk)
    )

    assert response.status_code == 200, response.json
    assert response.json["balance"] == 50
    perk = build.perk(points_cost=45)
    redeem_with_code(clerk, district, absorbed.volunteer.member_no, perk.id, 1, request_key(), level_of=stars(0))
    assert build.account(survivor).balance == 5


def test_a_merge_that_moves_points_needs_a_second_administrator(build, admins, community):
    author, _reviewer = admins
    absorbed = build.volunteer(community, name="Li Lei", points=40)
    survivor = build.volunteer(community, name="Li Lei")

    outcome, request = merge.request_merge(author, absorbed.volunteer.id, survivor.volunteer.id)

    assert outcome == "requested" and build.account(absorbed).balance == 40
    with pytest.raises(changes.SecondPersonRequired):
        changes.approve_change(author, request.id)
    with pytest.raises(merge.MergeRefused):
        merge.merge_volunteers(author, absorbed.volunteer.id, survivor.volunteer.id)
    db.session.expire_all()
    assert build.account(absorbed).balance == 40
    assert db.session.get(VolunteerProfile, absorbed.volunteer.id).merged_into_id is None
    assert [line["field"] for line in request.diff][:2] == ["merged_away", "kept"]
    assert "Li Lei" not in str(request.diff)


def test_a_merge_without_points_applies_at_once(build, admins, community):
    absorbed = build.volunteer(community, name="Li Lei")
    survivor = build.volunteer(community, name="Li Lei", points=5)

    outcome, moved = merge.request_merge(admins[0], absorbed.volunteer.id, survivor.volunteer.id)

    assert outcome == "merged" and moved["points"] == 0
    assert db.session.get(VolunteerProfile, absorbed.volunteer.id).merged_into_id == survivor.volunteer.id


def test_profiles_merged_earlier_follow_the_survivor_of_a_later_merge(build, admins, community):
    first, second, third = (build.volunteer(community, name="Li Lei") for _ in range(3))
    merge.request_merge(admins[0], first.volunteer.id, second.volunteer.id)
    merge.request_merge(admins[0], second.volunteer.id, third.volunteer.id)

    assert volunteer_by_member_number(first.volunteer.member_no).id == third.volunteer.id
    assert run_all_checks().ok


def test_merges_are_refused_for_itself_a_reserved_voucher_overlapping_records_and_twice(build, admins, community):
    admin = admins[0]
    absorbed = build.volunteer(community, name="Li Lei", points=100)
    survivor = build.volunteer(community, name="Li Lei")

    with pytest.raises(ValidationError):
        merge.request_merge(admin, absorbed.volunteer.id, absorbed.volunteer.id)

    voucher = perks.reserve_perk(absorbed, build.perk(points_cost=10).id, 1, request_key(), level_of=stars(0))
    with pytest.raises(merge.MergeRefused):
        merge.request_merge(admin, absorbed.volunteer.id, survivor.volunteer.id)
    perks.cancel_reservation(absorbed, voucher.id)

    started = (utcnow() - timedelta(days=3)).replace(second=0, microsecond=0)
    build.record(absorbed, started_at=started)
    build.record(survivor, started_at=started + timedelta(minutes=30))
    with pytest.raises(merge.MergeRefused):
        merge.plan_merge(admin, absorbed.volunteer.id, survivor.volunteer.id)
    assert list_audit_events(action="volunteer.merge") == []


def test_an_already_merged_profile_cannot_be_merged_again(build, admins, community):
    absorbed = build.volunteer(community, name="Li Lei")
    survivor = build.volunteer(community, name="Li Lei")
    merge.request_merge(admins[0], absorbed.volunteer.id, survivor.volunteer.id)

    with pytest.raises(merge.MergeRefused):
        merge.request_merge(admins[0], absorbed.volunteer.id, survivor.volunteer.id)
    with pytest.raises(merge.MergeRefused):
        merge.request_merge(admins[0], survivor.volunteer.id, absorbed.volunteer.id)


def test_profiles_outside_the_subtree_are_not_found_and_staff_without_the_permission_are_refused(
    build, admins, community
):
    elsewhere = build.tree()["communities"][3]
    inside = build.volunteer(community, name="Li Lei")
    outside = build.volunteer(elsewhere, name="Li Lei")

    with pytest.raises(NotFound):
        merge.request_merge(admins[0], outside.volunteer.id, inside.volunteer.id)
    with pytest.raises(NotFound):
        merge.request_merge(admins[0], inside.volunteer.id, outside.volunteer.id)
    for role in ("organizer", "counter"):
        with pytest.raises(PermissionDenied):
            merge.find_duplicates(build.staff(role, community))
    db.session.expire_all()
    assert db.session.get(VolunteerProfile, inside.volunteer.id).merged_into_id is None


@pytest.mark.slow
@pytest.mark.parametrize("round_number", range(4))
def test_a_redemption_racing_a_merge_never_loses_or_duplicates_points(app, build, admins, community, round_number):
    district = build.tree()["districts"][0]
    absorbed = build.volunteer(community, name="Li Lei", points=100)
    survivor = build.volunteer(community, name="Li Lei", points=50)
    perk = build.perk(points_cost=30)
    clerk = build.counter_clerk(district)
    _outcome, request = merge.request_merge(admins[0], absorbed.volunteer.id, survivor.volunteer.id)
    ids = {"reviewer": admins[1].id, "clerk": clerk.id, "district": district.id, "request": request.id}
    perk_id, member_no = perk.id, absorbed.volunteer.member_no
    db.session.commit()

    def operation(index):
        if index == 0:
            return changes.approve_change(db.session.get(User, ids["reviewer"]), ids["request"]).status
        return redeem_with_code(
            db.session.get(User, ids["clerk"]),
            db.session.get(Organization, ids["district"]),
            member_no,
            perk_id,
            1,
            request_key(f"race-{round_number}"),
            level_of=stars(0),
        ).points

    approved, redeemed = run_concurrently(app, 2, operation)

    db.session.rollback()  # read what the threads committed
    assert approved == "approved"
    spent = db.session.execute(select(func.coalesce(func.sum(Redemption.points), 0))).scalar_one()
    assert spent == (redeemed if isinstance(redeemed, int) else 0)
    assert _total_points() + spent == 150
    assert build.account(absorbed).balance == 0
    report = run_all_checks()
    assert report.ok, report.discrepancies
