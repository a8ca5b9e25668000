"""The card payment gateway: a small adapter over Stripe's official SDK (PaymentIntents,
Refunds, signed webhook events). It knows nothing of perks: callers name what a payment
is for with an opaque ``reference`` and derive its idempotency keys (``derived_key``).

Settings: ``STRIPE_SECRET_KEY`` (empty: no card payments, ``configured()`` is False),
``STRIPE_API_BASE`` (empty: Stripe itself; a mock server in tests),
``STRIPE_WEBHOOK_SECRET`` (the endpoint's signing secret), and for the card form in the
browser ``STRIPE_PUBLISHABLE_KEY`` and ``STRIPE_JS_URL`` (where Stripe.js is loaded from).

Why a payment is created, then confirmed, in two calls: the caller stores the
PaymentIntent's id between them, so it never creates a second one for the same purpose
and only ever confirms the one it stored. A create whose answer was lost leaves an
unconfirmed PaymentIntent that can never charge anyone. Stripe honours idempotency keys
too, but a mock may not; correctness does not rest on them.

Errors are ours: a decline is ``PaymentDeclined``; no answer, a timeout or an error on
Stripe's side is ``PaymentUnavailable`` (the outcome of a confirm may then be unknown).
The SDK does not retry by itself (``max_network_retries=0``): retrying is the caller's
decision.
"""

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import stripe
from flask import current_app

from .errors import InvalidPaymentMethod, InvalidSignature, PaymentDeclined, PaymentNotConfigured, PaymentUnavailable

log = logging.getLogger(__name__)

# Seconds to wait for Stripe: well inside a web request's own timeout.
TIMEOUT_SECONDS = 10
# Seconds a signed webhook event stays acceptable (Stripe's default tolerance).
WEBHOOK_TOLERANCE_SECONDS = 300
KEY_PREFIX = "volunteer-points:"
_REFERENCE = "reference"
_PAGE_SIZE = 100


@dataclass(frozen=True)
class Payment:
    """A PaymentIntent as we read it; ``status`` is Stripe's."""

    id: str
    status: str
    amount: int
    currency: str
    reference: str | None
    created_at: datetime
    client_secret: str | None = None
    error_code: str | None = None

    @property
    def succeeded(self):
        return self.status == "succeeded"

    @property
    def requires_action(self):
        return self.status == "requires_action"

    @property
    def failed(self):
        """Nothing was or will be charged: declined, authentication failed, or cancelled."""
        return self.status in ("requires_payment_method", "canceled")


@dataclass(frozen=True)
class Refund:
    id: str
    status: str
    amount: int
    payment_id: str | None


@dataclass(frozen=True)
class Event:
    """A verified webhook event: its id, type and the object it carries (a plain dict)."""

    id: str
    type: str
    object: dict = field(default_factory=dict)


def configured():
    """True when card payments are set up (a secret key is configured)."""
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


@dataclass(frozen=True)
class CardForm:
    """What a page needs to take a card with Stripe.js: the script, its origin and the publishable key."""

    script_url: str
    publishable_key: str

    @property
    def origin(self):
        parts = urlsplit(self.script_url)
        return f"{parts.scheme}://{parts.netloc}"


def card_form():
    """The browser card form's settings, or None when a page cannot take a card (no secret
    or no publishable key)."""
    config = current_app.config
    if not configured() or not config.get("STRIPE_PUBLISHABLE_KEY"):
        return None
    return CardForm(script_url=config["STRIPE_JS_URL"], publishable_key=config["STRIPE_PUBLISHABLE_KEY"])


def derived_key(*parts):
    """An idempotency key for Stripe derived from ``parts`` (never a client's key as sent)."""
    material = "|".join(str(part) for part in parts)
    return KEY_PREFIX + hashlib.sha256(material.encode()).hexdigest()


def _client():
    config = current_app.config
    if not config.get("STRIPE_SECRET_KEY"):
        raise PaymentNotConfigured()
    base = config.get("STRIPE_API_BASE") or None
    return stripe.StripeClient(
        config["STRIPE_SECRET_KEY"],
        base_addresses={"api": base} if base else None,
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=TIMEOUT_SECONDS),
    )


def _call(what, function, *args, **kwargs):
    """Run one SDK call, mapping Stripe's errors to ours (card data never reaches the log)."""
    try:
        return function(*args, **kwargs)
    except stripe.CardError as error:
        log.info("stripe %s declined: %s", what, error.code)
        raise PaymentDeclined(details={"decline_code": error.code}) from error
    except stripe.APIConnectionError as error:
        log.warning("stripe %s: no answer (%s)", what, type(error).__name__)
        raise PaymentUnavailable() from error
    except stripe.InvalidRequestError as error:
        if what == "create" and (error.http_status == 404 or error.param == "payment_method"):
            raise InvalidPaymentMethod(details={"field": "payment_method"}) from error
        log.error("stripe %s refused the request: %s", what, error.http_status)
        raise PaymentUnavailable() from error
    except stripe.StripeError as error:
        log.error("stripe %s failed: %s %s", what, type(error).__name__, error.http_status)
        raise PaymentUnavailable() from error


def payment_from_object(intent):
    """A PaymentIntent (the SDK's object or a webhook event's dict) as a ``Payment``."""
    if isinstance(intent, stripe.StripeObject):
        intent = intent.to_dict()
    error = intent.get("last_payment_error") or {}
    return Payment(
        id=intent["id"],
        status=intent["status"],
        amount=int(intent["amount"]),
        currency=str(intent["currency"]).upper(),
        reference=(intent.get("metadata") or {}).get(_REFERENCE),
        created_at=datetime.fromtimestamp(int(intent["created"]), UTC).replace(tzinfo=None),
        client_secret=intent.get("client_secret"),
        error_code=error.get("code"),
    )


def _refund(refund):
    if isinstance(refund, stripe.StripeObject):
        refund = refund.to_dict()
    return Refund(
        id=refund["id"],
        status=refund["status"],
        amount=int(refund["amount"]),
        payment_id=refund.get("payment_intent"),
    )


def create_payment(*, amount, currency, payment_method, reference, idempotency_key):
    """Create (not confirm) a PaymentIntent for ``amount`` minor units of ``currency``
    paid with ``payment_method`` (an id made by Stripe.js or a card reader)."""
    if not isinstance(payment_method, str) or not 3 <= len(payment_method) <= 255 or not payment_method.isascii():
        raise InvalidPaymentMethod(details={"field": "payment_method"})
    params = {
        "amount": amount,
        "currency": currency.lower(),
        "payment_method": payment_method,
        "payment_method_types": ["card"],
        "metadata": {_REFERENCE: reference},
    }
    intents = _client().v1.payment_intents
    return payment_from_object(_call("create", intents.create, params, {"idempotency_key": idempotency_key}))


def confirm_payment(payment_id, *, idempotency_key):
    """Confirm a created PaymentIntent: it succeeds, needs the card holder's authentication
    (``requires_action``), or is declined (``PaymentDeclined``)."""
    intents = _client().v1.payment_intents
    return payment_from_object(
        _call("confirm", intents.confirm, payment_id, None, {"idempotency_key": idempotency_key})
    )


def retrieve_payment(payment_id):
    return payment_from_object(_call("retrieve", _client().v1.payment_intents.retrieve, payment_id))


def cancel_payment(payment_id, *, idempotency_key):
    """Cancel a PaymentIntent that has not charged; one that cannot be cancelled any more is
    returned as it is."""
    intents = _client().v1.payment_intents
    try:
        return payment_from_object(
            _call("cancel", intents.cancel, payment_id, None, {"idempotency_key": idempotency_key})
        )
    except PaymentUnavailable as error:
        if isinstance(error.__cause__, stripe.InvalidRequestError):
            return retrieve_payment(payment_id)
        raise


def refund_payment(payment_id, amount, *, reference, idempotency_key):
    """Refund ``amount`` minor units of a succeeded PaymentIntent."""
    params = {"payment_intent": payment_id, "amount": amount, "metadata": {_REFERENCE: reference}}
    refunds = _client().v1.refunds
    return _refund(_call("refund", refunds.create, params, {"idempotency_key": idempotency_key}))


def refunds_of(payment_id):
    """The refunds Stripe holds for a PaymentIntent."""
    page = _call("list refunds", _client().v1.refunds.list, {"payment_intent": payment_id, "limit": _PAGE_SIZE})
    return [_refund(refund) for refund in _call("list refunds", lambda: list(page.auto_paging_iter()))]


def payments_since(moment):
    """Every PaymentIntent created at or after ``moment`` (naive UTC).

    The filter is applied here, not sent as ``created[gte]``: the mock server used in
    tests refuses that parameter.
    """
    page = _call("list", _client().v1.payment_intents.list, {"limit": _PAGE_SIZE})
    intents = _call("list", lambda: list(page.auto_paging_iter()))
    payments = [payment_from_object(intent) for intent in intents]
    return [payment for payment in payments if payment.created_at >= moment]


def parse_event(payload, signature_header):
    """A webhook event whose ``Stripe-Signature`` is valid and recent, or ``InvalidSignature``."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret or not signature_header:
        raise InvalidSignature()
    try:
        event = stripe.Webhook.construct_event(payload, signature_header, secret, tolerance=WEBHOOK_TOLERANCE_SECONDS)
    except (stripe.SignatureVerificationError, ValueError) as error:
        raise InvalidSignature() from error
    data = event.to_dict()
    event_object = (data.get("data") or {}).get("object")
    if (
        not isinstance(data.get("id"), str)
        or not isinstance(data.get("type"), str)
        or not isinstance(event_object, dict)
    ):
        raise InvalidSignature()
    return Event(id=data["id"], type=data["type"], object=event_object)
