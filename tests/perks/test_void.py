"""Voiding a redemption: reason required, points to the same lots, stock back, exactly once."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from points_service.audit.models import AuditEvent
from points_service.errors import ValidationError
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.perks import service as perks
from points_service.perks.errors import RedemptionNotFound, VoidNotAllowed, VoucherNotUsable
from points_service.timeutil import utcnow
from tests.builders.perks import redeem_with_code, request_key, stars
from tests.ledger.helpers import lots_of
from tests.perks.helpers import count_entries


@pytest.fixture
def redeemed(build, clerk, district):
    """A fulfilled counter redemption of 2 x 15 points (with a co-payment) bought today."""
    volunteer = build.volunteer()
    account = build.account(volunteer)
    now = utcnow()
    ledger.earn_points(account.id, 20, reason="older", now=now - timedelta(days=2))
    ledger.earn_points(account.id, 20, reason="newer", now=now - timedelta(days=1))
    perk = build.perk(kind="goods", points_cost=15, stock=5, copay_amount=250)
    lots = lots_of(account.id)
    redemption = redeem_with_code(
        clerk, district, volunteer.volunteer.member_no, perk.id, 2, request_key("k"), level_of=stars(0)
    )
    return redemption, account, perk, lots


def test_voiding_returns_points_to_the_same_lots_the_stock_and_records_the_refund_due(redeemed, clerk):
    redemption, account, perk, lots = redeemed
    assert [lot[2] for lot in lots_of(account.id)] == [0, 10]

    voided = perks.void_redemption(clerk, redemption.id, "  scanned the wrong card  ")

    db.session.expire_all()
    assert (voided.status, voided.void_reason, voided.voided_by_id) == ("voided", "scanned the wrong card", clerk.id)
    assert lots_of(account.id) == lots
    assert perk.stock == 5 and account.balance == 40
    assert (voided.payment_status, voided.payment_method) == ("refund_due", "counter")
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "redemption.void")).scalar_one()
    assert event.before == {"status": "fulfilled"} and event.after["reason"] == "scanned the wrong card"
    assert ledger.verify_ledger().discrepancies == [] and perks.check_redemptions() == []


def test_voiding_twice_returns_the_points_once(redeemed, clerk):
    redemption, account, perk, _lots = redeemed

    perks.void_redemption(clerk, redemption.id, "double click", idempotency_key=request_key("void-1"))
    perks.void_redemption(clerk, redemption.id, "double click", idempotency_key=request_key("void-1"))
    perks.void_redemption(clerk, redemption.id, "clicked again")

    db.session.expire_all()
    assert count_entries("reverse") == 1 and account.balance == 40 and perk.stock == 5


def test_a_void_needs_a_reason(redeemed, clerk):
    redemption, account, _perk, _lots = redeemed

    for reason in ("", "   ", None, "x" * 256):
        with pytest.raises(ValidationError, match="reason"):
            perks.void_redemption(clerk, redemption.id, reason)
    assert redemption.status == "fulfilled" and account.balance == 10


def test_counter_staff_cannot_void_yesterdays_redemption_but_an_administrator_can(build, redeemed, clerk):
    redemption, account, _perk, _lots = redeemed
    tomorrow = utcnow() + timedelta(days=1)

    with pytest.raises(VoidNotAllowed, match="only today's"):
        perks.void_redemption(clerk, redemption.id, "too late", now=tomorrow)
    assert not perks.receipt_for(clerk, redemption.id, now=tomorrow).can_void

    admin = build.staff("admin", build.tree()["city"])
    assert perks.receipt_for(admin, redemption.id, now=tomorrow).can_void
    perks.void_redemption(admin, redemption.id, "customer complaint", now=tomorrow)
    assert account.balance == 40


def test_counter_staff_of_another_place_cannot_void_or_see_the_receipt(build, redeemed):
    redemption, account, _perk, _lots = redeemed
    other = build.counter_clerk(build.tree()["districts"][1])
    outside_admin = build.staff("admin", build.tree()["districts"][1])

    for actor in (other, outside_admin, build.volunteer()):
        with pytest.raises(VoidNotAllowed):
            perks.void_redemption(actor, redemption.id, "not mine")
        with pytest.raises(RedemptionNotFound):
            perks.receipt_for(actor, redemption.id)
    assert account.balance == 10


def test_a_receipt_shows_the_masked_name_and_the_balance_after(redeemed, clerk):
    redemption, _account, _perk, _lots = redeemed

    receipt = perks.receipt_for(clerk, redemption.id)

    assert receipt.masked_name == "Z********" and receipt.balance_after == 10 and receipt.can_void
    assert redemption.receipt_number == f"R{redemption.id:08d}"


def test_an_expired_reservation_cannot_be_voided(build, clerk):
    volunteer = build.volunteer(points=30)
    admin = build.staff("admin", build.tree()["city"])
    reserved = perks.reserve_perk(
        volunteer, build.perk().id, 1, request_key("r"), level_of=stars(0), now=utcnow() - timedelta(days=30)
    )
    perks.expire_reservations()

    with pytest.raises(VoucherNotUsable, match="already expired"):
        perks.void_redemption(admin, reserved.id, "cleanup")
    assert count_entries("reverse") == 1


def test_an_administrator_can_void_an_unused_online_voucher(build):
    volunteer = build.volunteer(points=30)
    admin = build.staff("admin", build.tree()["city"])
    perk = build.perk(stock=1)
    reserved = perks.reserve_perk(volunteer, perk.id, 1, request_key("r"), level_of=stars(0))

    voided = perks.void_redemption(admin, reserved.id, "perk withdrawn")

    assert voided.status == "voided" and perk.stock == 1 and build.account(volunteer).balance == 30
    with pytest.raises(Exception, match="cancelled"):
        perks.fulfil_voucher(
            build.counter_clerk(), build.tree()["districts"][0], reserved.voucher_code, request_key("f")
        )
