"""Stripe's webhook events: signed with the SDK's scheme (``t=...,v1=HMAC-SHA256``), applied
once per event id; unsigned, wrongly signed or stale events are a 400 and change nothing."""

import json
import time
from datetime import timedelta

import pytest
import stripe
from sqlalchemy import func, select

from points_service.extensions import db
from points_service.payments.models import PaymentEvent
from points_service.perks import service as perks
from points_service.perks.payments import PAYMENT_WINDOW_MINUTES
from tests.builders.perks import request_key, stars
from tests.stripe_mock import NEEDS_AUTHENTICATION, WEBHOOK_SECRET

URL = "/payments/stripe/webhook"


def signed(payload, secret=WEBHOOK_SECRET, timestamp=None):
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)


def event_for(intent, event_type, event_id="evt_1"):
    return json.dumps({"id": event_id, "object": "event", "type": event_type, "data": {"object": intent.to_dict()}})


def post(client, payload, signature):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return client.post(URL, data=payload, headers=headers)


def events_stored():
    return db.session.execute(select(func.count(PaymentEvent.id))).scalar_one()


@pytest.fixture
def waiting(build, stripe_mock):
    """A voucher whose card payment waits for the card holder's authentication."""
    volunteer = build.volunteer(points=100)
    perk = build.perk(name="Haircut", kind="other", points_cost=20, copay_amount=500, stock=3)
    redemption = perks.reserve_perk(
        volunteer,
        perk.id,
        1,
        request_key("r"),
        level_of=stars(0),
        payment_method=stripe_mock.card(NEEDS_AUTHENTICATION),
    )
    assert redemption.payment_status == "pending"
    return redemption, volunteer, perk


def test_a_signed_succeeded_event_marks_the_payment_paid_once(client, build, stripe_mock, waiting, assert_verified):
    redemption, volunteer, _perk = waiting
    stripe_mock.authenticate(redemption.payment_reference, success=True)
    intent = stripe_mock.client().v1.payment_intents.retrieve(redemption.payment_reference)
    payload = event_for(intent, "payment_intent.succeeded")

    first = post(client, payload, signed(payload))
    second = post(client, payload, signed(payload))

    assert (first.status_code, first.json["outcome"]) == (200, "applied")
    assert (second.status_code, second.json["outcome"]) == (200, "duplicate")
    db.session.expire_all()
    assert redemption.payment_status == "paid" and redemption.status == "reserved"
    assert redemption.voucher_expires_at > redemption.created_at + timedelta(minutes=PAYMENT_WINDOW_MINUTES)
    assert events_stored() == 1 and build.account(volunteer).balance == 80
    assert_verified()


def test_a_failed_authentication_event_releases_the_hold(client, build, stripe_mock, waiting, assert_verified):
    redemption, volunteer, perk = waiting
    stripe_mock.authenticate(redemption.payment_reference, success=False)
    intent = stripe_mock.client().v1.payment_intents.retrieve(redemption.payment_reference)
    payload = event_for(intent, "payment_intent.payment_failed")

    response = post(client, payload, signed(payload))

    assert response.status_code == 200
    db.session.expire_all()
    assert (redemption.status, redemption.payment_status) == ("voided", "failed")
    assert build.account(volunteer).balance == 100 and perk.stock == 3
    assert_verified()


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "t=1,v1=0000",
        "wrong secret",
        "stale",
    ],
    ids=["unsigned", "garbage", "wrong-secret", "stale"],
)
def test_an_unsigned_wrongly_signed_or_stale_event_is_refused_and_changes_nothing(
    client, build, stripe_mock, waiting, signature, assert_verified
):
    redemption, volunteer, _perk = waiting
    stripe_mock.authenticate(redemption.payment_reference, success=True)
    intent = stripe_mock.client().v1.payment_intents.retrieve(redemption.payment_reference)
    payload = event_for(intent, "payment_intent.succeeded")
    if signature == "wrong secret":
        signature = signed(payload, secret="whsec_someone_else")
    elif signature == "stale":
        signature = signed(payload, timestamp=int(time.time()) - 3600)

    response = post(client, payload, signature)

    assert response.status_code == 400
    db.session.expire_all()
    assert redemption.payment_status == "pending" and events_stored() == 0
    assert build.account(volunteer).balance == 80
    assert_verified()


def test_a_replayed_event_with_a_fresh_signature_changes_nothing(client, build, stripe_mock, waiting):
    redemption, _volunteer, _perk = waiting
    stripe_mock.authenticate(redemption.payment_reference, success=True)
    intent = stripe_mock.client().v1.payment_intents.retrieve(redemption.payment_reference)
    payload = event_for(intent, "payment_intent.succeeded")
    assert post(client, payload, signed(payload)).json["outcome"] == "applied"
    perks.void_redemption(build.staff("admin", build.tree()["city"]), redemption.id, "changed their mind")
    db.session.expire_all()
    refunded = (redemption.status, redemption.payment_status)

    replayed = post(client, payload, signed(payload))

    db.session.expire_all()
    assert replayed.json["outcome"] == "duplicate"
    assert (redemption.status, redemption.payment_status) == refunded == ("voided", "refunded")


def test_an_event_about_a_payment_we_do_not_know_is_acknowledged_and_ignored(client, stripe_mock):
    payload = json.dumps(
        {
            "id": "evt_other",
            "type": "payment_intent.succeeded",
            "data": {"object": {"id": "pi_unknown", "object": "payment_intent", "status": "succeeded"}},
        }
    )

    response = post(client, payload, signed(payload))

    assert (response.status_code, response.json["outcome"]) == (200, "ignored")
