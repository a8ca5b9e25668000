"""Service records: an organizer enters one; another person approves or rejects it.

Approving awards points, so it follows the Idempotency-Key protocol; entering and
rejecting accept a key too. The activities service checks everything: times,
category, overlaps, the subtree, and four eyes (nobody approves what they entered or
did themself).
"""

from flask_login import current_user

from ..activities import service as activities
from . import error_responses
from .auth import organization_of_request, resource_blueprint
from .idempotency import idempotent, idempotent_when_keyed
from .schemas import RejectSchema, ServiceRecordCreateSchema, ServiceRecordSchema

blp = resource_blueprint("service_records", __name__, "/service-records", "Service records and their approval.")


@blp.route("", methods=["POST"])
@blp.arguments(ServiceRecordCreateSchema)
@idempotent_when_keyed
@blp.response(201, ServiceRecordSchema)
@error_responses(blp, 400, 401, 403, 404, 409, 429)
def create_service_record(body):
    """Enter a volunteer's service (pending until another person approves it)"""
    organization = organization_of_request(body.get("organization_id"), "record.enter", "organization_id")
    return activities.enter_record(
        current_user,
        member_no=body["member_no"],
        organization=organization,
        category=body["category"],
        started_at=body["started_at"],
        ended_at=body["ended_at"],
        urgent=body["urgent"],
        note=body["note"],
    )


@blp.route("/<id:record_id>/approve", methods=["POST"])
@idempotent
@blp.response(200, ServiceRecordSchema)
@error_responses(blp, 401, 403, 404, 409, 422)
def approve_service_record(record_id):
    """Approve a pending record: it is rated and its points credited, once"""
    return activities.approve_record(current_user, record_id)


@blp.route("/<id:record_id>/reject", methods=["POST"])
@blp.arguments(RejectSchema)
@idempotent_when_keyed
@blp.response(200, ServiceRecordSchema)
@error_responses(blp, 400, 401, 403, 404, 409, 429)
def reject_service_record(body, record_id):
    """Reject a pending record with a reason the volunteer sees"""
    return activities.reject_record(current_user, record_id, body["reason"])
