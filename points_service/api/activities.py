"""POST /api/v1/activities/{id}/approve-all: approve a whole activity's pending records at once.

Records may be left pending (``exclude``) or rejected with a reason (``reject``);
records the caller may not approve (four eyes) are skipped and listed. It awards
points, so it follows the Idempotency-Key protocol.
"""

from flask_login import current_user

from ..activities import service as activities
from . import error_responses
from .auth import resource_blueprint
from .idempotency import idempotent
from .schemas import ApproveAllSchema, DecisionsSchema

blp = resource_blueprint("activities", __name__, "/activities", "Approving an activity's service records.")


@blp.route("/<id:activity_id>/approve-all", methods=["POST"])
@blp.arguments(ApproveAllSchema, required=False)
@idempotent
@blp.response(200, DecisionsSchema)
@error_responses(blp, 400, 401, 403, 404, 409, 429)
def approve_activity(body, activity_id):
    """Approve every pending record of an activity, except those excluded or rejected"""
    return activities.approve_activity(
        current_user,
        activity_id,
        exclude=body.get("exclude", []),
        reject={rejection["record_id"]: rejection["reason"] for rejection in body.get("reject", [])},
        only=body.get("only"),
    )
