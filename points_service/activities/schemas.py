"""Marshmallow schemas of the activities domain: activities, sign-ups, service records,
import problems and approval results.

Dump schemas carry ids, never names or contact data; the JSON API adds its own time
format and request schemas. Datetimes are naive UTC here; durations integer minutes.
"""

from marshmallow import Schema, fields, validate

from .models import ACTIVITY_STATUSES, RECORD_SOURCES, RECORD_STATUSES, SIGNUP_STATUSES


class ActivitySchema(Schema):
    id = fields.Integer(dump_only=True)
    organization_id = fields.Integer()
    title = fields.String(validate=validate.Length(1, 120))
    category = fields.String()
    place = fields.String(validate=validate.Length(1, 200))
    description = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    capacity = fields.Integer(validate=validate.Range(1, 10_000))
    urgent = fields.Boolean()
    status = fields.String(dump_only=True, validate=validate.OneOf(ACTIVITY_STATUSES))
    organizer_id = fields.Integer(dump_only=True)


class ActivitySignupSchema(Schema):
    id = fields.Integer()
    activity_id = fields.Integer()
    volunteer_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(SIGNUP_STATUSES))
    signed_up_at = fields.DateTime()
    checked_in_at = fields.DateTime(allow_none=True)
    checked_out_at = fields.DateTime(allow_none=True)
    record_id = fields.Integer(allow_none=True)


class ServiceRecordSchema(Schema):
    id = fields.Integer()
    volunteer_id = fields.Integer()
    organization_id = fields.Integer()
    activity_id = fields.Integer(allow_none=True)
    category = fields.String()
    started_at = fields.DateTime()
    ended_at = fields.DateTime()
    minutes = fields.Integer(metadata={"description": "Whole minutes from start to end."})
    verified_minutes = fields.Integer(
        allow_none=True, metadata={"description": "Minutes the rules credit (after rounding) once approved."}
    )
    urgent = fields.Boolean()
    source = fields.String(validate=validate.OneOf(RECORD_SOURCES))
    status = fields.String(validate=validate.OneOf(RECORD_STATUSES))
    rejection_reason = fields.String(allow_none=True)
    points = fields.Integer(allow_none=True, metadata={"description": "Points the record holds now."})
    rule_set_id = fields.Integer(allow_none=True)
    rule_set_version = fields.Integer(allow_none=True)
    breakdown = fields.List(fields.Dict(), allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class RecordEntrySchema(Schema):
    """An organizer's entry of one record (times naive UTC)."""

    member_no = fields.String(required=True, validate=validate.Regexp(r"^[0-9]{12}$"))
    organization_id = fields.Integer(required=True)
    category = fields.String(required=True, validate=validate.Length(1, 40))
    started_at = fields.DateTime(required=True)
    ended_at = fields.DateTime(required=True)
    urgent = fields.Boolean(load_default=False)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=255))


class RejectionSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 255))


class ActivityDecisionSchema(Schema):
    """Approve an activity's pending records, with exceptions."""

    exclude = fields.List(fields.Integer(), load_default=list)
    reject = fields.Dict(
        keys=fields.Integer(), values=fields.String(validate=validate.Length(1, 255)), load_default=dict
    )
    only = fields.List(fields.Integer(), load_default=None, allow_none=True)


class DecisionsSchema(Schema):
    approved = fields.Method("_approved")
    rejected = fields.Method("_rejected")
    excluded = fields.Method("_excluded")
    skipped = fields.Method("_skipped", metadata={"description": "Records this caller may not approve (four eyes)."})
    not_pending = fields.Method("_not_pending")

    def _ids(self, records):
        return [record.id for record in records]

    def _approved(self, decisions):
        return self._ids(decisions.approved)

    def _rejected(self, decisions):
        return self._ids(decisions.rejected)

    def _excluded(self, decisions):
        return self._ids(decisions.excluded)

    def _skipped(self, decisions):
        return self._ids(decisions.skipped)

    def _not_pending(self, decisions):
        return self._ids(decisions.not_pending)


class ImportProblemSchema(Schema):
    row = fields.Integer()
    column = fields.String()
    message = fields.String()
