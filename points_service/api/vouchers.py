"""POST /api/v1/vouchers/{code}/fulfil: hand over what an online voucher reserved.

The voucher code is checked (format and check character) by the perks service before
any lookup; the endpoint is rate limited like every code lookup and is idempotent.
"""

from flask_login import current_user

from ..inputs import PLAIN_TEXT
from ..perks import service as perks
from . import error_responses
from .auth import counter_of_request, limit_code_lookups, resource_blueprint
from .idempotency import domain_key, idempotent
from .schemas import CounterBodySchema, RedemptionResultSchema

blp = resource_blueprint("vouchers", __name__, "/vouchers", "Online vouchers fulfilled at a counter.")
VOUCHER_CODE_PARAMETER = {
    "in": "path",
    "name": "code",
    "required": True,
    "description": "The voucher code: V, 16 characters of Crockford base32 and a check character.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": PLAIN_TEXT},
}


@blp.route("/<string:code>/fulfil", methods=["POST"], parameters=[VOUCHER_CODE_PARAMETER])
@limit_code_lookups
@blp.arguments(CounterBodySchema, required=False)
@idempotent
@blp.response(200, RedemptionResultSchema)
@error_responses(blp, 400, 401, 403, 404, 409, 429)
def fulfil_voucher(body, code):
    """Fulfil a reserved voucher at this counter"""
    counter = counter_of_request(body.get("counter_id"))
    return perks.fulfil_voucher(current_user, counter, code, domain_key())
