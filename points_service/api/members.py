"""GET /api/v1/members/{member_no}: a member as the counter sees them.

Masked name, spendable balance, star level, and the perks honored at this counter:
the eligible ones and the others with the reasons. The perks service decides all of it
(``counter_lookup``); member numbers are pseudonymous codes and are never logged.

A counter asks this on every scan, so the answer is written here as plain JSON, field
for field what ``schemas.MemberSchema`` (the documented shape) would dump, without
marshmallow walking every perk.
"""

from datetime import UTC

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..activities.service import volunteer_level
from ..codes import classify_code
from ..perks import service as perks
from ..perks.errors import InvalidCode
from . import error_responses
from .auth import counter_of_request, limit_code_lookups, resource_blueprint
from .schemas import MEMBER_NO_PARAMETER, CounterQuerySchema, MemberSchema

blp = resource_blueprint("members", __name__, "/members", "Volunteers looked up by member number at a counter.")


@blp.route("/<string:member_no>", parameters=[MEMBER_NO_PARAMETER])
@limit_code_lookups
@blp.arguments(CounterQuerySchema, location="query")
@blp.response(200, MemberSchema)
@error_responses(blp, 401, 403, 404, 429)
def get_member(query, member_no):
    """A member's masked name, balance, level and the perks they can redeem here"""
    kind, code = classify_code(member_no)
    if kind != "member":
        raise InvalidCode(_l("That is not a valid member number: check the 12 digits (the last one is a check digit)."))
    counter = counter_of_request(query.get("counter_id"))
    view = perks.counter_lookup(current_user, counter, code, level_of=volunteer_level)
    return current_app.json.response(_member_json(view))


def _time(moment):
    """A naive UTC time as ISO 8601 with its offset (as ``schemas.UtcDateTime``)."""
    return None if moment is None else moment.replace(tzinfo=UTC).isoformat()


def _option_json(option):
    perk = option.perk
    return {
        "perk": {
            "id": perk.id,
            "organization_id": perk.organization_id,
            "kind": perk.kind,
            "name": perk.name,
            "terms": perk.terms,
            "picture": perk.picture,
            "points_cost": perk.points_cost,
            "copay_amount": perk.copay_amount,
            "copay_currency": perk.copay_currency,
            "stock": perk.stock,
            "limit_quantity": perk.limit_quantity,
            "limit_period": perk.limit_period,
            "min_stars": perk.min_stars,
            "valid_from": _time(perk.valid_from),
            "valid_until": _time(perk.valid_until),
            "active": perk.active,
            "venue_ids": list(perk.venue_ids),
        },
        "eligible": option.eligible,
        "reasons": [{"code": reason.code, "message": reason.message} for reason in option.reasons],
    }


def _member_json(view):
    level = view.level
    return {
        "member_no": view.member_no,
        "masked_name": view.masked_name,
        "balance": view.balance,
        "level": {
            "stars": level.stars,
            "hours": level.hours,
            "next_stars": level.next_stars,
            "next_threshold_hours": level.next_threshold_hours,
        },
        "eligible_perks": [_option_json(option) for option in view.eligible],
        "other_perks": [_option_json(option) for option in view.ineligible],
    }
