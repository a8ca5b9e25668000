"""Worked examples of the pure rules engine: each step of an award."""

from dataclasses import replace
from datetime import date, datetime, timedelta
from fractions import Fraction

import pytest

from points_service.rules.engine import (
    NO_HISTORY,
    ServiceFacts,
    VolunteerHistory,
    category_rate,
    credit_minutes,
    format_factor,
    local_days,
    lot_expiry,
    night_minutes,
    rate,
    service_points_by_day,
    split_at_local_midnight,
    stars_for_hours,
)

STEP_TABLE = {
    "mode": "table",
    "table": [
        {"up_to_minutes": 15, "credit_minutes": 0},
        {"up_to_minutes": 45, "credit_minutes": 30},
        {"up_to_minutes": 60, "credit_minutes": 60},
    ],
}
STEP_TABLE_RATE = {"points": 10, "per_minutes": 60, "minimum_minutes": 0, "rounding": STEP_TABLE}


def config(**sections):
    base = {
        "rates": {"patrol": {"points": 10, "per_minutes": 60, "minimum_minutes": 0, "rounding": STEP_TABLE}},
        "multipliers": {
            "weekend_percent": 120,
            "holiday_percent": 150,
            "urgent_percent": 150,
            "night_percent": None,
            "night_start": None,
            "night_end": None,
            "stacking": "max",
        },
        "caps": {"per_record": None, "per_day": None, "per_month": None},
        "bonuses": {"first_service": 0, "milestones": []},
        "expiry": {"policy": "never"},
        "default_rate": None,
    }
    for name, value in sections.items():
        base[name] = {**base[name], **value} if isinstance(base[name], dict) and value is not None else value
    return base


def record(local_start, minutes, *, urgent=False, day_kind="workday", later_day_kinds=None, history=NO_HISTORY):
    """A record starting at a Shanghai wall-clock time (UTC+8); a day it reaches after
    midnight is of the same kind as the first unless ``later_day_kinds`` says otherwise."""
    start = local_start - timedelta(hours=8)
    end = start + timedelta(minutes=minutes)
    later = {day: day_kind for day in local_days(start, end, "Asia/Shanghai")[1:]}
    return ServiceFacts(
        category="patrol",
        started_at=start,
        ended_at=end,
        timezone="Asia/Shanghai",
        urgent=urgent,
        day_kind=day_kind,
        history=history,
        later_day_kinds={**later, **(later_day_kinds or {})},
    )


MONDAY_9AM = datetime(2026, 3, 9, 9, 0)


def steps(rating, kind):
    return [step for step in rating.breakdown if step["step"] == kind]


@pytest.mark.parametrize(
    ("minutes", "credited"),
    [(0, 0), (10, 0), (15, 0), (16, 30), (45, 30), (46, 60), (60, 60), (75, 60), (76, 90), (106, 120)],
)
def test_step_table_rounds_within_each_hour(minutes, credited):
    assert credit_minutes(minutes, STEP_TABLE) == credited


@pytest.mark.parametrize(
    ("mode", "minutes", "credited"),
    [
        ("down", 59, 30),
        ("down", 60, 60),
        ("nearest", 14, 0),
        ("nearest", 15, 30),
        ("nearest", 44, 30),
        ("nearest", 45, 60),
        ("up", 1, 30),
        ("up", 30, 30),
        ("up", 31, 60),
    ],
)
def test_step_rounding_modes(mode, minutes, credited):
    assert credit_minutes(minutes, {"mode": mode, "step_minutes": 30}) == credited


def test_base_points_are_credited_minutes_at_the_rate_rounded_down():
    rates = {"patrol": {"points": 10, "per_minutes": 60, "minimum_minutes": 0, "rounding": STEP_TABLE}}
    rating = rate(config(rates=rates), record(MONDAY_9AM, 100))
    assert rating.minutes == 90  # one hour, and 40 minutes count as 30
    assert rating.points == 15
    rates["patrol"] = {
        "points": 7,
        "per_minutes": 45,
        "minimum_minutes": 0,
        "rounding": {"mode": "down", "step_minutes": 1},
    }
    assert rate(config(rates=rates), record(MONDAY_9AM, 100)).points == 15  # 100 * 7 // 45


def test_service_below_the_minimum_earns_nothing_and_says_so():
    rates = {"patrol": {"points": 10, "per_minutes": 60, "minimum_minutes": 30, "rounding": STEP_TABLE}}
    rating = rate(config(rates=rates), record(MONDAY_9AM, 29))
    assert rating.points == 0
    assert rating.minutes == 0
    assert steps(rating, "minimum") == [{"step": "minimum", "minimum_minutes": 30, "actual_minutes": 29, "points": 0}]


def test_max_stacking_takes_the_highest_multiplier():
    rating = rate(config(), record(MONDAY_9AM, 120, urgent=True, day_kind="weekend"))
    (step,) = steps(rating, "multiplier")
    assert step["factor"] == "1.5"
    assert step["points"] == 10
    assert rating.points == 30


def test_product_stacking_multiplies_the_multipliers():
    rating = rate(config(multipliers={"stacking": "product"}), record(MONDAY_9AM, 120, urgent=True, day_kind="weekend"))
    (step,) = steps(rating, "multiplier")
    assert step["factor"] == "1.8"
    assert rating.points == 36


def test_product_of_uneven_percents_rounds_down_once():
    multipliers = {"stacking": "product", "weekend_percent": 115, "urgent_percent": 115}
    rating = rate(config(multipliers=multipliers), record(MONDAY_9AM, 60, urgent=True, day_kind="weekend"))
    assert steps(rating, "multiplier")[0]["factor"] == "1.3225"
    assert rating.points == 13  # 10 * 1.3225 = 13.225


def test_a_workday_without_urgency_has_no_multiplier():
    assert steps(rate(config(), record(MONDAY_9AM, 120)), "multiplier") == []


# 2027 is a year the holiday package does not have: the service decides the day kind by
# the weekday and tells the engine, which notes it; once the calendar is entered the same
# record is rated by its real kind.
NEW_YEAR_2027_10AM = datetime(2027, 1, 1, 10, 0)  # a Friday
SPRING_FESTIVAL_2027_10AM = datetime(2027, 2, 6, 10, 0)  # a Saturday


@pytest.mark.parametrize(
    ("local_start", "day_kind", "missing", "points", "applied"),
    [
        (NEW_YEAR_2027_10AM, "workday", (2027,), 20, []),  # no data: a plain Friday
        (NEW_YEAR_2027_10AM, "holiday", (), 30, ["holiday"]),  # calendar entered
        (SPRING_FESTIVAL_2027_10AM, "weekend", (2027,), 24, ["weekend"]),  # no data: a plain Saturday
        (SPRING_FESTIVAL_2027_10AM, "holiday", (), 30, ["holiday"]),  # calendar entered
    ],
)
def test_2027_holidays_with_and_without_holiday_data(local_start, day_kind, missing, points, applied):
    facts = replace(record(local_start, 120, day_kind=day_kind), calendar_missing_years=missing)
    rating = rate(config(), facts)
    assert rating.points == points
    assert [item["kind"] for step in steps(rating, "multiplier") for item in step["applied"]] == applied
    assert steps(rating, "calendar_missing") == [{"step": "calendar_missing", "year": 2027, "points": 0}] * len(missing)


def test_night_multiplier_applies_to_the_minutes_inside_the_night_window():
    night = {"night_percent": 120, "night_start": "22:00", "night_end": "06:00"}
    rating = rate(config(multipliers=night), record(datetime(2026, 3, 9, 21, 0), 120))
    (step,) = steps(rating, "night")
    assert step["night_minutes"] == 60
    assert step["points"] == 2  # 10 points of night service x 0.2
    assert rating.points == 22


def test_night_multiplier_with_max_stacking_adds_nothing_below_a_higher_multiplier():
    night = {"night_percent": 120, "night_start": "22:00", "night_end": "06:00"}
    rating = rate(config(multipliers=night), record(datetime(2026, 3, 9, 23, 0), 120, urgent=True))
    assert steps(rating, "night")[0]["points"] == 0
    assert rating.points == 30


def test_night_minutes_cross_midnight_and_days():
    start = datetime(2026, 3, 9, 12, 0)  # 20:00 in Shanghai
    assert night_minutes(start, start + timedelta(hours=4), "Asia/Shanghai", "22:00", "06:00") == 120
    assert night_minutes(start, start + timedelta(hours=36), "Asia/Shanghai", "22:00", "06:00") == 16 * 60
    assert night_minutes(start, start + timedelta(hours=4), "Asia/Shanghai", "00:00", "05:00") == 0


@pytest.mark.parametrize(
    ("caps", "history", "points", "cap_kind"),
    [
        ({"per_record": 25}, NO_HISTORY, 25, "per_record"),
        ({"per_day": 50}, VolunteerHistory(0, 1, 40, 40), 10, "per_day"),
        ({"per_day": 50}, VolunteerHistory(0, 1, 70, 70), 0, "per_day"),
        ({"per_month": 100}, VolunteerHistory(0, 1, 0, 95), 5, "per_month"),
    ],
)
def test_caps_limit_the_points_for_service(caps, history, points, cap_kind):
    rating = rate(config(caps=caps), record(MONDAY_9AM, 300, history=history))
    assert rating.points == points
    (step,) = steps(rating, "cap")
    assert step["kind"] == cap_kind
    assert step["points"] == points - 50


def test_first_service_bonus_only_on_the_first_record_that_counts():
    bonuses = {"first_service": 20}
    assert rate(config(bonuses=bonuses), record(MONDAY_9AM, 60)).points == 30
    assert rate(config(bonuses=bonuses), record(MONDAY_9AM, 60, history=VolunteerHistory(60, 1, 0, 0))).points == 10
    assert rate(config(bonuses=bonuses), record(MONDAY_9AM, 10)).points == 0  # counts 0 minutes


def test_milestone_bonus_when_the_record_reaches_the_hours():
    bonuses = {"milestones": [{"hours": 100, "points": 50}, {"hours": 300, "points": 100}]}
    just_below = VolunteerHistory(100 * 60 - 30, 5, 0, 0)
    rating = rate(config(bonuses=bonuses), record(MONDAY_9AM, 60, history=just_below))
    assert [step["hours"] for step in steps(rating, "bonus")] == [100]
    assert rating.points == 60
    already_past = VolunteerHistory(100 * 60, 5, 0, 0)
    assert rate(config(bonuses=bonuses), record(MONDAY_9AM, 60, history=already_past)).points == 10


def test_bonuses_come_on_top_of_the_caps():
    rating = rate(
        config(caps={"per_record": 5}, bonuses={"first_service": 20}),
        record(MONDAY_9AM, 60),
    )
    assert [step["step"] for step in rating.breakdown] == ["minutes", "base", "cap", "hours_award", "bonus"]
    assert steps(rating, "hours_award") == [{"step": "hours_award", "points": 0, "subtotal": 5}]
    assert rating.points == 25


def test_the_lot_expires_counted_from_the_service_not_from_the_approval():
    # Served on Sunday 10 January 2027 at 09:00 in Shanghai; whenever it is approved,
    # the points expire six months after the service, like those of its neighbours.
    rating = rate(config(expiry={"policy": "months", "months": 6}), record(datetime(2027, 1, 10, 9, 0), 60))
    assert rating.expires_at == datetime(2027, 7, 10, 1, 0)
    yearly = rate(config(expiry={"policy": "end_of_next_year"}), record(datetime(2027, 12, 30, 9, 0), 60))
    assert yearly.expires_at == datetime(2028, 12, 31, 16, 0)  # not the end of 2029 for a January approval


def test_expiry_at_the_end_of_the_next_calendar_year_in_local_time():
    awarded = datetime(2026, 3, 5, 2, 0)
    assert lot_expiry({"policy": "end_of_next_year"}, awarded, "Asia/Shanghai") == datetime(2027, 12, 31, 16, 0)
    # 2026-12-31 20:00 UTC is already 2027 in Shanghai
    assert lot_expiry({"policy": "end_of_next_year"}, datetime(2026, 12, 31, 20, 0), "Asia/Shanghai") == datetime(
        2028, 12, 31, 16, 0
    )


def test_expiry_months_after_the_award_keeps_the_day_within_the_month():
    awarded = datetime(2026, 8, 31, 2, 0)  # 10:00 local
    assert lot_expiry({"policy": "months", "months": 6}, awarded, "Asia/Shanghai") == datetime(2027, 2, 28, 2, 0)
    assert lot_expiry({"policy": "never"}, awarded, "Asia/Shanghai") is None


def test_exact_factor_text():
    assert format_factor(Fraction(13225, 10000)) == "1.3225"
    assert format_factor(Fraction(3, 2)) == "1.5"
    assert format_factor(Fraction(2)) == "2"


@pytest.mark.parametrize(
    ("hours", "expected"),
    [(0, (0, 1, 100)), (99, (0, 1, 100)), (100, (1, 2, 300)), (999, (3, 4, 1000)), (1500, (5, None, None))],
)
def test_stars_count_the_thresholds_reached(hours, expected):
    assert stars_for_hours(hours, [100, 300, 600, 1000, 1500]) == expected


# -- service that crosses midnight -------------------------------------------------------

JAN_31, FEB_1 = date(2027, 1, 31), date(2027, 2, 1)


def test_a_record_is_split_at_local_midnight_and_the_parts_add_up_to_its_minutes():
    start = datetime(2027, 1, 31, 14, 0, 30)  # 22:00:30 in Shanghai
    parts = split_at_local_midnight(start, start + timedelta(hours=4), "Asia/Shanghai")
    assert [(part.day, part.minutes) for part in parts] == [(JAN_31, 119), (FEB_1, 121)]
    assert parts[0].ended_at == parts[1].started_at == datetime(2027, 1, 31, 16, 0)
    ending_at_midnight = split_at_local_midnight(start, datetime(2027, 1, 31, 16, 0), "Asia/Shanghai")
    assert [part.day for part in ending_at_midnight] == [JAN_31]


def test_the_overnight_breakdown_shows_each_part_with_its_own_day_and_caps():
    history = VolunteerHistory(0, 3, 0, 90)  # 90 points for hours already in January
    rating = rate(
        config(caps={"per_month": 100}),
        record(
            datetime(2027, 1, 31, 22, 0), 240, day_kind="weekend", later_day_kinds={FEB_1: "workday"}, history=history
        ),
    )
    assert rating.breakdown[1:] == [
        {
            "step": "part",
            "part": 1,
            "parts": 2,
            "day": "2027-01-31",
            "day_kind": "weekend",
            "start": "22:00",
            "end": "24:00",
            "actual_minutes": 120,
            "credited_minutes": 120,
            "points": 0,
        },
        {"step": "base", "minutes": 120, "rate_points": 10, "rate_minutes": 60, "points": 20},
        {
            "step": "multiplier",
            "applied": [{"kind": "weekend", "percent": 120}],
            "stacking": "max",
            "factor": "1.2",
            "points": 4,
        },
        {"step": "cap", "kind": "per_month", "limit": 100, "already": 90, "points": -14},
        {
            "step": "part",
            "part": 2,
            "parts": 2,
            "day": "2027-02-01",
            "day_kind": "workday",
            "start": "00:00",
            "end": "02:00",
            "actual_minutes": 120,
            "credited_minutes": 120,
            "points": 0,
        },
        {"step": "base", "minutes": 120, "rate_points": 10, "rate_minutes": 60, "points": 20},
    ]
    assert rating.points == 30
    assert rating.minutes == 240


def test_fractions_of_a_point_carry_from_one_part_to_the_next():
    # 45 minutes on each side of midnight at 10 points an hour: 7.5 + 7.5 is 15, as unsplit.
    rating = rate(
        config(
            rates={
                "patrol": {
                    "points": 10,
                    "per_minutes": 60,
                    "minimum_minutes": 0,
                    "rounding": {"mode": "down", "step_minutes": 1},
                }
            }
        ),
        record(datetime(2027, 3, 5, 23, 15), 90),
    )
    assert [step["points"] for step in steps(rating, "base")] == [7, 8]
    assert rating.points == 15


def test_a_category_without_a_rate_of_its_own_is_rated_by_the_default_rate():
    default = {"points": 6, "per_minutes": 60, "minimum_minutes": 0, "rounding": {"mode": "down", "step_minutes": 1}}
    without_patrol = {**config(default_rate=default), "rates": {"elderly_care": STEP_TABLE_RATE}}
    rating = rate(without_patrol, record(MONDAY_9AM, 120))
    assert rating.points == 12
    assert steps(rating, "default_rate") == [{"step": "default_rate", "category": "patrol", "points": 0}]
    assert category_rate(without_patrol, "patrol") == (default, True)
    assert category_rate({**without_patrol, "default_rate": None}, "patrol") is None
    assert category_rate(config(), "patrol") == (STEP_TABLE_RATE, False)


# -- dated worked examples ---------------------------------------------------------------
# One row per case: a record (Shanghai wall clock) and its minutes, the kind of each day
# it touches, the table's sections that differ from ``config()``, the volunteer's
# history; then the award, and its points for hours per local day (what the day and
# month caps of later records count: never the bonuses).

MAR_1, OCT_7, OCT_8 = date(2027, 3, 1), date(2026, 10, 7), date(2026, 10, 8)
WORKED_EXAMPLES = [
    pytest.param(
        datetime(2027, 1, 31, 22, 0),
        240,
        {JAN_31: "weekend", FEB_1: "workday"},
        {"multipliers": {"weekend_percent": 150}},
        NO_HISTORY,
        50,
        {JAN_31: 30, FEB_1: 20},
        id="2027-01-31 22:00-02:00, Sunday into Monday: each part by its own day",
    ),
    pytest.param(
        datetime(2027, 1, 31, 22, 0),
        240,
        {JAN_31: "weekend", FEB_1: "workday"},
        {"caps": {"per_month": 100}},
        VolunteerHistory(0, 3, 0, 90),
        30,
        {JAN_31: 10, FEB_1: 20},
        id="2027-01-31 22:00-02:00 across the month end: January's cap takes only January's part",
    ),
    pytest.param(
        datetime(2027, 1, 31, 22, 0),
        240,
        {JAN_31: "weekend", FEB_1: "workday"},
        {"caps": {"per_day": 25}},
        VolunteerHistory(0, 3, 0, 0, later_days={FEB_1: 20}),
        29,
        {JAN_31: 24, FEB_1: 5},
        id="2027-01-31 22:00-02:00: the Monday part counts against Monday's day cap",
    ),
    pytest.param(
        datetime(2027, 3, 5, 22, 0),
        240,
        {date(2027, 3, 5): "workday", date(2027, 3, 6): "workday"},
        {"multipliers": {"night_percent": 120, "night_start": "22:00", "night_end": "06:00"}},
        NO_HISTORY,
        48,
        {date(2027, 3, 5): 24, date(2027, 3, 6): 24},
        id="22:00-02:00 with the same kind of day on both sides: as much as unsplit",
    ),
    pytest.param(
        datetime(2026, 10, 7, 22, 0),
        240,
        {OCT_7: "holiday", OCT_8: "workday"},
        {},
        NO_HISTORY,
        50,
        {OCT_7: 30, OCT_8: 20},
        id="2026-10-07 22:00-02:00: the National Day part x1.5, the workday part plain",
    ),
    pytest.param(
        datetime(2027, 3, 1, 9, 0),
        120,
        {MAR_1: "workday"},
        {"caps": {"per_day": 25}, "bonuses": {"first_service": 20}},
        NO_HISTORY,
        40,
        {MAR_1: 20},
        id="2027-03-01 first service: the bonus comes on top and does not count toward the day cap",
    ),
    pytest.param(
        datetime(2027, 3, 1, 14, 0),
        120,
        {MAR_1: "workday"},
        {"caps": {"per_day": 25}, "bonuses": {"milestones": [{"hours": 100, "points": 50}]}},
        VolunteerHistory(100 * 60 - 60, 40, 20, 20),
        55,
        {MAR_1: 5},
        id="2027-03-01 100th hour: the day cap limits the hours award, never the milestone bonus",
    ),
]


@pytest.mark.parametrize(
    ("local_start", "minutes", "kinds", "sections", "history", "points", "by_day"), WORKED_EXAMPLES
)
def test_worked_examples(local_start, minutes, kinds, sections, history, points, by_day):
    first, *later = kinds.items()
    facts = record(local_start, minutes, day_kind=first[1], later_day_kinds=dict(later), history=history)
    rating = rate(config(**sections), facts)
    assert rating.points == points
    assert service_points_by_day(rating.breakdown, first[0]) == by_day


def test_minutes_that_rounding_leaves_out_are_the_last_ones_so_a_longer_night_never_earns_less():
    # 2027-03-05 22:00 for 3 h 53 min or 3 h 58 min, 15-minute steps rounded down, a day
    # cap of 20 points: both count 3 h 45 min. The uncounted minutes are the last ones
    # (after midnight), so the evening keeps its 2 h of credit and its 20 points.
    capped = config(
        rates={
            "patrol": {
                "points": 10,
                "per_minutes": 60,
                "minimum_minutes": 0,
                "rounding": {"mode": "down", "step_minutes": 15},
            }
        },
        caps={"per_record": None, "per_day": 20, "per_month": None},
    )
    shorter = rate(capped, record(datetime(2027, 3, 5, 22, 0), 233))
    longer = rate(capped, record(datetime(2027, 3, 5, 22, 0), 238))
    assert [step["credited_minutes"] for step in steps(longer, "part")] == [120, 105]
    assert [step["credited_minutes"] for step in steps(shorter, "part")] == [120, 105]
    assert shorter.points == longer.points == 20 + 17
