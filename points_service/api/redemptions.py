"""Redemptions at a counter: redeem a perk for a member, void a redemption.

Both change points and stock, so both follow the Idempotency-Key protocol. The perks
service decides everything (eligibility, locks, who may void); this module parses,
names the counter and dumps.
"""

from flask_login import current_user

from ..activities.service import volunteer_level
from ..perks import service as perks
from . import error_responses
from .auth import counter_of_request, resource_blueprint
from .idempotency import domain_key, idempotent, idempotent_in_one_transaction
from .schemas import RedeemSchema, RedemptionResultSchema, VoidSchema

blp = resource_blueprint("redemptions", __name__, "/redemptions", "Redeeming perks at a counter, and voids.")


@blp.route("", methods=["POST"])
@blp.arguments(RedeemSchema)
@idempotent_in_one_transaction
@blp.response(201, RedemptionResultSchema)
@error_responses(blp, 400, 401, 403, 404, 409, 429)
def create_redemption(body):
    """Redeem a perk for a member at this counter: points debited, stock taken, in one step"""
    counter = counter_of_request(body.get("counter_id"))
    return perks.redeem_perk(
        current_user,
        counter,
        body["member_no"],
        body["perk_id"],
        body["quantity"],
        domain_key(),
        level_of=volunteer_level,
        credential=body.get("member_code"),
    )


@blp.route("/<id:redemption_id>/void", methods=["POST"])
@blp.arguments(VoidSchema)
@idempotent
@blp.response(200, RedemptionResultSchema)
@error_responses(blp, 400, 401, 403, 404, 409, 429)
def void_redemption(body, redemption_id):
    """Void a redemption: its points go back to the same lots and its stock to the shelf"""
    return perks.void_redemption(current_user, redemption_id, body["reason"], domain_key())
