"""The perks domain's errors: each has a stable code for the API and a message for people."""

from flask_babel import lazy_gettext as _l

from ..errors import Conflict, NotFound, PermissionDenied, ValidationError


class InvalidCode(ValidationError):
    code = "invalid_code"
    default_message = _l("That code is not valid; scan it again or check the digits.")


class PerkNotFound(NotFound):
    code = "perk_not_found"
    default_message = _l("That perk does not exist.")


class RedemptionNotFound(NotFound):
    code = "redemption_not_found"
    default_message = _l("That redemption does not exist.")


class NotHonoredHere(Conflict):
    code = "not_honored_here"
    default_message = _l("%(perk)s is not honored at this counter; nothing was changed.")


class NotEligible(Conflict):
    code = "not_eligible"
    default_message = _l("This perk cannot be redeemed now.")


class VoucherNotUsable(Conflict):
    code = "voucher_not_usable"
    default_message = _l("This voucher cannot be used.")


class VoidNotAllowed(PermissionDenied):
    code = "void_not_allowed"
    default_message = _l("Counter staff can void only today's redemptions at their own counter; ask an administrator.")
