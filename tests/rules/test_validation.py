"""A bad rule table is refused with a message naming the field, and nothing is written."""

import json

import pytest

from points_service.audit.models import AuditEvent
from points_service.extensions import db
from points_service.rules import service as rules
from points_service.rules.errors import InvalidRuleSet
from points_service.rules.models import RuleSet
from points_service.rules.schemas import parse_config
from tests.builders.rules import CITY_RULES, rules_config


def patrol(**fields):
    return {"rates": {"patrol": {"points": 10, "per_minutes": 60, **fields}}}


def with_section(name, value):
    return rules_config(CITY_RULES, **{name: value})


BAD_TABLES = [
    ("negative rate", patrol(points=-5), "rates.patrol.points", "from 0 to 10000"),
    ("rate as text", patrol(points="ten"), "rates.patrol.points", "whole number"),
    ("fractional rate", patrol(points=1.5), "rates.patrol.points", "whole number"),
    ("true as rate", patrol(points=True), "rates.patrol.points", "whole number"),
    ("zero minutes per rate", patrol(per_minutes=0), "rates.patrol.per_minutes", "from 1 to 1440"),
    ("missing rate", {"rates": {"patrol": {"per_minutes": 60}}}, "rates.patrol.points", "required"),
    (
        "unknown rounding mode",
        patrol(rounding={"mode": "sideways", "step_minutes": 30}),
        "rates.patrol.rounding.mode",
        "down",
    ),
    ("rounding without step", patrol(rounding={"mode": "down"}), "rates.patrol.rounding.step_minutes", "step"),
    (
        "rounding table going down",
        patrol(
            rounding={
                "mode": "table",
                "table": [{"up_to_minutes": 45, "credit_minutes": 30}, {"up_to_minutes": 15, "credit_minutes": 0}],
            }
        ),
        "rates.patrol.rounding.table",
        "must go up",
    ),
    (
        "rounding table crediting less later",
        patrol(
            rounding={
                "mode": "table",
                "table": [{"up_to_minutes": 15, "credit_minutes": 30}, {"up_to_minutes": 60, "credit_minutes": 0}],
            }
        ),
        "rates.patrol.rounding.table",
        "fewer minutes",
    ),
    (
        "bad category code",
        {"rates": {"Patrol Duty": {"points": 1, "per_minutes": 60}}},
        "rates.Patrol Duty.key",
        "code",
    ),
    (
        "unknown category",
        {"rates": {"knitting": {"points": 1, "per_minutes": 60}}},
        "rates.knitting",
        "no service category",
    ),
    ("no rates", {"rates": {}}, "rates", "at least one category"),
    ("rates missing", {"caps": {}}, "rates", "required"),
    (
        "multiplier below 100",
        with_section("multipliers", {"weekend_percent": 90}),
        "multipliers.weekend_percent",
        "from 100",
    ),
    (
        "multiplier as a decimal",
        with_section("multipliers", {"holiday_percent": 1.5}),
        "multipliers.holiday_percent",
        "whole",
    ),
    ("night without window", with_section("multipliers", {"night_percent": 120}), "multipliers.night_start", "night"),
    (
        "night window of no length",
        with_section("multipliers", {"night_percent": 120, "night_start": "22:00", "night_end": "22:00"}),
        "multipliers.night_end",
        "another time",
    ),
    (
        "night at 25 o'clock",
        with_section("multipliers", {"night_percent": 120, "night_start": "25:00", "night_end": "06:00"}),
        "multipliers.night_start",
        "HH:MM",
    ),
    ("unknown stacking", with_section("multipliers", {"stacking": "sum"}), "multipliers.stacking", "max, product"),
    ("zero cap", with_section("caps", {"per_day": 0}), "caps.per_day", "from 1"),
    ("negative bonus", with_section("bonuses", {"first_service": -1}), "bonuses.first_service", "from 0"),
    (
        "same milestone twice",
        with_section("bonuses", {"milestones": [{"hours": 100, "points": 5}, {"hours": 100, "points": 9}]}),
        "bonuses.milestones",
        "different hours",
    ),
    ("months without a number", with_section("expiry", {"policy": "months"}), "expiry.months", "number of months"),
    ("unknown expiry", with_section("expiry", {"policy": "forever"}), "expiry.policy", "never"),
    (
        "star thresholds not rising",
        with_section("star_thresholds_hours", [100, 300, 200]),
        "star_thresholds_hours",
        "more hours",
    ),
    (
        "six star thresholds",
        with_section("star_thresholds_hours", [1, 2, 3, 4, 5, 6]),
        "star_thresholds_hours",
        "1 to 5",
    ),
    ("unknown field", {**patrol(), "bonus": {}}, "bonus", "not known"),
    ("a list instead of an object", [1, 2], "config", "object"),
    ("not JSON", '{"rates": {"patrol": ', "config", "not valid JSON"),
]


@pytest.mark.parametrize(("table", "field", "words"), [case[1:] for case in BAD_TABLES], ids=[c[0] for c in BAD_TABLES])
def test_a_bad_table_is_refused_naming_the_field_and_nothing_is_written(build, table, field, words):
    build.categories()
    with pytest.raises(InvalidRuleSet) as refused:
        rules.create_rule_set(None, build.tree()["city"], table)
    error = refused.value
    assert error.status == 422
    assert error.details["field"] == field
    assert words in error.render_message()
    assert field in error.render_message() or field == "config"
    assert RuleSet.query.count() == 0
    assert AuditEvent.query.filter_by(target_type="rule_set").count() == 0


def test_every_problem_is_reported_not_only_the_first(build):
    build.categories()
    table = {"rates": {"patrol": {"points": -1, "per_minutes": 0}}, "caps": {"per_day": "many"}}
    with pytest.raises(InvalidRuleSet) as refused:
        rules.create_rule_set(None, build.tree()["city"], table)
    assert set(refused.value.details["fields"]) == {"rates.patrol.points", "rates.patrol.per_minutes", "caps.per_day"}


def test_a_bad_edit_leaves_the_draft_as_it_was(build):
    draft = build.rule_set(publish=False)
    before = json.dumps(draft.config, sort_keys=True)
    with pytest.raises(InvalidRuleSet):
        rules.update_draft(None, draft, patrol(points=-3))
    assert json.dumps(db.session.get(RuleSet, draft.id).config, sort_keys=True) == before
    assert AuditEvent.query.filter_by(action="rules.update_draft").count() == 0


def test_defaults_fill_the_sections_left_out(app):
    config = parse_config(patrol())
    assert config["rates"]["patrol"] == {
        "points": 10,
        "per_minutes": 60,
        "minimum_minutes": 0,
        "rounding": {"mode": "down", "step_minutes": 1},
    }
    assert config["multipliers"]["stacking"] == "max"
    assert config["caps"] == {"per_record": None, "per_day": None, "per_month": None}
    assert config["bonuses"] == {"first_service": 0, "milestones": []}
    assert config["expiry"] == {"policy": "never"}
    assert config["star_thresholds_hours"] == [100, 300, 600, 1000, 1500]


def test_a_valid_table_round_trips_through_json(app):
    config = parse_config(rules_config(CITY_RULES))
    assert parse_config(json.dumps(config)) == config
