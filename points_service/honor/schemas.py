"""Marshmallow schemas of honor rolls: the public view of a published roll.

Only what the public may see: no volunteer id, no member number, names as the roll
shows them (masked unless the roll says otherwise). Values are integers: minutes for
the ``hours`` metric, points for ``points``.
"""

from marshmallow import Schema, fields, validate

from .models import METRICS, PERIOD_KINDS
from .service import honor_roll_title, next_period_start, public_entries


class HonorRollEntrySchema(Schema):
    rank = fields.Integer(required=True)
    display_name = fields.String(required=True, metadata={"description": "The name as the roll shows it (masked)."})
    value = fields.Integer(required=True, metadata={"description": "Minutes (metric hours) or points."})
    home_community = fields.String(required=True)


class HonorRollSummarySchema(Schema):
    id = fields.Integer(required=True)
    title = fields.Method("_title", required=True)
    organization_id = fields.Integer(required=True)
    organization_name = fields.Function(lambda roll: roll.organization.name, required=True)
    period_kind = fields.String(required=True, validate=validate.OneOf(PERIOD_KINDS))
    period_start = fields.Date(required=True, metadata={"description": "First local day of the period."})
    period_end = fields.Method(
        "_period_end", required=True, metadata={"description": "First local day after the period."}
    )
    metric = fields.String(required=True, validate=validate.OneOf(METRICS))
    unit = fields.Function(lambda roll: "minutes" if roll.metric == "hours" else "points", required=True)
    size = fields.Integer(required=True)
    published_at = fields.DateTime(required=True)

    def _title(self, roll):
        return honor_roll_title(roll)

    def _period_end(self, roll):
        return next_period_start(roll.period_kind, roll.period_start).isoformat()


class PublicEntries(fields.List):
    """A roll's entries as they may be shown now: ``public_entries`` leaves out anyone who
    opted out of public lists after publication."""

    def get_value(self, obj, attr, accessor=None, default=None):
        return public_entries(obj)


class HonorRollSchema(HonorRollSummarySchema):
    entries = PublicEntries(fields.Nested(HonorRollEntrySchema), required=True)
