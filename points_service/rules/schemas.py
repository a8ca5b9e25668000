"""The rule-table document, validated field by field, and the dump schemas of the domain.

A rule set's ``config`` is JSON like this (integers only: percents, minutes, points)::

    {
      "rates": {"elderly_care": {"points": 10, "per_minutes": 60, "minimum_minutes": 15,
                                 "rounding": {"mode": "down", "step_minutes": 30}}},
      "default_rate": {"points": 10, "per_minutes": 60},
      "multipliers": {"weekend_percent": 120, "holiday_percent": 150, "urgent_percent": 150,
                      "night_percent": 120, "night_start": "22:00", "night_end": "06:00",
                      "stacking": "max"},
      "caps": {"per_record": 100, "per_day": 150, "per_month": 1000},
      "bonuses": {"first_service": 20, "milestones": [{"hours": 100, "points": 50}]},
      "expiry": {"policy": "end_of_next_year"},
      "star_thresholds_hours": [100, 300, 600, 1000, 1500]
    }

Rounding is ``down``/``nearest``/``up`` to ``step_minutes``, or a ``table`` of rows
``{"up_to_minutes": 15, "credit_minutes": 0}`` applied within each period (the last
row's ``up_to_minutes``). ``default_rate`` (optional, a rate like those in ``rates``)
rates the categories the table has no rate for, such as a category added after the
table was published; without it their records cannot be approved until a new version
of the table rates them. Every refusal is a translated message naming its field.
"""

import json

from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, fields, post_load, pre_load, validates_schema
from marshmallow import ValidationError as SchemaError
from marshmallow.validate import Length, OneOf, Range, Regexp

from .engine import NATIONAL_STAR_THRESHOLDS_HOURS
from .errors import InvalidRuleSet

ROUNDING_MODES = ("down", "nearest", "up", "table")
STACKING_POLICIES = ("max", "product")
EXPIRY_POLICIES = ("never", "months", "end_of_next_year")
CATEGORY_CODE_PATTERN = r"^[a-z][a-z0-9_]{1,39}\Z"
MAX_DAY_MINUTES = 24 * 60

FIELD_MESSAGES = {
    "required": _l("This field is required."),
    "null": _l("This field cannot be empty."),
}
INTEGER_MESSAGES = {
    **FIELD_MESSAGES,
    "invalid": _l("Enter a whole number."),
    "too_large": _l("The number is too large."),
}
TEXT_MESSAGES = {**FIELD_MESSAGES, "invalid": _l("Enter text.")}
LIST_MESSAGES = {**FIELD_MESSAGES, "invalid": _l("Enter a list.")}
MAPPING_MESSAGES = {**FIELD_MESSAGES, "invalid": _l("Enter an object with named fields.")}
NESTED_MESSAGES = {**FIELD_MESSAGES, "type": _l("Enter an object with named fields.")}


def _whole(minimum, maximum, **kwargs):
    return fields.Integer(
        strict=True,
        validate=Range(min=minimum, max=maximum, error=_l("Enter a whole number from {min} to {max}.")),
        error_messages=INTEGER_MESSAGES,
        **kwargs,
    )


def _optional_whole(minimum, maximum):
    return _whole(minimum, maximum, allow_none=True, load_default=None)


def _choice(choices, **kwargs):
    return fields.String(
        validate=OneOf(choices, error=_l("Choose one of: {choices}.")), error_messages=TEXT_MESSAGES, **kwargs
    )


def _clock():
    return fields.String(
        allow_none=True,
        load_default=None,
        validate=Regexp(r"^([01]\d|2[0-3]):[0-5]\d\Z", error=_l("Enter a time of day as HH:MM, for example 22:00.")),
        error_messages=TEXT_MESSAGES,
    )


def _nested(schema, **kwargs):
    return fields.Nested(schema, error_messages=NESTED_MESSAGES, **kwargs)


def _list(item, **kwargs):
    return fields.List(item, error_messages=LIST_MESSAGES, **kwargs)


class _Strict(Schema):
    """Unknown fields are refused, in words a person understands."""

    class Meta:
        unknown = RAISE

    error_messages = {
        "unknown": _l("This field is not known here."),
        "type": _l("Enter an object with named fields."),
    }


class RoundingRowSchema(_Strict):
    up_to_minutes = _whole(1, MAX_DAY_MINUTES, required=True)
    credit_minutes = _whole(0, MAX_DAY_MINUTES, required=True)


class RoundingSchema(_Strict):
    mode = _choice(ROUNDING_MODES, required=True)
    step_minutes = _optional_whole(1, MAX_DAY_MINUTES)
    table = _list(_nested(RoundingRowSchema), allow_none=True, load_default=None)

    @validates_schema
    def check_mode_fields(self, data, **kwargs):
        if data.get("mode") == "table":
            table = data.get("table")
            if not table:
                raise SchemaError(_l("A rounding table needs at least one row."), field_name="table")
            if data.get("step_minutes") is not None:
                raise SchemaError(_l("A rounding table has no step; remove this field."), field_name="step_minutes")
            for before, row in zip(table, table[1:], strict=False):
                if row["up_to_minutes"] <= before["up_to_minutes"]:
                    raise SchemaError(
                        _l("The rows must go up: each 'up to' must be larger than the one before."),
                        field_name="table",
                    )
                if row["credit_minutes"] < before["credit_minutes"]:
                    raise SchemaError(
                        _l("The rows must not credit fewer minutes than the row before."), field_name="table"
                    )
        elif data.get("mode") is not None:
            if data.get("step_minutes") is None:
                raise SchemaError(_l("Give the rounding step in minutes."), field_name="step_minutes")
            if data.get("table") is not None:
                raise SchemaError(_l("Only the rounding mode 'table' takes a table."), field_name="table")

    @post_load
    def keep_only_used_fields(self, data, **kwargs):
        if data["mode"] == "table":
            return {"mode": "table", "table": data["table"]}
        return {"mode": data["mode"], "step_minutes": data["step_minutes"]}


class RateSchema(_Strict):
    points = _whole(0, 10_000, required=True)
    per_minutes = _whole(1, MAX_DAY_MINUTES, required=True)
    minimum_minutes = _whole(0, MAX_DAY_MINUTES, load_default=0)
    rounding = _nested(RoundingSchema, load_default=None)

    @post_load
    def default_rounding(self, data, **kwargs):
        if data.get("rounding") is None:
            data["rounding"] = {"mode": "down", "step_minutes": 1}
        return data


class MultipliersSchema(_Strict):
    weekend_percent = _optional_whole(100, 1000)
    holiday_percent = _optional_whole(100, 1000)
    urgent_percent = _optional_whole(100, 1000)
    night_percent = _optional_whole(100, 1000)
    night_start = _clock()
    night_end = _clock()
    stacking = _choice(STACKING_POLICIES, load_default="max")

    @validates_schema
    def check_night_window(self, data, **kwargs):
        if data.get("night_percent") is None:
            return
        for name in ("night_start", "night_end"):
            if data.get(name) is None:
                raise SchemaError(_l("A night multiplier needs the start and end of the night."), field_name=name)
        if data["night_start"] == data["night_end"]:
            raise SchemaError(_l("The night must end at another time than it starts."), field_name="night_end")


class CapsSchema(_Strict):
    per_record = _optional_whole(1, 1_000_000)
    per_day = _optional_whole(1, 1_000_000)
    per_month = _optional_whole(1, 10_000_000)

    @validates_schema
    def check_order(self, data, **kwargs):
        # A longer period's limit below a shorter one's would silently lower the shorter one.
        per_record, per_day, per_month = data.get("per_record"), data.get("per_day"), data.get("per_month")
        if per_day is not None and per_record is not None and per_day < per_record:
            raise SchemaError(_l("The limit per day cannot be lower than the limit per record."), field_name="per_day")
        smaller = per_day if per_day is not None else per_record
        if per_month is not None and smaller is not None and per_month < smaller:
            raise SchemaError(
                _l("The limit per month cannot be lower than the limit per day or per record."),
                field_name="per_month",
            )


class MilestoneSchema(_Strict):
    hours = _whole(1, 100_000, required=True)
    points = _whole(1, 100_000, required=True)


class BonusesSchema(_Strict):
    first_service = _whole(0, 100_000, load_default=0)
    milestones = _list(_nested(MilestoneSchema), load_default=list)

    @validates_schema
    def check_milestones(self, data, **kwargs):
        hours = [milestone["hours"] for milestone in data.get("milestones") or []]
        if len(set(hours)) != len(hours):
            raise SchemaError(_l("Each milestone needs different hours."), field_name="milestones")

    @post_load
    def sort_milestones(self, data, **kwargs):
        data["milestones"] = sorted(data["milestones"], key=lambda milestone: milestone["hours"])
        return data


class ExpirySchema(_Strict):
    policy = _choice(EXPIRY_POLICIES, required=True)
    months = _optional_whole(1, 120)

    @validates_schema
    def check_months(self, data, **kwargs):
        if data.get("policy") == "months" and data.get("months") is None:
            raise SchemaError(_l("Give the number of months after which points expire."), field_name="months")
        if data.get("policy") in ("never", "end_of_next_year") and data.get("months") is not None:
            raise SchemaError(_l("Only the expiry policy 'months' takes a number of months."), field_name="months")

    @post_load
    def keep_only_used_fields(self, data, **kwargs):
        return {"policy": data["policy"], **({"months": data["months"]} if data["policy"] == "months" else {})}


class RuleSetConfigSchema(_Strict):
    rates = fields.Dict(
        keys=fields.String(
            validate=Regexp(
                CATEGORY_CODE_PATTERN,
                error=_l("A category code is 2 to 40 lower-case letters, digits or _, starting with a letter."),
            ),
            error_messages=TEXT_MESSAGES,
        ),
        values=_nested(RateSchema),
        required=True,
        validate=Length(min=1, error=_l("Give a rate for at least one category.")),
        error_messages=MAPPING_MESSAGES,
    )
    default_rate = _nested(RateSchema, allow_none=True, load_default=None)
    multipliers = _nested(MultipliersSchema)
    caps = _nested(CapsSchema)
    bonuses = _nested(BonusesSchema)
    expiry = _nested(ExpirySchema)
    star_thresholds_hours = _list(
        _whole(1, 100_000),
        load_default=lambda: list(NATIONAL_STAR_THRESHOLDS_HOURS),
        validate=Length(min=1, max=5, error=_l("Give 1 to 5 star thresholds.")),
    )

    @pre_load
    def fill_sections(self, data, **kwargs):
        # Absent sections load through their schema so their defaults apply.
        if isinstance(data, dict):
            data = dict(data)
            for section in ("multipliers", "caps", "bonuses"):
                data.setdefault(section, {})
            data.setdefault("expiry", {"policy": "never"})
        return data

    @validates_schema
    def check_star_thresholds(self, data, **kwargs):
        thresholds = data.get("star_thresholds_hours") or []
        if any(later <= earlier for earlier, later in zip(thresholds, thresholds[1:], strict=False)):
            raise SchemaError(
                _l("Each star threshold must be more hours than the one before."), field_name="star_thresholds_hours"
            )


def flatten_errors(messages, prefix=""):
    """marshmallow's nested messages as {"rates.elderly_care.points": ["..."]}."""
    flat = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "value":  # a Dict field's value: name the key, not "value"
                path = prefix
            elif key == "_schema":
                path = prefix or "config"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            for name, texts in flatten_errors(value, path).items():
                flat.setdefault(name, []).extend(texts)
    elif isinstance(messages, list | tuple):
        if all(not isinstance(item, dict | list | tuple) for item in messages):
            flat[prefix or "config"] = [str(item) for item in messages]
        else:
            for item in messages:
                for name, texts in flatten_errors(item, prefix).items():
                    flat.setdefault(name, []).extend(texts)
    else:
        flat[prefix or "config"] = [str(messages)]
    return flat


def invalid_rule_set(fields_and_messages):
    """An ``InvalidRuleSet`` naming the first problem and carrying all of them."""
    field, texts = next(iter(fields_and_messages.items()))
    return InvalidRuleSet(
        _l("The rule table is not valid: %(field)s: %(problem)s"),
        field=field,
        problem=texts[0],
        details={"field": field, "fields": fields_and_messages},
    )


def parse_config(document):
    """Validate a rule-table document (a mapping or JSON text); return the clean config."""
    if isinstance(document, str | bytes):
        try:
            document = json.loads(document)
        except ValueError as error:
            raise InvalidRuleSet(
                _l("The rule table is not valid JSON (line %(line)s): %(problem)s"),
                line=getattr(error, "lineno", "?"),
                problem=getattr(error, "msg", str(error)),
                details={"field": "config"},
            ) from None
    try:
        return RuleSetConfigSchema().load(document)
    except SchemaError as error:
        raise invalid_rule_set(flatten_errors(error.messages)) from None


# -- dump schemas --------------------------------------------------------------------


class ServiceCategorySchema(Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String()
    name_en = fields.String()
    name_zh = fields.String()
    active = fields.Boolean()


class RuleSetSchema(Schema):
    id = fields.Integer(dump_only=True)
    organization_id = fields.Integer()
    version = fields.Integer()
    name = fields.String()
    status = fields.String()
    effective_from = fields.Date(allow_none=True)
    config = fields.Dict()
    based_on_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    published_at = fields.DateTime(allow_none=True)
    retired_at = fields.DateTime(allow_none=True)


class HolidayOverrideSchema(Schema):
    id = fields.Integer(dump_only=True)
    organization_id = fields.Integer(allow_none=True)
    day = fields.Date()
    kind = fields.String()
    note = fields.String()


class StarLevelSchema(Schema):
    stars = fields.Integer()
    hours = fields.Integer()
    next_stars = fields.Integer(allow_none=True)
    next_threshold_hours = fields.Integer(allow_none=True)


class AwardSchema(Schema):
    points = fields.Integer()
    minutes = fields.Integer()
    breakdown = fields.List(fields.Dict())
    rule_set_id = fields.Integer()
    rule_set_version = fields.Integer()
    expires_at = fields.DateTime(allow_none=True)
