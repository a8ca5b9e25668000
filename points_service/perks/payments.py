"""The co-payment seam: how the cash part of a redemption is collected and refunded.

Two methods. ``counter``: the cash part is paid in cash at the counter and recorded as
collected by the clerk who confirms (``collect_at_counter``); undoing it makes a refund
due, which staff hand back and record (``settle_refund``). ``stripe``: the cash part is
paid by card through the payments domain's gateway, online when a volunteer reserves a
perk or at a counter; its refunds go back through Stripe.

A card payment runs in steps, each its own unit of work, because a network call never
runs inside a database transaction:

1. the redemption is written as usual (points held, stock taken) with payment
   ``pending``; an online voucher is not usable while it is pending and lapses after
   ``PAYMENT_WINDOW_MINUTES``;
2. one PaymentIntent is created for it and its id stored on the redemption
   (``payment_reference``) before it is confirmed: a retried request finds the stored
   id and never creates a second one, so nobody is charged twice even by a server that
   ignores idempotency keys (the keys, derived from the redemption, are sent as well);
3. the outcome: ``succeeded`` makes it ``paid`` (an online voucher becomes usable);
   ``requires_action`` (the card holder must authenticate with their bank) stays
   pending until a webhook event or the payment window decides; a decline, an error or
   no answer releases the hold at once: points to the same lots, stock back, no voucher.

Undoing a paid card redemption refunds it through Stripe (``refund_by_card``), once:
the refund is looked up at Stripe before one is created. A refund that fails stays
``refund_due`` in the staff work list until it goes through. A hold released while its
PaymentIntent's outcome was unknown keeps payment ``pending``: ``settle_card_payment``
(after each undo, on each webhook event and in the expiry job) cancels it, or refunds it
if it did charge.

Payment states: ``none`` (nothing to pay), ``pending`` (card payment under way or its
outcome unknown), ``paid``, ``failed`` (nothing was charged), ``refund_due`` then
``refunded`` once undone. ``check_refunds`` reports any redemption that disagrees.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import authz
from ..audit.service import record_audit
from ..database import lock_one, write_transaction
from ..errors import Conflict
from ..extensions import db
from ..organizations.models import Organization
from ..organizations.settings import setting
from ..payments import gateway
from ..payments.errors import InvalidPaymentMethod, PaymentDeclined, PaymentUnavailable
from ..payments.models import PaymentEvent
from ..timeutil import utcnow
from .errors import RedemptionNotFound
from .models import Perk, Redemption

log = logging.getLogger(__name__)

COUNTER = "counter"
STRIPE = "stripe"
HELD = ("reserved", "fulfilled")
UNDONE = ("voided", "expired")
# An online voucher waiting for its card payment lapses after this long (an abandoned
# authentication releases the hold then).
PAYMENT_WINDOW_MINUTES = 30
# How money due back was handed back by staff; a card refund is recorded as ``stripe``.
REFUND_METHODS = {"cash": _l("Cash handed back"), "transfer": _l("Bank or mobile transfer")}
_CHARGED_REFUND_STATES = ("succeeded", "pending")


def online_payment_available():
    """True when the cash part of a perk can be paid by card (Stripe is set up)."""
    return gateway.configured()


def collect_at_counter(redemption, by_card=False):
    """Record how the co-payment of a counter redemption is paid: in cash, collected on the
    spot by the clerk who confirms, or by card (pending until ``pay_by_card``)."""
    if redemption.copay_amount == 0:
        redemption.payment_status = "none"
        return
    if by_card:
        _start_card_payment(redemption)
        return
    redemption.payment_status = "paid"
    redemption.payment_method = COUNTER
    redemption.payment_reference = f"{COUNTER}:{redemption.receipt_number}"


def hold_for_card_payment(redemption, now):
    """An online reservation with a co-payment waits for its card payment: pending, and
    lapsing after the payment window unless paid."""
    if redemption.copay_amount == 0:
        return
    _start_card_payment(redemption)
    redemption.voucher_expires_at = min(redemption.voucher_expires_at, now + timedelta(minutes=PAYMENT_WINDOW_MINUTES))


def _start_card_payment(redemption):
    redemption.payment_status = "pending"
    redemption.payment_method = STRIPE


def _key(redemption, step):
    """Stripe's idempotency key for one step of one redemption's payment: derived from the
    redemption (its id and its own stored key), so it is unique across installations."""
    return gateway.derived_key("redemption", redemption.id, redemption.idempotency_key, step)


def _reference(redemption):
    return f"redemption:{redemption.id}"


def _release(redemption, payment_status, now):
    from .service import release_unpaid

    return release_unpaid(redemption.id, payment_status, now)


def _payment_for(redemption, payment_method):
    """The redemption's PaymentIntent: the stored one, or a new one stored before it is used."""
    if redemption.payment_reference:
        return gateway.retrieve_payment(redemption.payment_reference)
    if payment_method is None:
        raise InvalidPaymentMethod(details={"field": "payment_method"})
    payment = gateway.create_payment(
        amount=redemption.copay_amount,
        currency=redemption.copay_currency,
        payment_method=payment_method,
        reference=_reference(redemption),
        idempotency_key=_key(redemption, "create"),
    )
    with write_transaction():
        locked = lock_one(Redemption, Redemption.id == redemption.id)
        if locked.payment_reference is None:
            locked.payment_reference = payment.id
    if locked.payment_reference != payment.id:
        # Another request for the same redemption stored its PaymentIntent first: use
        # that one; this one was never confirmed and can charge nobody.
        return gateway.retrieve_payment(locked.payment_reference)
    return payment


def pay_by_card(redemption, payment_method, *, now=None):
    """Take the pending co-payment of ``redemption`` by card with ``payment_method``.

    Returns the redemption: ``paid``, or still ``pending`` when the card holder must
    authenticate. A decline, a refused card or no answer from Stripe releases the hold
    (points to the same lots, stock back, no voucher) and raises ``PaymentDeclined``,
    ``InvalidPaymentMethod`` or ``PaymentUnavailable``. Calling it again for the same
    redemption never creates a second PaymentIntent.
    """
    now = now or utcnow()
    if redemption.payment_method != STRIPE or redemption.payment_status != "pending" or redemption.status not in HELD:
        return redemption
    try:
        payment = _payment_for(redemption, payment_method)
        if payment.status == "requires_confirmation":
            payment = gateway.confirm_payment(payment.id, idempotency_key=_key(redemption, "confirm"))
    except (PaymentDeclined, InvalidPaymentMethod) as error:
        db.session.refresh(redemption)
        _cancel_quietly(redemption)
        _release(redemption, "failed", now)
        raise type(error)(
            _l("%(problem)s Nothing was charged and the %(points)s points were returned."),
            details={**error.details},
            problem=error.render_message(),
            points=redemption.points,
        ) from error
    except PaymentUnavailable as error:
        db.session.refresh(redemption)
        outcome = "failed" if redemption.payment_reference is None else _cancel_quietly(redemption)
        _release(redemption, outcome, now)
        raise PaymentUnavailable(
            _l(
                "The card payment service did not answer: the %(points)s points were returned and nothing was "
                "issued. If the card was charged all the same, the charge is refunded automatically."
            ),
            points=redemption.points,
        ) from error
    return _apply_payment(redemption.id, payment, now, raise_declined=True)


def card_action_secret(redemption):
    """The client secret the card holder's browser needs to confirm a pending online card
    payment with their bank (Stripe.js), or None: nothing to confirm, or Stripe did not answer."""
    if (
        redemption.payment_method != STRIPE
        or redemption.payment_status != "pending"
        or redemption.status != "reserved"
        or not redemption.payment_reference
    ):
        return None
    try:
        payment = gateway.retrieve_payment(redemption.payment_reference)
    except PaymentUnavailable:
        return None
    return payment.client_secret if payment.requires_action else None


def check_card_payment(redemption, *, now=None):
    """What became of a pending card payment, asked by the card holder after their bank's
    step: Stripe's answer is applied as its webhook event would be. Paid: the voucher is
    usable; still waiting: unchanged; declined or failed authentication: the hold is
    released and ``PaymentDeclined`` raised."""
    now = now or utcnow()
    waiting = redemption.payment_method == STRIPE and redemption.payment_status == "pending"
    if not waiting or not redemption.payment_reference:
        return redemption
    payment = gateway.retrieve_payment(redemption.payment_reference)
    return _apply_payment(redemption.id, payment, now, raise_declined=True)


def _cancel_quietly(redemption):
    """Cancel the redemption's PaymentIntent if it has one: ``failed`` when nothing can be
    charged any more, ``pending`` when Stripe could not say."""
    if not redemption.payment_reference:
        return "failed"
    try:
        payment = gateway.cancel_payment(redemption.payment_reference, idempotency_key=_key(redemption, "cancel"))
    except PaymentUnavailable:
        return "pending"
    return "failed" if payment.failed else "pending"


def _mark_paid(redemption_id):
    with write_transaction():
        redemption = lock_one(Redemption, Redemption.id == redemption_id)
        if redemption.status in HELD and redemption.payment_status == "pending":
            redemption.payment_status = "paid"
            if redemption.channel == "online":
                redemption.voucher_expires_at = _voucher_expiry(redemption)
    return redemption


def _voucher_expiry(redemption):
    """When a paid voucher expires: its time to live from the reservation, within the perk's validity."""
    perk = redemption.perk
    expires_at = redemption.created_at + timedelta(minutes=setting(perk.organization, "voucher_ttl_minutes"))
    return min(expires_at, perk.valid_until) if perk.valid_until else expires_at


def _apply_payment(redemption_id, payment, now, raise_declined=False):
    """Bring the redemption in line with what Stripe says of its PaymentIntent (idempotent)."""
    redemption = db.session.get(Redemption, redemption_id)
    if redemption.payment_status != "pending" or redemption.payment_reference != payment.id:
        return redemption
    if redemption.status in HELD:
        if payment.succeeded:
            return _mark_paid(redemption.id)
        if payment.failed:
            _release(redemption, "failed", now)
            if raise_declined:
                raise PaymentDeclined(
                    _l(
                        "The card payment did not go through: nothing was charged and the %(points)s points "
                        "were returned."
                    ),
                    points=redemption.points,
                )
        return redemption
    # The hold was already released (declined, abandoned, no answer): nothing may stay charged.
    if payment.succeeded:
        with write_transaction():
            locked = lock_one(Redemption, Redemption.id == redemption.id)
            if locked.payment_status == "pending":
                locked.payment_status = "refund_due"
        return refund_by_card(redemption.id, now=now)
    outcome = "failed" if payment.failed else _cancel_quietly(redemption)
    if outcome == "failed":
        with write_transaction():
            locked = lock_one(Redemption, Redemption.id == redemption.id)
            if locked.payment_status == "pending":
                locked.payment_status = "failed"
    return redemption


def settle_card_payment(redemption_id, *, now=None):
    """After an undo, or from a job: cancel a card payment left pending on an undone
    redemption (or refund it if it charged after all), and retry a card refund that is
    due. Stripe not answering leaves it as it is, visible, for the next try."""
    now = now or utcnow()
    redemption = db.session.get(Redemption, redemption_id)
    if redemption is None or redemption.payment_method != STRIPE:
        return redemption
    try:
        if redemption.payment_status == "refund_due":
            return refund_by_card(redemption.id, now=now)
        if redemption.payment_status == "pending" and redemption.status in UNDONE:
            if not redemption.payment_reference:
                return _apply_failed(redemption.id)
            return _apply_payment(redemption.id, gateway.retrieve_payment(redemption.payment_reference), now)
    except PaymentUnavailable:
        log.warning("card payment of redemption %s not settled: Stripe did not answer", redemption.id)
    return redemption


def _apply_failed(redemption_id):
    with write_transaction():
        locked = lock_one(Redemption, Redemption.id == redemption_id)
        if locked.payment_status == "pending" and locked.status in UNDONE:
            locked.payment_status = "failed"
    return locked


def settle_card_payments_job(now=None):
    """The ``points expire`` job's line for card payments: undone redemptions whose card
    payment is still pending, and card refunds due."""
    now = now or utcnow()
    if not gateway.configured():
        return "card payments: not set up"
    due = (
        db.session.execute(
            select(Redemption.id)
            .where(
                Redemption.payment_method == STRIPE,
                (Redemption.payment_status == "refund_due")
                | ((Redemption.payment_status == "pending") & Redemption.status.in_(UNDONE)),
            )
            .order_by(Redemption.id)
        )
        .scalars()
        .all()
    )
    db.session.rollback()
    open_after = 0
    for redemption_id in due:
        redemption = settle_card_payment(redemption_id, now=now)
        if redemption.payment_status in ("pending", "refund_due"):
            open_after += 1
    return f"card payments: settled {len(due) - open_after}, still open {open_after}"


# -- refunds -----------------------------------------------------------------------------


def refund_by_card(redemption_id, *, actor=None, now=None):
    """Refund the card co-payment of an undone redemption through Stripe, once.

    Stripe's refunds of the PaymentIntent are read first, so a refund whose answer was
    lost is never made twice. On success the redemption is ``refunded`` (method
    ``stripe``, the refund's id as the note) and audited; when Stripe does not answer or
    refuses, it stays ``refund_due`` in the work list and ``PaymentUnavailable`` is raised
    for a person who asked (``actor``), or logged for the system.
    """
    now = now or utcnow()
    redemption = db.session.get(Redemption, redemption_id)
    if redemption.payment_method != STRIPE or redemption.payment_status != "refund_due":
        return redemption
    try:
        refunds = gateway.refunds_of(redemption.payment_reference)
        refunded = sum(refund.amount for refund in refunds if refund.status in _CHARGED_REFUND_STATES)
        if refunded < redemption.copay_amount:
            refund = gateway.refund_payment(
                redemption.payment_reference,
                redemption.copay_amount - refunded,
                reference=_reference(redemption),
                idempotency_key=_key(redemption, "refund"),
            )
            if refund.status not in _CHARGED_REFUND_STATES:
                raise PaymentUnavailable()
            refunds.append(refund)
    except PaymentUnavailable:
        log.warning("card refund of redemption %s failed; it stays due", redemption.id)
        if actor is not None:
            raise PaymentUnavailable(
                _l("The card refund did not go through; it stays in the work list. Try again later.")
            ) from None
        return redemption
    note = ", ".join(refund.id for refund in refunds if refund.status in _CHARGED_REFUND_STATES)
    with write_transaction():
        locked = lock_one(Redemption, Redemption.id == redemption.id)
        if locked.payment_status == "refund_due":
            settle_refund(locked, STRIPE, note[:255], getattr(actor, "id", None), now)
            audit_refund(actor, locked)
    return locked


def retry_card_refund(actor, redemption_id, *, now=None):
    """Staff ask again for a card refund that failed (the work list's "refund pending")."""
    from .service import _get_redemption, may_settle_refund

    redemption = _get_redemption(redemption_id)
    if not may_settle_refund(actor, redemption):
        raise RedemptionNotFound()
    if redemption.payment_method != STRIPE or redemption.payment_status != "refund_due":
        raise Conflict(
            _l("No card refund is due for this redemption (its payment status is %(status)s)."),
            status=redemption.payment_status,
        )
    return refund_by_card(redemption.id, actor=actor, now=now)


# -- webhook events ----------------------------------------------------------------------

PAYMENT_EVENTS = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.requires_action",
)
REFUND_EVENTS = ("charge.refunded", "refund.created", "refund.updated")


def apply_payment_event(event, *, now=None):
    """Apply a verified Stripe event once per event id: ``applied``, ``ignored`` (not one
    of ours, or of a kind we do not act on) or ``duplicate`` (seen before: nothing changes)."""
    now = now or utcnow()
    if db.session.execute(select(PaymentEvent.id).where(PaymentEvent.event_id == event.id)).first():
        return "duplicate"
    if event.type in PAYMENT_EVENTS:
        payment_id = event.object.get("id")
    elif event.type in REFUND_EVENTS:
        payment_id = event.object.get("payment_intent")
    else:
        payment_id = None
    redemption = None
    if isinstance(payment_id, str) and payment_id:
        redemption = db.session.execute(
            select(Redemption).where(Redemption.payment_method == STRIPE, Redemption.payment_reference == payment_id)
        ).scalar_one_or_none()
    outcome = "ignored"
    if redemption is not None:
        if event.type in PAYMENT_EVENTS:
            _apply_payment(redemption.id, gateway.payment_from_object(event.object), now)
        else:
            refund_by_card(redemption.id, now=now)
        outcome = "applied"
    try:
        with write_transaction():
            db.session.add(
                PaymentEvent(
                    event_id=event.id[:255],
                    event_type=event.type[:64],
                    object_id=payment_id[:255] if isinstance(payment_id, str) else None,
                    outcome=outcome,
                    received_at=now,
                )
            )
    except IntegrityError:
        return "duplicate"
    return outcome


# -- reconciliation ----------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    """One disagreement between our redemptions and Stripe: a stable ``code`` and a message."""

    code: str
    template: object
    params: dict
    redemption_id: int | None = None
    payment_id: str | None = None

    @property
    def message(self):
        return str(self.template) % self.params


_MISMATCHES = {
    "no_payment_recorded": _l("recorded as %(ours)s by card but no PaymentIntent is stored"),
    "payment_missing": _l("its PaymentIntent is not found at Stripe"),
    "amount_differs": _l("we hold %(ours)s, the PaymentIntent is for %(theirs)s"),
    "paid_not_charged": _l("recorded as %(ours)s but Stripe has not charged it (%(theirs)s)"),
    "charged_not_recorded": _l("Stripe charged it but we record its payment as %(ours)s"),
    "refund_not_made": _l("recorded as refunded but Stripe refunded %(theirs)s"),
    "refunded_not_recorded": _l("Stripe refunded %(theirs)s but we record its payment as %(ours)s"),
    "charged_without_redemption": _l("Stripe charged %(theirs)s for %(reference)s, which has no such payment here"),
}


def _mismatch(code, redemption=None, payment=None, **params):
    return Mismatch(
        code=code,
        template=_MISMATCHES[code],
        params=params,
        redemption_id=getattr(redemption, "id", None),
        payment_id=getattr(payment, "id", None) or getattr(redemption, "payment_reference", None),
    )


def _money(amount, currency):
    return f"{currency} {amount // 100}.{amount % 100:02d}"


def _refunded_amount(payment):
    if not payment.succeeded:
        return 0
    return sum(refund.amount for refund in gateway.refunds_of(payment.id) if refund.status in _CHARGED_REFUND_STATES)


def _check_redemption(redemption, payment):
    status = redemption.payment_status
    if payment is None:
        if redemption.payment_reference is None and status in ("paid", "refund_due", "refunded"):
            return _mismatch("no_payment_recorded", redemption, ours=status)
        if redemption.payment_reference is not None:
            return _mismatch("payment_missing", redemption)
        return None
    if payment.amount != redemption.copay_amount or payment.currency != redemption.copay_currency:
        return _mismatch(
            "amount_differs",
            redemption,
            payment,
            ours=_money(redemption.copay_amount, redemption.copay_currency),
            theirs=_money(payment.amount, payment.currency),
        )
    refunded = _refunded_amount(payment)
    kept = payment.succeeded and refunded < payment.amount
    if status in ("paid", "refund_due", "refunded") and not payment.succeeded:
        return _mismatch("paid_not_charged", redemption, payment, ours=status, theirs=payment.status)
    if status == "refunded" and refunded < payment.amount:
        return _mismatch("refund_not_made", redemption, payment, theirs=_money(refunded, payment.currency))
    if status in ("paid", "refund_due") and refunded >= payment.amount:
        return _mismatch(
            "refunded_not_recorded", redemption, payment, ours=status, theirs=_money(refunded, payment.currency)
        )
    if status == "paid" and refunded:
        return _mismatch(
            "refunded_not_recorded", redemption, payment, ours=status, theirs=_money(refunded, payment.currency)
        )
    if status in ("failed", "none") and kept:
        return _mismatch("charged_not_recorded", redemption, payment, ours=status)
    if status == "pending" and kept and redemption.status in UNDONE:
        return _mismatch("charged_not_recorded", redemption, payment, ours=status)
    return None


def reconcile_payments(since, *, actor=None):
    """Every mismatch between our card-paid redemptions created since ``since`` (a naive
    UTC datetime) and Stripe's PaymentIntents and refunds, oldest first.

    With ``actor``, only redemptions of perks or counters in their subtrees (permission
    ``redemption.void_any``); payments Stripe holds for no redemption of ours are shown to
    those who hold it on a top-level organization. Raises ``PaymentUnavailable`` when
    Stripe cannot be read, ``PaymentNotConfigured`` when it is not set up.
    """
    statement = (
        select(Redemption)
        .where(Redemption.payment_method == STRIPE, Redemption.created_at >= since)
        .order_by(Redemption.id)
    )
    if actor is not None:
        owner = select(Perk.id).join(Organization, Organization.id == Perk.organization_id)
        statement = statement.where(
            Redemption.perk_id.in_(owner.where(authz.scope_filter(actor, "redemption.void_any", Organization.path)))
        )
    redemptions = db.session.execute(statement).scalars().all()
    payments = {payment.id: payment for payment in gateway.payments_since(since)}
    mismatches = []
    for redemption in redemptions:
        payment = payments.get(redemption.payment_reference) if redemption.payment_reference else None
        if redemption.payment_reference and payment is None:
            try:
                payment = gateway.retrieve_payment(redemption.payment_reference)
            except PaymentUnavailable:
                payment = None
        mismatch = _check_redemption(redemption, payment)
        if mismatch is not None:
            mismatches.append(mismatch)
    if actor is None or _sees_every_organization(actor):
        known = set(
            db.session.execute(
                select(Redemption.payment_reference).where(
                    Redemption.payment_method == STRIPE, Redemption.payment_reference.in_(list(payments))
                )
            ).scalars()
        )
        for payment in sorted(payments.values(), key=lambda payment: (payment.created_at, payment.id)):
            if payment.id in known or not (payment.reference or "").startswith("redemption:"):
                continue
            if payment.succeeded and _refunded_amount(payment) < payment.amount:
                mismatches.append(
                    _mismatch(
                        "charged_without_redemption",
                        payment=payment,
                        theirs=_money(payment.amount, payment.currency),
                        reference=payment.reference,
                    )
                )
    return mismatches


def _sees_every_organization(actor):
    return any(node.parent_id is None for node in authz.scope_roots(actor, "redemption.void_any"))


def record_refund(redemption):
    """A paid co-payment of an undone redemption becomes a refund due by its method."""
    if redemption.payment_status == "paid":
        redemption.payment_status = "refund_due"


def audit_refund(actor, redemption):
    """The audit row of a co-payment handed back (``settle_refund`` has recorded how)."""
    record_audit(
        actor,
        "redemption.refund",
        "redemption",
        redemption.id,
        organization_id=redemption.counter_organization_id or redemption.perk.organization_id,
        before={"payment_status": "refund_due"},
        after={
            "payment_status": "refunded",
            "method": redemption.refund_method,
            "amount": redemption.copay_amount,
            "currency": redemption.copay_currency,
            "note": redemption.refund_note,
        },
    )


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
            (Redemption.payment_status == "failed") & Redemption.status.in_(HELD),
            "is {status} but its card payment failed",
        ),
        (
            (Redemption.payment_method == STRIPE)
            & Redemption.payment_status.in_(("paid", "refund_due", "refunded"))
            & Redemption.payment_reference.is_(None),
            "is {payment} by card without a PaymentIntent",
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
