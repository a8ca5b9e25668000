"""``points reconcile-payments --since DATE``: every mismatch between our card-paid
redemptions and Stripe's PaymentIntents and refunds; exit 1 when there is any."""

from datetime import timedelta

import pytest

from points_service.database import write_transaction
from points_service.extensions import db
from points_service.perks import payments
from points_service.perks import service as perks
from points_service.timeutil import utcnow
from tests.builders.perks import request_key, stars
from tests.stripe_mock import SUCCEEDS


@pytest.fixture
def paid(build, stripe_mock):
    volunteer = build.volunteer(points=100)
    perk = build.perk(name="Haircut", kind="other", points_cost=20, copay_amount=500, stock=3)
    return perks.reserve_perk(
        volunteer, perk.id, 1, request_key("r"), level_of=stars(0), payment_method=stripe_mock.card(SUCCEEDS)
    )


def since():
    return (utcnow() - timedelta(days=1)).strftime("%Y-%m-%d")


def test_agreeing_records_reconcile_cleanly(runner, paid):
    result = runner.invoke(args=["points", "reconcile-payments", "--since", since()])

    assert result.exit_code == 0, result.output
    assert "0 mismatches" in result.output


def test_a_payment_refunded_at_stripe_but_paid_here_and_a_charge_without_a_redemption_are_listed(
    runner, build, stripe_mock, paid
):
    stripe_mock.client().v1.refunds.create({"payment_intent": paid.payment_reference})
    stray = stripe_mock.client().v1.payment_intents.create(
        {
            "amount": 300,
            "currency": "cny",
            "payment_method": stripe_mock.card(SUCCEEDS),
            "confirm": True,
            "metadata": {"reference": "redemption:999"},
        }
    )

    result = runner.invoke(args=["points", "reconcile-payments", "--since", since()])

    assert result.exit_code == 1
    assert f"redemption {paid.id} ({paid.payment_reference}): refunded_not_recorded" in result.output
    assert f"no redemption ({stray.id}): charged_without_redemption" in result.output
    assert "2 mismatches" in result.output


def test_an_amount_that_differs_from_its_payment_intent_is_listed(build, stripe_mock, paid):
    with write_transaction():
        db.session.get(type(paid), paid.id).copay_amount = 700

    [mismatch] = payments.reconcile_payments(utcnow() - timedelta(days=1))

    assert (mismatch.code, mismatch.redemption_id) == ("amount_differs", paid.id)
    assert mismatch.message == "we hold CNY 7.00, the PaymentIntent is for CNY 5.00"


def test_reconciliation_without_stripe_says_it_is_not_set_up(runner, app):
    result = runner.invoke(args=["points", "reconcile-payments", "--since", "2026-01-01"])

    assert result.exit_code == 2 and "not set up" in result.output
