"""The field diff of two rule tables (a pure function) and its words."""

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from points_service.rules.diff import FieldChange, config_fields, describe_changes, diff_configs, field_label
from points_service.rules.schemas import parse_config
from tests.builders.rules import CITY_RULES, PLAIN_RULES, rules_config

CITY = parse_config(rules_config(CITY_RULES))


def test_a_table_compared_with_itself_has_no_changes():
    assert diff_configs(CITY, copy.deepcopy(CITY)) == []


def test_a_changed_rate_is_one_field_with_both_values():
    changed = copy.deepcopy(CITY)
    changed["rates"]["elderly_care"]["points"] = 12
    assert diff_configs(CITY, changed) == [FieldChange("rates.elderly_care.rate", (10, 60), (12, 60))]


def test_a_category_that_gains_a_rate_is_listed_with_nothing_before():
    fewer = copy.deepcopy(CITY)
    del fewer["rates"]["patrol"]
    paths = [change.path for change in diff_configs(fewer, CITY)]
    assert paths == ["rates.patrol.rate", "rates.patrol.minimum_minutes", "rates.patrol.rounding"]
    assert all(change.before is None for change in diff_configs(fewer, CITY))


def test_without_an_earlier_table_everything_is_new():
    changes = diff_configs(None, CITY)
    assert {change.path for change in changes} == {
        path for path, value in config_fields(CITY).items() if value is not None
    }


def test_the_order_follows_the_page():
    other = parse_config(rules_config(PLAIN_RULES))
    paths = [change.path for change in diff_configs(other, CITY)]
    assert paths.index("rates.clean_up.rounding") < paths.index("multipliers.weekend_percent")
    assert paths.index("caps.per_day") < paths.index("bonuses.first_service") < paths.index("expiry")


# What an administrator can change, field by field (each a valid table).
EDITS = {
    "rates.patrol.rate": lambda config, n: config["rates"]["patrol"].update(points=n % 10_000),
    "rates.clean_up.minimum_minutes": lambda config, n: config["rates"]["clean_up"].update(minimum_minutes=n % 600),
    "rates.elderly_care.rounding": lambda config, n: config["rates"]["elderly_care"].update(
        rounding={"mode": "up", "step_minutes": 1 + n % 120}
    ),
    "multipliers.weekend_percent": lambda config, n: config["multipliers"].update(weekend_percent=100 + n % 900),
    "multipliers.stacking": lambda config, n: config["multipliers"].update(stacking=("max", "product")[n % 2]),
    "caps.per_month": lambda config, n: config["caps"].update(per_month=150 + n),
    "bonuses.first_service": lambda config, n: config["bonuses"].update(first_service=n % 1000),
    "bonuses.milestones": lambda config, n: config["bonuses"].update(milestones=[{"hours": 1 + n, "points": 5}]),
    "expiry": lambda config, n: config.update(expiry={"policy": "months", "months": 1 + n % 120}),
    "star_thresholds_hours": lambda config, n: config.update(star_thresholds_hours=[1 + n, 2 + n]),
}


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(edits=st.dictionaries(st.sampled_from(sorted(EDITS)), st.integers(0, 5000), max_size=len(EDITS)))
def test_the_diff_lists_exactly_the_fields_whose_value_changed(edits):
    changed = copy.deepcopy(CITY)
    for path, number in edits.items():
        EDITS[path](changed, number)
    changed = parse_config(changed)
    before, after = config_fields(CITY), config_fields(changed)
    listed = {change.path for change in diff_configs(CITY, changed)}
    assert listed == {path for path in edits if before[path] != after[path]}
    assert diff_configs(changed, changed) == []


def test_changes_read_as_words(app):
    changed = copy.deepcopy(CITY)
    changed["rates"]["elderly_care"]["points"] = 12
    changed["caps"]["per_day"] = None
    changed["multipliers"]["weekend_percent"] = 200
    with app.test_request_context():
        lines = describe_changes(diff_configs(CITY, changed), {"elderly_care": "Elderly care"})
    assert [(line["field"], line["before"], line["after"]) for line in lines] == [
        ("Rate for Elderly care", "10 points per hour", "12 points per hour"),
        ("Weekend multiplier", "×1.2", "×2"),
        ("Limit per day", "150 points", "no limit"),
    ]


def test_changes_read_as_chinese_words(app):
    changed = copy.deepcopy(CITY)
    changed["rates"]["elderly_care"]["points"] = 12
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        (line,) = describe_changes(diff_configs(CITY, changed), {"elderly_care": "助老服务"})
    assert "助老服务" in line["field"] and "12" in line["after"] and "points" not in line["after"]


@pytest.mark.parametrize(
    ("path", "label"),
    [
        ("rates.patrol.points", "Rate for Patrol"),
        ("rates.patrol.rounding.step_minutes", "Rounding for Patrol"),
        ("default_rate.per_minutes", "Default rate"),
        ("star_thresholds_hours.2", "Star levels (hours)"),
        ("bonuses.milestones.0.hours", "Milestone bonuses"),
        ("caps.per_day", "Limit per day"),
    ],
)
def test_an_error_path_is_named_as_a_person_reads_it(app, path, label):
    with app.test_request_context():
        assert field_label(path, {"patrol": "Patrol"}) == label
