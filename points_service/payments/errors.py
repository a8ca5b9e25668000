"""The payments domain's errors: each has a stable code for the API and a message for people."""

from flask_babel import lazy_gettext as _l

from ..errors import Conflict, PointsError, ValidationError


class PaymentNotConfigured(Conflict):
    code = "payment_not_configured"
    default_message = _l("Card payment is not set up here: pay the cash part in cash at a service counter.")


class PaymentDeclined(PointsError):
    status = 402
    code = "payment_declined"
    default_message = _l("The card was declined.")


class PaymentUnavailable(PointsError):
    """Stripe could not be reached, answered too late, or failed: the outcome may be unknown."""

    status = 503
    code = "payment_unavailable"
    default_message = _l("The card payment service cannot be reached now. Try again later.")


class InvalidPaymentMethod(ValidationError):
    code = "invalid_payment_method"
    default_message = _l("The card details are missing or not valid.")


class InvalidSignature(PointsError):
    status = 400
    code = "invalid_signature"
    default_message = _l("The payment event is not signed, its signature is wrong or it is too old.")


# A card payment that did not go through: the hold was released, so a new attempt is a new request.
PAYMENT_FAILURES = (PaymentDeclined, PaymentUnavailable, InvalidPaymentMethod)
