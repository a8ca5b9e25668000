"""The counter with a co-payment (card through Stripe, or cash to the clerk), voids that
refund through Stripe once, a failed refund left visibly pending, and our idempotency:
one PaymentIntent per redemption however often a request is retried."""

import pytest
from sqlalchemy import select

from points_service.audit.models import AuditEvent
from points_service.extensions import db
from points_service.payments import gateway
from points_service.payments.errors import PaymentDeclined, PaymentUnavailable
from points_service.perks import payments
from points_service.perks import service as perks
from points_service.worklist import service as worklist
from tests.builders.perks import phone_scan, request_key, stars
from tests.perks.helpers import count_entries
from tests.stripe_mock import DECLINED, SUCCEEDS


@pytest.fixture
def district(build):
    return build.tree()["districts"][0]


@pytest.fixture
def clerk(build, district):
    return build.counter_clerk(district)


@pytest.fixture
def haircut(build):
    return build.perk(name="Haircut", kind="other", points_cost=20, copay_amount=500, stock=3)


def redeem(clerk, district, volunteer, perk, key="k-1", card=None):
    return perks.redeem_perk(
        clerk,
        district,
        phone_scan(volunteer.volunteer.member_no),
        perk.id,
        1,
        request_key(key),
        level_of=stars(0),
        card_payment_method=card,
    )


def test_a_counter_redemption_paid_by_card_is_charged_once_and_fulfilled(
    build, stripe_mock, clerk, district, haircut, assert_verified
):
    volunteer = build.volunteer(points=100)

    redemption = redeem(clerk, district, volunteer, haircut, card=stripe_mock.card(SUCCEEDS))

    assert (redemption.status, redemption.payment_status, redemption.payment_method) == ("fulfilled", "paid", "stripe")
    assert [(intent.id, intent.status) for intent in stripe_mock.payment_intents()] == [
        (redemption.payment_reference, "succeeded")
    ]
    assert build.account(volunteer).balance == 80 and haircut.stock == 2
    assert_verified()


def test_a_counter_redemption_paid_in_cash_names_the_clerk_and_calls_no_one(
    build, stripe_mock, clerk, district, haircut, assert_verified
):
    volunteer = build.volunteer(points=100)

    redemption = redeem(clerk, district, volunteer, haircut)

    assert (redemption.payment_status, redemption.payment_method) == ("paid", "counter")
    assert redemption.fulfilled_by.id == clerk.id
    assert stripe_mock.payment_intents() == []
    assert_verified()


def test_a_declined_card_at_the_counter_undoes_the_redemption(
    build, stripe_mock, clerk, district, haircut, assert_verified
):
    volunteer = build.volunteer(points=100)

    with pytest.raises(PaymentDeclined):
        redeem(clerk, district, volunteer, haircut, card=stripe_mock.card(DECLINED))

    db.session.expire_all()
    assert build.account(volunteer).balance == 100 and haircut.stock == 3
    assert_verified()


def test_a_retried_request_with_the_same_key_creates_one_payment_intent(
    build, stripe_mock, clerk, district, haircut, assert_verified
):
    volunteer = build.volunteer(points=100)
    card = stripe_mock.card(SUCCEEDS)

    first = redeem(clerk, district, volunteer, haircut, key="same", card=card)
    again = redeem(clerk, district, volunteer, haircut, key="same", card=card)

    assert again.id == first.id
    assert len(stripe_mock.payment_intents()) == 1
    assert build.account(volunteer).balance == 80
    assert_verified()


def test_a_retry_after_the_confirm_answer_was_lost_confirms_the_stored_payment_intent_and_creates_no_other(
    build, stripe_mock, clerk, district, haircut, monkeypatch, assert_verified
):
    volunteer = build.volunteer(points=100)
    card = stripe_mock.card(SUCCEEDS)
    online = build.perk(name="Massage", kind="other", points_cost=20, copay_amount=800)
    confirm = gateway.confirm_payment

    def answer_lost(payment_id, *, idempotency_key):
        raise PaymentUnavailable()

    monkeypatch.setattr(gateway, "confirm_payment", answer_lost)
    with pytest.raises(PaymentUnavailable):
        perks.reserve_perk(volunteer, online.id, 1, request_key("r"), level_of=stars(0), payment_method=card)
    monkeypatch.setattr(gateway, "confirm_payment", confirm)

    db.session.expire_all()
    [intent] = stripe_mock.payment_intents()
    assert intent.status == "canceled"
    again = perks.reserve_perk(volunteer, online.id, 1, request_key("r"), level_of=stars(0), payment_method=card)
    assert (again.status, again.payment_status) == ("voided", "failed")
    assert len(stripe_mock.payment_intents()) == 1
    assert build.account(volunteer).balance == 100
    assert_verified()


def test_voiding_a_card_paid_redemption_refunds_it_through_stripe_once_and_returns_points_and_stock_once(
    build, stripe_mock, clerk, district, haircut, assert_verified
):
    volunteer = build.volunteer(points=100)
    redemption = redeem(clerk, district, volunteer, haircut, card=stripe_mock.card(SUCCEEDS))

    voided = perks.void_redemption(clerk, redemption.id, "wrong perk")
    again = perks.void_redemption(clerk, redemption.id, "wrong perk")

    db.session.expire_all()
    assert (again.status, again.payment_status, again.refund_method) == ("voided", "refunded", "stripe")
    assert voided.id == again.id and count_entries("reverse") == 1
    refunds = stripe_mock.client().v1.refunds.list({"payment_intent": redemption.payment_reference}).data
    assert [(refund.amount, refund.status) for refund in refunds] == [(500, "succeeded")]
    assert again.refund_note == refunds[0].id
    assert build.account(volunteer).balance == 100 and haircut.stock == 3
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "redemption.refund")).scalar_one()
    assert event.after["method"] == "stripe" and event.after["amount"] == 500
    assert_verified()


def test_a_refund_that_fails_stays_pending_in_the_work_list_until_staff_retry_it(
    build, stripe_mock, clerk, district, haircut, monkeypatch, assert_verified
):
    volunteer = build.volunteer(points=100)
    admin = build.staff("admin", district)
    redemption = redeem(clerk, district, volunteer, haircut, card=stripe_mock.card(SUCCEEDS))
    refund = gateway.refund_payment

    def refused(*args, **kwargs):
        raise PaymentUnavailable()

    monkeypatch.setattr(gateway, "refund_payment", refused)
    voided = perks.void_redemption(clerk, redemption.id, "wrong perk")

    db.session.expire_all()
    assert (voided.status, voided.payment_status) == ("voided", "refund_due")
    assert build.account(volunteer).balance == 100 and haircut.stock == 3
    assert [item.redemption.id for item in worklist.work_list(admin).refunds] == [redemption.id]
    assert_verified()
    with pytest.raises(PaymentUnavailable, match="stays in the work list"):
        payments.retry_card_refund(admin, redemption.id)

    monkeypatch.setattr(gateway, "refund_payment", refund)
    refunded = payments.retry_card_refund(admin, redemption.id)

    assert refunded.payment_status == "refunded"
    assert worklist.work_list(admin).refunds == []
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "redemption.refund")).scalar_one()
    assert event.actor_id == admin.id
    assert_verified()
