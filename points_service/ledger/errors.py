"""The ledger's errors: one tree under ``LedgerError``."""

from flask_babel import lazy_gettext as _l

from ..errors import IdempotencyConflict, PointsError


class LedgerError(PointsError):
    code = "ledger_error"
    default_message = _l("The points operation could not be done.")


class InvalidPoints(LedgerError):
    status = 422
    code = "invalid_points"
    default_message = _l("Points must be a whole number from 1 to %(maximum)s.")


class InvalidReason(LedgerError):
    status = 422
    code = "invalid_reason"
    default_message = _l("A reason of 1 to 255 characters is required.")


class InvalidExpiry(LedgerError):
    status = 422
    code = "invalid_expiry"
    default_message = _l("The expiry must be a date and time, or none for points that never expire.")


class InvalidIdempotencyKey(LedgerError):
    status = 422
    code = "invalid_idempotency_key"
    default_message = _l("A request key must be text of 1 to 128 characters.")


class AccountNotFound(LedgerError):
    status = 404
    code = "account_not_found"
    default_message = _l("That points account does not exist.")


class EntryNotFound(LedgerError):
    status = 404
    code = "entry_not_found"
    default_message = _l("That ledger entry does not exist.")


class InsufficientPoints(LedgerError):
    status = 409
    code = "insufficient_points"
    default_message = _l("Insufficient points: %(needed)s needed, %(available)s available.")


class AlreadyReversed(LedgerError):
    status = 409
    code = "already_reversed"
    default_message = _l("This entry has already been reversed.")


class NotReversible(LedgerError):
    status = 409
    code = "not_reversible"
    default_message = _l("Entries of this kind cannot be reversed; make an adjustment instead.")


class DuplicateRequest(LedgerError, IdempotencyConflict):
    status = 409
    code = "idempotency_key_reused"
    default_message = _l("This request key was already used for a different points operation.")


class ShortfallNotFound(LedgerError):
    status = 404
    code = "shortfall_not_found"
    default_message = _l("That shortfall does not exist.")


class ShortfallSettled(LedgerError):
    status = 409
    code = "shortfall_settled"
    default_message = _l("This shortfall is already settled; nothing is left to write off.")


class ShortfallChanged(LedgerError):
    status = 409
    code = "shortfall_changed"
    default_message = _l(
        "Points of this shortfall were recovered since the write-off was requested"
        " (%(requested)s then, %(open)s now); reject this request and ask again."
    )
