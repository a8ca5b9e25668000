"""What changes between two rule tables, field by field, and the words for it.

``diff_configs`` is a pure function over two clean configs (see ``schemas``): it compares
them as a list of *fields* a person thinks in, not as raw JSON keys. A rate is one field
("10 points per hour"), so a reader sees "Rate for Elderly care: 10 → 12 points per hour"
rather than two lines about ``points`` and ``per_minutes``; a rounding rule, the expiry
policy, the milestones and the star levels are one field each. A field a table does not
have is ``None`` on that side (a category gains or loses its rate).

Invariants (property-tested): the diff of a config with itself is empty; a field is
listed exactly when its value differs; the fields come in the order of the tables on
the rule set's page.

``field_label`` and ``value_words`` give the words, in the current language, for a
field (also for the path of a validation error, such as ``rates.patrol.points``) and
for one of its values.
"""

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext

from ..i18n import list_text
from .engine import format_percent

MULTIPLIER_FIELDS = ("weekend_percent", "holiday_percent", "night_percent", "urgent_percent")
CAP_FIELDS = ("per_record", "per_day", "per_month")


@dataclass(frozen=True)
class FieldChange:
    path: str  # "rates.elderly_care.rate", "caps.per_day", "expiry" ...
    before: object  # None: the earlier table has no such field
    after: object


def _rate_fields(prefix, rate):
    if rate is None:
        return {}
    return {
        f"{prefix}.rate": (rate["points"], rate["per_minutes"]),
        f"{prefix}.minimum_minutes": rate.get("minimum_minutes", 0),
        f"{prefix}.rounding": _frozen(rate.get("rounding") or {"mode": "down", "step_minutes": 1}),
    }


def _frozen(value):
    """A hashable, comparable copy of a JSON value (dicts as sorted pairs, lists as tuples)."""
    if isinstance(value, dict):
        return tuple(sorted((key, _frozen(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_frozen(item) for item in value)
    return value


def config_fields(config) -> dict:
    """{field path: value} of a clean config, in the order of the rule set's page."""
    fields = {}
    for code in sorted(config.get("rates") or {}):
        fields.update(_rate_fields(f"rates.{code}", config["rates"][code]))
    fields.update(_rate_fields("default_rate", config.get("default_rate")))
    multipliers = config.get("multipliers") or {}
    for name in (*MULTIPLIER_FIELDS, "night_start", "night_end"):
        fields[f"multipliers.{name}"] = multipliers.get(name)
    fields["multipliers.stacking"] = multipliers.get("stacking", "max")
    caps = config.get("caps") or {}
    for name in CAP_FIELDS:
        fields[f"caps.{name}"] = caps.get(name)
    bonuses = config.get("bonuses") or {}
    fields["bonuses.first_service"] = bonuses.get("first_service", 0)
    fields["bonuses.milestones"] = tuple(
        (milestone["hours"], milestone["points"])
        for milestone in sorted(bonuses.get("milestones") or [], key=lambda milestone: milestone["hours"])
    )
    fields["expiry"] = _frozen(config.get("expiry") or {"policy": "never"})
    fields["star_thresholds_hours"] = tuple(config.get("star_thresholds_hours") or ())
    return fields


def diff_configs(before, after) -> list[FieldChange]:
    """The fields whose value differs between two clean configs (``before`` may be None:
    everything in ``after`` is new), in page order."""
    old = config_fields(before) if before is not None else {}
    new = config_fields(after)
    order = list(new) + [path for path in old if path not in new]
    return [FieldChange(path, old.get(path), new.get(path)) for path in order if old.get(path) != new.get(path)]


# -- words ---------------------------------------------------------------------------


def rounding_words(rounding):
    """A rounding rule in words: "rounded down to a multiple of 30 minutes"."""
    if rounding["mode"] == "table":
        rows = list_text(
            _("up to %(up_to)s min counts %(credit)s min", up_to=row["up_to_minutes"], credit=row["credit_minutes"])
            for row in rounding["table"]
        )
        return _("by the rounding table: %(rows)s", rows=rows)
    if rounding["step_minutes"] == 1:
        return _("whole minutes")
    words = {
        "down": _("rounded down to a multiple of %(step)s minutes"),
        "nearest": _("rounded to the nearest multiple of %(step)s minutes"),
        "up": _("rounded up to a multiple of %(step)s minutes"),
    }
    return words[rounding["mode"]] % {"step": rounding["step_minutes"]}


def rate_words(points, per_minutes):
    if per_minutes == 60:
        return ngettext("%(num)s point per hour", "%(num)s points per hour", points)
    return ngettext(
        "%(num)s point per %(minutes)s minutes", "%(num)s points per %(minutes)s minutes", points, minutes=per_minutes
    )


def _thaw(value):
    if isinstance(value, tuple) and all(isinstance(item, tuple) and len(item) == 2 for item in value):
        return {key: _thaw(item) for key, item in value}
    if isinstance(value, tuple):
        return [_thaw(item) for item in value]
    return value


def expiry_words(expiry):
    if expiry["policy"] == "months":
        return ngettext("%(num)s month after the service", "%(num)s months after the service", expiry["months"])
    if expiry["policy"] == "end_of_next_year":
        return _("at the end of the year after the service")
    return _("never")


def value_words(path, value) -> str:
    """One field's value in words, in the current language ("—" when absent)."""
    leaf = path.rsplit(".", 1)[-1]
    if value is None:
        if path.startswith("caps."):
            return _("no limit")
        if path.startswith("multipliers."):
            return _("none")
        if leaf == "rate":
            return _("no rate")
        return "—"
    if leaf == "rate":
        return rate_words(*value)
    if leaf == "minimum_minutes":
        return ngettext("%(num)s minute", "%(num)s minutes", value)
    if leaf == "rounding":
        return rounding_words(_thaw(value))
    if leaf in MULTIPLIER_FIELDS:
        return "×" + format_percent(value)
    if leaf == "stacking":
        return _("the highest applies") if value == "max" else _("multiplied together")
    if path.startswith("caps.") or leaf == "first_service":
        return ngettext("%(num)s point", "%(num)s points", value)
    if leaf == "milestones":
        if not value:
            return _("none")
        return list_text(_("%(hours)s h: +%(points)s", hours=hours, points=points) for hours, points in value)
    if leaf == "expiry":
        return expiry_words(_thaw(value))
    if leaf == "star_thresholds_hours":
        return list_text(_("%(stars)s★ %(hours)s h", stars=stars, hours=hours) for stars, hours in enumerate(value, 1))
    return str(value)


_RATE_PARTS = {
    "rate": "rate",
    "points": "rate",
    "per_minutes": "rate",
    "minimum_minutes": "minimum_minutes",
    "rounding": "rounding",
}


def field_label(path, category_names=None) -> str:
    """The name of a field in the current language, for a diff field or for the path of a
    validation error (``rates.patrol.rounding.step_minutes``, ``star_thresholds_hours.2``)."""
    names = category_names or {}
    parts = path.split(".")
    head = parts[0]
    if head == "rates" and len(parts) >= 2:
        subject = names.get(parts[1], parts[1])
        part = _RATE_PARTS.get(parts[2], "rate") if len(parts) > 2 else "rate"
        return {
            "rate": _("Rate for %(category)s", category=subject),
            "minimum_minutes": _("Minimum minutes for %(category)s", category=subject),
            "rounding": _("Rounding for %(category)s", category=subject),
        }[part]
    if head == "rates":
        return _("Rates per category")
    if head == "default_rate":
        part = _RATE_PARTS.get(parts[1], "rate") if len(parts) > 1 else "rate"
        return {
            "rate": _("Default rate"),
            "minimum_minutes": _("Default rate: minimum minutes"),
            "rounding": _("Default rate: rounding"),
        }[part]
    labels = {
        "multipliers.weekend_percent": _("Weekend multiplier"),
        "multipliers.holiday_percent": _("Public holiday multiplier"),
        "multipliers.night_percent": _("Night multiplier"),
        "multipliers.urgent_percent": _("Urgent activity multiplier"),
        "multipliers.night_start": _("Night starts at"),
        "multipliers.night_end": _("Night ends at"),
        "multipliers.stacking": _("When several multipliers apply"),
        "caps.per_record": _("Limit per record"),
        "caps.per_day": _("Limit per day"),
        "caps.per_month": _("Limit per month"),
        "bonuses.first_service": _("Bonus for a first service"),
        "bonuses.milestones": _("Milestone bonuses"),
        "expiry": _("Points expire"),
        "star_thresholds_hours": _("Star levels (hours)"),
        "name": _("Name"),
        "effective_from": _("Effective from"),
    }
    for length in range(len(parts), 0, -1):
        label = labels.get(".".join(parts[:length]))
        if label is not None:
            return label
    section = {
        "multipliers": _("Multipliers"),
        "caps": _("Limits"),
        "bonuses": _("Bonuses"),
        "config": _("Rule table"),
    }
    return section.get(head, path)


def describe_changes(changes, category_names=None) -> list[dict]:
    """The diff as lines for people: {"path", "field", "before", "after"}, all text."""
    return [
        {
            "path": change.path,
            "field": field_label(change.path, category_names),
            "before": value_words(change.path, change.before),
            "after": value_words(change.path, change.after),
        }
        for change in changes
    ]
