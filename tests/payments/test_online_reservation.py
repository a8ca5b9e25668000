"""Online reservation of a perk with a co-payment, paid by card through Stripe (a mock).

After each flow the invariant checks are clean and the points are exactly where they
should be: held for a paid voucher, back in the same lots otherwise.
"""

import pytest

from points_service.extensions import db
from points_service.payments.errors import InvalidPaymentMethod, PaymentDeclined, PaymentUnavailable
from points_service.perks import service as perks
from points_service.perks.errors import VoucherNotUsable
from tests.builders.perks import request_key, stars
from tests.ledger.helpers import lots_of
from tests.stripe_mock import DECLINED, NEEDS_AUTHENTICATION, SUCCEEDS


@pytest.fixture
def haircut(build):
    return build.perk(name="Haircut", kind="other", points_cost=20, copay_amount=500, stock=3)


def reserve(volunteer, perk, payment_method, key="r-1", **options):
    return perks.reserve_perk(
        volunteer, perk.id, 1, request_key(key), level_of=stars(0), payment_method=payment_method, **options
    )


def test_a_paid_reservation_holds_the_points_charges_the_card_and_issues_a_usable_voucher(
    build, stripe_mock, haircut, assert_verified
):
    volunteer = build.volunteer(points=100)

    redemption = reserve(volunteer, haircut, stripe_mock.card(SUCCEEDS))

    assert (redemption.status, redemption.payment_status, redemption.payment_method) == ("reserved", "paid", "stripe")
    [intent] = stripe_mock.payment_intents()
    assert (intent.id, intent.status, intent.amount, intent.currency) == (
        redemption.payment_reference,
        "succeeded",
        500,
        "cny",
    )
    assert build.account(volunteer).balance == 80 and haircut.stock == 2
    district = build.tree()["districts"][0]
    handed_over = perks.fulfil_voucher(
        build.counter_clerk(district), district, redemption.voucher_code, request_key("f")
    )
    assert handed_over.status == "fulfilled"
    assert_verified()


def test_a_declined_card_releases_the_hold_exactly_and_issues_no_voucher(build, stripe_mock, haircut, assert_verified):
    volunteer = build.volunteer(points=100)
    account = build.account(volunteer)
    lots_before = lots_of(account.id)

    with pytest.raises(PaymentDeclined) as declined:
        reserve(volunteer, haircut, stripe_mock.card(DECLINED))

    assert "20 points were returned" in declined.value.render_message()
    db.session.expire_all()
    [redemption] = perks.volunteer_vouchers(volunteer)
    assert (redemption.status, redemption.payment_status) == ("voided", "failed")
    assert build.account(volunteer).balance == 100 and lots_of(account.id) == lots_before
    assert haircut.stock == 3
    assert [intent.status for intent in stripe_mock.payment_intents()] == ["canceled"]
    assert_verified()


def test_a_card_needing_authentication_waits_and_an_abandoned_authentication_releases_the_hold(
    build, stripe_mock, haircut, assert_verified
):
    volunteer = build.volunteer(points=100)

    redemption = reserve(volunteer, haircut, stripe_mock.card(NEEDS_AUTHENTICATION))

    assert (redemption.status, redemption.payment_status) == ("reserved", "pending")
    district = build.tree()["districts"][0]
    with pytest.raises(VoucherNotUsable, match="card payment is not complete"):
        perks.fulfil_voucher(build.counter_clerk(district), district, redemption.voucher_code, request_key("f"))
    assert build.account(volunteer).balance == 80
    assert_verified()

    vouchers, points = perks.expire_reservations(now=redemption.voucher_expires_at)

    db.session.expire_all()
    assert (vouchers, points) == (1, 20)
    assert (redemption.status, redemption.payment_status) == ("expired", "failed")
    assert build.account(volunteer).balance == 100 and haircut.stock == 3
    assert [intent.status for intent in stripe_mock.payment_intents()] == ["canceled"]
    assert_verified()


def test_the_mock_stopped_before_paying_releases_the_hold_and_says_so(build, stripe_mock, haircut, assert_verified):
    volunteer = build.volunteer(points=100)
    payment_method = stripe_mock.card(SUCCEEDS)
    stripe_mock.stop()

    with pytest.raises(PaymentUnavailable) as unavailable:
        reserve(volunteer, haircut, payment_method)

    assert "20 points were returned" in unavailable.value.render_message()
    db.session.expire_all()
    [redemption] = perks.volunteer_vouchers(volunteer)
    assert (redemption.status, redemption.payment_status) == ("voided", "failed")
    assert build.account(volunteer).balance == 100 and haircut.stock == 3
    assert_verified()


def test_a_reservation_of_a_co_payment_perk_without_a_card_is_refused_and_writes_nothing(
    build, stripe_mock, haircut, assert_verified
):
    volunteer = build.volunteer(points=100)

    with pytest.raises(InvalidPaymentMethod) as refused:
        reserve(volunteer, haircut, None)

    assert refused.value.details == {"field": "payment_method"}
    assert perks.volunteer_vouchers(volunteer) == [] and build.account(volunteer).balance == 100
    assert stripe_mock.payment_intents() == []
    assert_verified()
