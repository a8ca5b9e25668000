"""Concurrent redemptions, each thread with its own session, on SQLite and PostgreSQL."""

import pytest
from sqlalchemy import func, select

from points_service.accounts.models import User
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.ledger.errors import InsufficientPoints
from points_service.ledger.models import LedgerEntry
from points_service.organizations.models import Organization
from points_service.perks import service as perks
from points_service.perks.errors import NotEligible
from points_service.perks.models import Perk
from tests.builders.perks import redeem_with_code, request_key, stars
from tests.ledger.test_concurrency import run_concurrently
from tests.perks.helpers import count_redemptions

pytestmark = pytest.mark.slow


def redeem_in_thread(clerk_id, district_id, perk_id):
    def redeem(member_no, key):
        actor = db.session.get(User, clerk_id)
        place = db.session.get(Organization, district_id)
        return redeem_with_code(actor, place, member_no, perk_id, 1, request_key(key), level_of=stars(0)).id

    return redeem


def assert_books_balance():
    db.session.expire_all()
    assert ledger.verify_ledger().discrepancies == []
    assert perks.check_redemptions() == []
    assert db.session.execute(select(func.min(LedgerEntry.balance_after))).scalar_one() >= 0
    assert db.session.execute(select(func.count(Perk.id)).where(Perk.stock < 0)).scalar_one() == 0


def test_64_volunteers_racing_for_the_last_10_items_get_exactly_10(app, build, clerk, district):
    perk = build.perk(kind="goods", points_cost=10, stock=10)
    members = [build.volunteer(points=50).volunteer.member_no for _ in range(64)]
    redeem = redeem_in_thread(clerk.id, district.id, perk.id)
    db.session.commit()

    results = run_concurrently(app, 64, lambda index: redeem(members[index], f"race-{index}"))

    succeeded = [result for result in results if isinstance(result, int)]
    refused = [result for result in results if not isinstance(result, int)]
    assert len(succeeded) == 10
    assert all(isinstance(error, NotEligible) and error.details["reasons"] == ["out_of_stock"] for error in refused), (
        refused[:3]
    )
    db.session.expire_all()
    assert db.session.get(Perk, perk.id).stock == 0 and count_redemptions() == 10
    assert_books_balance()


def test_64_redemptions_from_one_account_succeed_exactly_as_often_as_it_covers(app, build, clerk, district):
    covered = 17
    perk = build.perk(points_cost=10)
    volunteer = build.volunteer(points=covered * 10 + 9)
    member_no = volunteer.volunteer.member_no
    redeem = redeem_in_thread(clerk.id, district.id, perk.id)
    db.session.commit()

    results = run_concurrently(app, 64, lambda index: redeem(member_no, f"same-account-{index}"))

    succeeded = [result for result in results if isinstance(result, int)]
    refused = [result for result in results if not isinstance(result, int)]
    assert len(succeeded) == covered
    assert all(isinstance(error, NotEligible | InsufficientPoints) for error in refused), refused[:3]
    db.session.expire_all()
    assert build.account(volunteer).balance == 9
    assert_books_balance()


def test_counter_and_online_racing_for_the_last_item_sell_it_once(app, build, clerk, district):
    perk = build.perk(kind="goods", points_cost=10, stock=1)
    volunteers = [build.volunteer(points=10) for _ in range(16)]
    ids = [volunteer.id for volunteer in volunteers]
    members = [volunteer.volunteer.member_no for volunteer in volunteers]
    perk_id = perk.id
    redeem = redeem_in_thread(clerk.id, district.id, perk_id)
    db.session.commit()

    def operation(index):
        if index % 2:
            return redeem(members[index], f"counter-{index}")
        user = db.session.get(User, ids[index])
        return perks.reserve_perk(user, perk_id, 1, request_key(f"online-{index}"), level_of=stars(0)).id

    results = run_concurrently(app, 16, operation)

    assert sum(isinstance(result, int) for result in results) == 1, results
    db.session.expire_all()
    assert db.session.get(Perk, perk_id).stock == 0, results
    assert_books_balance()


def test_ten_concurrent_voids_of_one_redemption_return_its_points_once(app, build, clerk, district):
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=20, stock=3)
    redemption = redeem_with_code(
        clerk, district, volunteer.volunteer.member_no, perk.id, 1, request_key("k"), level_of=stars(0)
    )
    redemption_id, clerk_id, perk_id = redemption.id, clerk.id, perk.id
    db.session.commit()

    def void(index):
        actor = db.session.get(User, clerk_id)
        return perks.void_redemption(
            actor, redemption_id, "clicked twice", idempotency_key=request_key(f"void-{index}")
        ).status

    results = run_concurrently(app, 10, void)

    assert results == ["voided"] * 10
    db.session.expire_all()
    reverses = db.session.execute(select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == "reverse")).scalar_one()
    assert reverses == 1 and build.account(volunteer).balance == 50 and db.session.get(Perk, perk_id).stock == 3
    assert_books_balance()


def test_ten_clerks_confirming_one_voucher_hand_it_over_once(app, build, district):
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=20)
    code = perks.reserve_perk(volunteer, perk.id, 1, request_key("r"), level_of=stars(0)).voucher_code
    clerk_ids = [build.counter_clerk(district).id for _ in range(10)]
    district_id = district.id
    db.session.commit()

    def fulfil(index):
        actor = db.session.get(User, clerk_ids[index])
        place = db.session.get(Organization, district_id)
        return perks.fulfil_voucher(actor, place, code, request_key(f"fulfil-{index}")).fulfilled_by_id

    results = run_concurrently(app, 10, fulfil)

    handed = [result for result in results if isinstance(result, int)]
    assert len(handed) == 1
    assert all("already used" in str(error) for error in results if not isinstance(error, int))
    assert build.account(volunteer).balance == 30
    assert_books_balance()
