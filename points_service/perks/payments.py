"""The co-payment seam: how the cash part of a redemption is collected and refunded.

Until online payment exists (the Stripe issue), a co-payment is collected on the spot
at the counter and recorded here as paid by method ``counter``; an online reservation
of a perk with a co-payment is refused (``online_payment_available``). Undoing a paid
redemption records the refund as due by the same method. The Stripe gateway plugs in
here: a method ``online`` that collects before the reservation commits and refunds
through the gateway.
"""

COUNTER = "counter"


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
