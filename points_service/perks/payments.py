"""The co-payment seam: how the cash part of a redemption is collected and refunded.

Until online payment exists (the Stripe issue), a co-payment is collected on the spot
at the counter and recorded here as paid by method ``counter``; an online reservation
of a perk with a co-payment is refused (``online_payment_available``). Undoing a paid
redemption records the refund as due by the same method (``refund_due``); staff then
hand the money back and record how, when, by whom and a note (``settle_refund``:
``refunded``). The Stripe gateway plugs in here: a method ``online`` that collects
before the reservation commits and settles its refunds through the gateway.

Payment states: ``none`` (nothing to pay) or ``paid`` while the redemption is held;
``refund_due`` then ``refunded`` once it was undone. ``check_refunds`` reports any
redemption that disagrees.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from .models import Redemption

COUNTER = "counter"
UNDONE = ("voided", "expired")
# How money due back was handed back; the gateway will add its own method.
REFUND_METHODS = {"cash": _l("Cash handed back"), "transfer": _l("Bank or mobile transfer")}


def online_payment_available():
    return False


def collect_at_counter(redemption):
    """Record the co-payment of a counter redemption as collected on the spot."""
    if redemption.copay_amount == 0:
        redemption.payment_status = "none"
        return
    redemption.payment_status = "paid"
    redemption.payment_method = COUNTER
    redemption.payment_reference = f"{COUNTER}:{redemption.receipt_number}"


def record_refund(redemption):
    """A paid co-payment of an undone redemption becomes a refund due by its method."""
    if redemption.payment_status == "paid":
        redemption.payment_status = "refund_due"


def settle_refund(redemption, method, note, actor_id, now):
    """Record the co-payment of an undone redemption as handed back (the caller checked
    that it is due and holds the redemption's lock)."""
    redemption.payment_status = "refunded"
    redemption.refund_method = method
    redemption.refunded_at = now
    redemption.refunded_by_id = actor_id
    redemption.refund_note = note


def check_refunds():
    """Redemptions whose payment state disagrees with their status: ``[(account_id, problem)]``."""
    problems = []
    refund_states = ("refund_due", "refunded")
    checks = [
        (
            Redemption.payment_status.in_(refund_states) & Redemption.status.not_in(UNDONE),
            "is {status} but its co-payment is {payment}",
        ),
        (
            Redemption.payment_status.in_(refund_states) & (Redemption.copay_amount == 0),
            "has no co-payment but its payment status is {payment}",
        ),
        (
            (Redemption.payment_status == "paid") & Redemption.status.in_(UNDONE),
            "was {status} but its paid co-payment is not due for refund",
        ),
        (
            (Redemption.payment_status == "refund_due") & Redemption.refunded_at.is_not(None),
            "is still due for refund but a refund was recorded",
        ),
        (
            (Redemption.payment_status == "refunded")
            & (Redemption.refunded_at.is_(None) | Redemption.refund_method.is_(None)),
            "is refunded without a date or a method",
        ),
    ]
    for condition, problem in checks:
        for redemption_id, account_id, status, payment in db.session.execute(
            select(Redemption.id, Redemption.account_id, Redemption.status, Redemption.payment_status)
            .where(condition)
            .order_by(Redemption.id)
        ).all():
            problems.append(
                (account_id, f"redemption {redemption_id} " + problem.format(status=status, payment=payment))
            )
    return problems
