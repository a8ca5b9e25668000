"""POST /payments/stripe/webhook: Stripe tells us what happened to a payment.

Not a page and not the JSON API: no login and no CSRF token (Stripe's servers post it),
so the request is trusted only when its ``Stripe-Signature`` is valid and recent. A
bad, missing or stale signature is a 400 and nothing changes; an event already applied
is acknowledged again and changes nothing (Stripe delivers at least once).
"""

from flask import Blueprint, jsonify, request

from ..extensions import csrf
from ..payments import gateway
from ..payments.errors import InvalidSignature
from ..perks import payments as perk_payments

bp = Blueprint("payments", __name__, url_prefix="/payments")
csrf.exempt(bp)

# A Stripe event is a few kilobytes; anything much larger is not one.
MAX_EVENT_BYTES = 256 * 1024


@bp.post("/stripe/webhook")
def stripe_webhook():
    if request.content_length is not None and request.content_length > MAX_EVENT_BYTES:
        raise InvalidSignature()
    payload = request.get_data(cache=False)
    if len(payload) > MAX_EVENT_BYTES:
        raise InvalidSignature()
    event = gateway.parse_event(payload, request.headers.get("Stripe-Signature"))
    outcome = perk_payments.apply_payment_event(event)
    return jsonify({"received": True, "outcome": outcome})
