"""Marshmallow dump schemas of the perks domain: perks, perk options, redemptions.

The JSON API extends them (its own time format, request schemas). Money is integer
minor units with a currency; points are integers.
"""

from marshmallow import Schema, fields, validate

from .models import LIMIT_PERIODS, PERK_KINDS


class PerkSchema(Schema):
    id = fields.Integer(dump_only=True)
    organization_id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(PERK_KINDS))
    name = fields.String()
    terms = fields.String()
    picture = fields.String(allow_none=True)
    points_cost = fields.Integer()
    copay_amount = fields.Integer(metadata={"description": "Co-payment in minor units (fen)."})
    copay_currency = fields.String()
    stock = fields.Integer(allow_none=True, metadata={"description": "Items left; null is unlimited."})
    limit_quantity = fields.Integer(allow_none=True)
    limit_period = fields.String(allow_none=True, validate=validate.OneOf(LIMIT_PERIODS))
    min_stars = fields.Integer()
    valid_from = fields.DateTime(allow_none=True)
    valid_until = fields.DateTime(allow_none=True)
    active = fields.Boolean()
    venue_ids = fields.Method("_venue_ids", dump_only=True)

    def _venue_ids(self, perk):
        return [venue.organization_id for venue in perk.venues]


class PerkOptionSchema(Schema):
    perk = fields.Nested(PerkSchema)
    eligible = fields.Boolean()
    reasons = fields.Method("_reasons")

    def _reasons(self, option):
        return [{"code": reason.code, "message": reason.message} for reason in option.reasons]


class RedemptionSchema(Schema):
    id = fields.Integer()
    receipt_number = fields.String()
    perk_id = fields.Integer()
    quantity = fields.Integer()
    points = fields.Integer()
    copay_amount = fields.Integer()
    copay_currency = fields.String()
    payment_status = fields.String()
    channel = fields.String()
    status = fields.String()
    voucher_code = fields.String(allow_none=True)
    voucher_expires_at = fields.DateTime(allow_none=True)
    counter_organization_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    fulfilled_at = fields.DateTime(allow_none=True)
    voided_at = fields.DateTime(allow_none=True)
    void_reason = fields.String(allow_none=True)
    expired_at = fields.DateTime(allow_none=True)
