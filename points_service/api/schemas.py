"""Marshmallow schemas of the API face that no domain owns: the error shape, paging,
members and their ledger entries, tokens. Each input has a load schema and each output
a dump schema; the domains' own schemas (e.g. ``perks.schemas``) are used where they exist.

Input fields are as strict as the OpenAPI document generated from them says: a number
in a JSON body is a JSON integer (``1.5``, ``"11"`` and ``true`` are refused, never
truncated or converted), every number and id has the bounds its column can hold, every
string a maximum length, and text that must say something has a pattern saying so.
"""

from datetime import UTC

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..accounts.models import ROLES
from ..accounts.service import mask_name
from ..honor import schemas as honor_schemas
from ..i18n import N_, stored_text
from ..inputs import CONTROL_CHARACTERS, MAX_ID, PLAIN_TEXT
from ..ledger.models import ENTRY_KINDS
from ..perks import schemas as perk_schemas
from ..perks.service import MAX_QUANTITY

MEMBER_NO_PARAMETER = {
    "in": "path",
    "name": "member_no",
    "required": True,
    "description": "The 12-digit member number (the last digit is a check digit).",
    "schema": {"type": "string", "pattern": r"^[0-9]{12}$"},
}


class UtcDateTime(fields.AwareDateTime):
    """ISO 8601 with a UTC offset on the wire; naive UTC inside, as the database stores time."""

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # the first or last day of the calendar with an offset
            raise self.make_error("invalid", input=value, obj_type=self.OBJ_TYPE) from None

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


def whole_number(minimum, maximum, *, in_text=False, **kwargs):
    """An integer from ``minimum`` to ``maximum``: a JSON integer in a body (never a float or
    a string); where every value is text anyway (``in_text``: a query string or a multipart
    form field), text that reads as a whole number."""
    return fields.Integer(strict=not in_text, validate=validate.Range(min=minimum, max=maximum), **kwargs)


def row_id(*, in_text=False, **kwargs):
    """The id of a row: 1 to ``MAX_ID``, the range of the database's id columns."""
    return whole_number(1, MAX_ID, in_text=in_text, **kwargs)


class JsonBoolean(fields.Boolean):
    """``true`` or ``false`` in a JSON body; not ``1``, ``"yes"`` or ``"0"``."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is True or value is False:
            return value
        raise self.make_error("invalid", input=value)


# Text with something in it besides spaces (a reason the volunteer reads), without control characters.
SAYS_SOMETHING = rf"^[^\S{CONTROL_CHARACTERS}]*[^\s{CONTROL_CHARACTERS}][^{CONTROL_CHARACTERS}]*$"
# The rules domain's category codes (rules.schemas.CATEGORY_CODE_PATTERN) in the JSON Schema dialect.
CATEGORY_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"


def text(maximum, *, minimum=0, pattern=PLAIN_TEXT, **kwargs):
    """A string of ``minimum`` to ``maximum`` characters matching ``pattern``; by default any
    text without the control characters ``inputs.check_request_input`` refuses."""
    length = validate.Length(min=minimum or None, max=maximum)
    return fields.String(validate=[length, validate.Regexp(pattern)], **kwargs)


def reason_text(**kwargs):
    return text(255, minimum=1, pattern=SAYS_SOMETHING, **kwargs)


# A paging cursor is the id of the last row seen, as text: 1 to MAX_ID, digit by digit.
CURSOR_PATTERN = (
    r"^(?:[1-9][0-9]{0,8}|1[0-9]{9}|20[0-9]{8}|21[0-3][0-9]{7}|214[0-6][0-9]{6}|2147[0-3][0-9]{5}"
    r"|21474[0-7][0-9]{4}|214748[0-2][0-9]{3}|2147483[0-5][0-9]{2}|21474836[0-3][0-9]|214748364[0-7])$"
)


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"description": "Stable machine-readable error code."})
    message = fields.String(
        required=True, metadata={"description": "What went wrong, in the language of Accept-Language."}
    )
    details = fields.Dict(required=True, metadata={"description": "Field errors or other specifics."})


class ErrorSchema(Schema):
    """The one error shape of the API: ``{"error": {"code", "message", "details"}}``."""

    error = fields.Nested(ErrorBodySchema, required=True)


class PageQuerySchema(Schema):
    cursor = fields.String(
        validate=validate.Regexp(CURSOR_PATTERN),
        metadata={"description": "The next_cursor of the previous page; omit for the first page."},
    )
    limit = whole_number(1, 100, in_text=True, load_default=50, metadata={"description": "Items per page."})


# -- members and their ledger ------------------------------------------------------------


class LedgerEntrySchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ENTRY_KINDS))
    points = fields.Integer(required=True, attribute="delta", metadata={"description": "Signed points."})
    balance_after = fields.Integer(required=True)
    reason = fields.Method(
        "translated_reason", required=True, metadata={"description": "Why, in the language of the request."}
    )
    note = fields.String(
        required=True, allow_none=True, metadata={"description": "What a person wrote about it, as written."}
    )
    cause_type = fields.String(required=True, allow_none=True)
    cause_id = fields.String(required=True, allow_none=True)
    reverses_entry_id = fields.Integer(required=True, allow_none=True)
    created_at = UtcDateTime(required=True)

    def translated_reason(self, entry):
        return stored_text(entry.reason)


class LedgerPageSchema(Schema):
    entries = fields.List(fields.Nested(LedgerEntrySchema), required=True)
    next_cursor = fields.String(
        required=True, allow_none=True, metadata={"description": "Pass as cursor for the next page; null at the end."}
    )


# -- tokens -----------------------------------------------------------------------------------


class TokenCreateSchema(Schema):
    user = text(
        64,
        minimum=1,
        required=True,
        metadata={"description": "Whom the token acts as: you (your user name or mobile) or a service account."},
    )
    name = text(80, minimum=1, required=True)
    role = fields.String(validate=validate.OneOf(ROLES), load_default=None)
    organization_id = row_id(required=True)
    days = whole_number(1, 3660, load_default=None)


class TokenSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    prefix = fields.String(required=True, metadata={"description": "The first characters, to recognise it."})
    user_id = fields.Integer(required=True)
    role = fields.String(required=True, allow_none=True)
    organization_id = fields.Integer(required=True, allow_none=True)
    created_at = UtcDateTime(required=True)
    expires_at = UtcDateTime(required=True)
    revoked_at = UtcDateTime(required=True, allow_none=True)
    last_used_at = UtcDateTime(required=True, allow_none=True)


class IssuedTokenSchema(TokenSchema):
    token = fields.String(required=True, metadata={"description": "The token itself: shown only this once."})


class TokenListSchema(Schema):
    tokens = fields.List(fields.Nested(TokenSchema), required=True)


class TokenListQuerySchema(Schema):
    include_revoked = fields.Boolean(load_default=False)


# -- the counter view of a member ----------------------------------------------------------


def _counter_id(*, in_text=False):
    return row_id(
        in_text=in_text,
        metadata={"description": "The counter's organization; by default the token's or your only counter."},
    )


class CounterQuerySchema(Schema):
    counter_id = _counter_id(in_text=True)


class StarLevelSchema(Schema):
    stars = fields.Integer(required=True)
    hours = fields.Integer(required=True, metadata={"description": "Lifetime verified hours."})
    next_stars = fields.Integer(required=True, allow_none=True)
    next_threshold_hours = fields.Integer(required=True, allow_none=True)


class PerkSchema(perk_schemas.PerkSchema):
    """The perks domain's perk, with its times in UTC with an offset (as every time in the API)."""

    valid_from = UtcDateTime(allow_none=True)
    valid_until = UtcDateTime(allow_none=True)


class PerkOptionSchema(perk_schemas.PerkOptionSchema):
    perk = fields.Nested(PerkSchema)


class MemberSchema(Schema):
    member_no = fields.String(required=True)
    masked_name = fields.String(required=True)
    balance = fields.Integer(required=True, metadata={"description": "Points that can be spent now."})
    level = fields.Nested(StarLevelSchema, required=True)
    eligible_perks = fields.List(fields.Nested(PerkOptionSchema), required=True, attribute="eligible")
    other_perks = fields.List(
        fields.Nested(PerkOptionSchema),
        required=True,
        attribute="ineligible",
        metadata={"description": "Perks honored here that the member cannot redeem now, with the reasons."},
    )


# -- perks and redemptions ---------------------------------------------------------------------


class PerkQuerySchema(Schema):
    organization_id = row_id(
        in_text=True,
        metadata={"description": "Only perks owned inside this organization's subtree."},
    )
    active = fields.Boolean(load_default=True, metadata={"description": "false lists withdrawn perks."})


class PerkListSchema(Schema):
    perks = fields.List(fields.Nested(PerkSchema), required=True)


class RedeemSchema(Schema):
    member_no = text(
        64,
        minimum=1,
        required=True,
        metadata={
            "description": "The scanned or typed member number: the 12 printed digits, or the 18 digits of the "
            "phone's QR code (member number and rotating code together)."
        },
    )
    member_code = text(
        16,
        metadata={
            "description": "The six-digit rotating code shown on the volunteer's phone, or their PIN (4 to 6 "
            "digits). Needed unless `member_no` is the phone's 18-digit scan: the printed number alone cannot "
            "spend points."
        },
    )
    perk_id = row_id(required=True)
    quantity = whole_number(1, MAX_QUANTITY, load_default=1)
    counter_id = _counter_id()


class CounterBodySchema(Schema):
    counter_id = _counter_id()


class VoidSchema(Schema):
    reason = reason_text(required=True)


class RedemptionResultSchema(perk_schemas.RedemptionSchema):
    """A redemption with the member's masked name and the balance its last change left."""

    voucher_expires_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    fulfilled_at = UtcDateTime(allow_none=True)
    voided_at = UtcDateTime(allow_none=True)
    expired_at = UtcDateTime(allow_none=True)

    masked_name = fields.Function(lambda redemption: mask_name(redemption.volunteer.user.name), required=True)
    balance_after = fields.Method("_balance_after", required=True)

    def _balance_after(self, redemption):
        entry = redemption.return_entry or redemption.redeem_entry
        return entry.balance_after if entry is not None else None


# -- service records, activities, imports ----------------------------------------------------


class ServiceRecordCreateSchema(Schema):
    member_no = text(64, minimum=1, required=True)
    organization_id = row_id(
        metadata={"description": "Whose service it was; by default the token's or your only organization."},
    )
    category = fields.String(required=True, validate=validate.Regexp(CATEGORY_PATTERN))
    started_at = UtcDateTime(required=True, metadata={"description": "With a UTC offset, e.g. +08:00."})
    ended_at = UtcDateTime(required=True)
    urgent = JsonBoolean(load_default=False)
    note = text(255, load_default=None, allow_none=True)


class ServiceRecordSchema(Schema):
    id = fields.Integer(required=True)
    member_no = fields.String(required=True, attribute="volunteer.member_no")
    masked_name = fields.Function(lambda record: mask_name(record.volunteer.user.name), required=True)
    organization_id = fields.Integer(required=True)
    activity_id = fields.Integer(required=True, allow_none=True)
    category = fields.String(required=True)
    started_at = UtcDateTime(required=True)
    ended_at = UtcDateTime(required=True)
    minutes = fields.Integer(required=True)
    urgent = fields.Boolean(required=True)
    source = fields.String(required=True)
    status = fields.String(required=True)
    verified_minutes = fields.Integer(required=True, allow_none=True)
    points = fields.Integer(required=True, allow_none=True, metadata={"description": "Points the record holds."})
    rejection_reason = fields.String(required=True, allow_none=True)
    approved_at = UtcDateTime(required=True, allow_none=True)
    rejected_at = UtcDateTime(required=True, allow_none=True)


class RejectSchema(Schema):
    reason = reason_text(required=True, metadata={"description": "The volunteer sees it."})


class RejectionSchema(Schema):
    record_id = row_id(required=True)
    reason = reason_text(required=True, metadata={"description": "The volunteer sees it."})


class ApproveAllSchema(Schema):
    only = fields.List(
        row_id(),
        load_default=None,
        validate=validate.Length(max=10000),
        metadata={"description": "The record ids the approver saw; records that arrived later stay pending."},
    )
    exclude = fields.List(
        row_id(),
        load_default=list,
        validate=validate.Length(max=10000),
        metadata={"description": "Record ids left pending."},
    )
    reject = fields.List(
        fields.Nested(RejectionSchema),
        load_default=list,
        validate=validate.Length(max=10000),
        metadata={"description": "Records rejected, each with the reason the volunteer will see; one entry a record."},
    )

    @validates_schema(skip_on_field_errors=True)
    def _one_reason_per_record(self, data, **kwargs):
        record_ids = [rejection["record_id"] for rejection in data.get("reject", [])]
        if len(set(record_ids)) != len(record_ids):
            raise ValidationError(N_("Each record can be rejected once, with one reason."), field_name="reject")


class NotApprovedSchema(Schema):
    id = fields.Integer(required=True, attribute="record.id")
    code = fields.String(required=True, attribute="error.code")
    message = fields.String(required=True)


class DecisionsSchema(Schema):
    approved = fields.Pluck(ServiceRecordSchema, "id", many=True, required=True)
    rejected = fields.Pluck(ServiceRecordSchema, "id", many=True, required=True)
    excluded = fields.Pluck(ServiceRecordSchema, "id", many=True, required=True)
    skipped = fields.Pluck(
        ServiceRecordSchema,
        "id",
        many=True,
        required=True,
        metadata={"description": "Records you may not approve (you entered them, or did the service)."},
    )
    not_pending = fields.Pluck(ServiceRecordSchema, "id", many=True, required=True)
    not_approved = fields.List(
        fields.Nested(NotApprovedSchema),
        required=True,
        metadata={
            "description": "Records the rule table cannot rate (no rate for their category, no table on their"
            " date): they stay pending; the message says what to do."
        },
    )


class ImportSchema(Schema):
    file = Upload(
        required=True,
        metadata={"description": "The .xlsx or .csv file (see the import template); any other file is a 415."},
    )
    organization_id = row_id(
        in_text=True,
        metadata={"description": "Whose records these are; by default the token's or your only organization."},
    )


class ImportResultSchema(Schema):
    batch_id = fields.Integer(required=True, attribute="batch.id")
    organization_id = fields.Integer(required=True, attribute="batch.organization_id")
    rows = fields.Integer(required=True, attribute="batch.row_count")
    created = fields.Integer(required=True, metadata={"description": "Records created by this upload."})
    replayed = fields.Boolean(required=True, metadata={"description": "The same file was imported before."})


# -- honor rolls (public) -------------------------------------------------------------------


class HonorRollSummarySchema(honor_schemas.HonorRollSummarySchema):
    published_at = UtcDateTime(required=True)


class HonorRollSchema(honor_schemas.HonorRollSchema):
    published_at = UtcDateTime(required=True)


class HonorRollQuerySchema(PageQuerySchema):
    organization_id = row_id(
        in_text=True,
        metadata={"description": "Only rolls of this organization's subtree."},
    )


class HonorRollPageSchema(Schema):
    honor_rolls = fields.List(fields.Nested(HonorRollSummarySchema), required=True)
    next_cursor = fields.String(
        required=True, allow_none=True, metadata={"description": "Pass as cursor for the next page; null at the end."}
    )
