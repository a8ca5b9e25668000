"""A double click, a retried request or a replayed form never redeems twice."""

import pytest

from points_service.errors import IdempotencyConflict, ValidationError
from points_service.extensions import db
from points_service.perks import service as perks
from tests.builders.perks import redeem_with_code, request_key, stars
from tests.ledger.test_concurrency import run_concurrently
from tests.perks.helpers import count_entries, count_redemptions


def test_the_same_key_and_payload_returns_the_first_redemption(build, clerk, district):
    volunteer = build.volunteer(points=100)
    perk = build.perk(points_cost=10, stock=5)
    member_no = volunteer.volunteer.member_no

    first = redeem_with_code(clerk, district, member_no, perk.id, 1, request_key("key-1"), level_of=stars(0))
    again = redeem_with_code(clerk, district, member_no, perk.id, 1, request_key("key-1"), level_of=stars(0))

    assert again.id == first.id
    assert count_redemptions() == 1 and count_entries("redeem") == 1
    assert perk.stock == 4 and build.account(volunteer).balance == 90


def test_the_same_key_with_another_payload_is_refused_and_changes_nothing(build, clerk, district):
    volunteer = build.volunteer(points=100)
    perk = build.perk(points_cost=10)
    other = build.perk(name="Other", points_cost=20)
    redeem_with_code(
        clerk, district, volunteer.volunteer.member_no, perk.id, 1, request_key("key-1"), level_of=stars(0)
    )

    with pytest.raises(IdempotencyConflict, match="already used for a different redemption"):
        redeem_with_code(
            clerk, district, volunteer.volunteer.member_no, other.id, 1, request_key("key-1"), level_of=stars(0)
        )
    with pytest.raises(IdempotencyConflict):
        redeem_with_code(
            clerk, district, volunteer.volunteer.member_no, perk.id, 2, request_key("key-1"), level_of=stars(0)
        )
    with pytest.raises(IdempotencyConflict):
        perks.reserve_perk(volunteer, perk.id, 1, request_key("key-1"), level_of=stars(0))

    assert count_redemptions() == 1 and build.account(volunteer).balance == 90


def test_a_redeem_without_a_derived_key_is_refused(build, clerk, district):
    volunteer = build.volunteer(points=100)
    perk = build.perk()

    # A key as a client sent it (not derived by the face) could name a server's key.
    for key in (None, "", "x" * 129, "plain-key", "service-record:1:earn", "client:" + "0" * 63):
        with pytest.raises(ValidationError, match="request key"):
            redeem_with_code(clerk, district, volunteer.volunteer.member_no, perk.id, 1, key, level_of=stars(0))
    assert count_redemptions() == 0


def test_a_replayed_reservation_returns_the_same_voucher(build):
    volunteer = build.volunteer(points=100)
    perk = build.perk(points_cost=10)

    first = perks.reserve_perk(volunteer, perk.id, 1, request_key("tap"), level_of=stars(0))
    again = perks.reserve_perk(volunteer, perk.id, 1, request_key("tap"), level_of=stars(0))

    assert again.voucher_code == first.voucher_code and build.account(volunteer).balance == 90


def test_twenty_concurrent_confirms_with_one_key_redeem_once(app, build, clerk, district):
    volunteer = build.volunteer(points=100)
    perk = build.perk(points_cost=10, stock=5)
    member_no, perk_id, district_id, clerk_id = volunteer.volunteer.member_no, perk.id, district.id, clerk.id
    db.session.commit()

    def confirm(index):
        from points_service.accounts.models import User
        from points_service.organizations.models import Organization

        actor = db.session.get(User, clerk_id)
        place = db.session.get(Organization, district_id)
        return redeem_with_code(actor, place, member_no, perk_id, 1, request_key("double-click"), level_of=stars(0)).id

    results = run_concurrently(app, 20, confirm)

    assert all(isinstance(result, int) for result in results), results
    assert len(set(results)) == 1
    db.session.expire_all()
    assert count_redemptions() == 1 and perk.stock == 4 and build.account(volunteer).balance == 90
