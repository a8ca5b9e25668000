"""GET /api/v1/members/{member_no}: a member as the counter sees them.

Masked name, spendable balance, star level, and the perks honored at this counter:
the eligible ones and the others with the reasons. The perks service decides all of it
(``counter_lookup``); member numbers are pseudonymous codes and are never logged.
"""

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
    return perks.counter_lookup(current_user, counter, code, level_of=volunteer_level)
