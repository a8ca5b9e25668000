"""Property tests of the pure rules engine (no database, no app)."""

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from points_service.rules.engine import (
    ServiceFacts,
    VolunteerHistory,
    first_of_month,
    local_days,
    rate,
    service_points_by_day,
    whole_minutes,
)

pytestmark = pytest.mark.slow

CATEGORY = "patrol"
PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)


@st.composite
def roundings(draw):
    mode = draw(st.sampled_from(["down", "nearest", "up", "table"]))
    if mode != "table":
        return {"mode": mode, "step_minutes": draw(st.integers(1, 120))}
    size = draw(st.integers(1, 4))
    up_to = sorted(draw(st.lists(st.integers(1, 120), min_size=size, max_size=size, unique=True)))
    credits = sorted(draw(st.lists(st.integers(0, 120), min_size=size, max_size=size)))
    return {
        "mode": "table",
        "table": [{"up_to_minutes": u, "credit_minutes": c} for u, c in zip(up_to, credits, strict=True)],
    }


percents = st.none() | st.integers(100, 300)
clocks = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@st.composite
def configs(draw, stacking=None, night=None):
    night_window = draw(st.tuples(clocks, clocks).filter(lambda pair: pair[0] != pair[1]))
    with_night = draw(st.booleans()) if night is None else night
    milestone_hours = draw(st.lists(st.integers(1, 40), max_size=3, unique=True))
    return {
        "rates": {
            CATEGORY: {
                "points": draw(st.integers(0, 60)),
                "per_minutes": draw(st.integers(1, 120)),
                "minimum_minutes": draw(st.integers(0, 60)),
                "rounding": draw(roundings()),
            }
        },
        "multipliers": {
            "weekend_percent": draw(percents),
            "holiday_percent": draw(percents),
            "urgent_percent": draw(percents),
            "night_percent": draw(st.integers(100, 300)) if with_night else None,
            "night_start": night_window[0],
            "night_end": night_window[1],
            "stacking": stacking or draw(st.sampled_from(["max", "product"])),
        },
        "caps": {
            "per_record": draw(st.none() | st.integers(1, 300)),
            "per_day": draw(st.none() | st.integers(1, 400)),
            "per_month": draw(st.none() | st.integers(1, 2000)),
        },
        "bonuses": {
            "first_service": draw(st.integers(0, 30)),
            "milestones": [{"hours": h, "points": draw(st.integers(1, 50))} for h in sorted(milestone_hours)],
        },
        "expiry": {"policy": "never"},
    }


histories = st.builds(
    VolunteerHistory,
    lifetime_minutes=st.integers(0, 3000),
    approved_records=st.integers(0, 3),
    points_same_day=st.integers(0, 500),
    points_same_month=st.integers(0, 2500),
)
starts = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31))
TIMEZONE = "Asia/Shanghai"
day_kinds = st.sampled_from(["workday", "weekend", "holiday"])


def facts(start, minutes, history, urgent=False, day_kind="workday", later_day_kinds=None):
    """A record; each day after midnight has the kind of the first unless ``later_day_kinds`` says."""
    end = start + timedelta(minutes=minutes)
    later = {day: day_kind for day in local_days(start, end, TIMEZONE)[1:]}
    return ServiceFacts(
        category=CATEGORY,
        started_at=start,
        ended_at=end,
        timezone=TIMEZONE,
        urgent=urgent,
        day_kind=day_kind,
        history=history,
        later_day_kinds={**later, **(later_day_kinds or {})},
    )


record_facts = st.builds(
    facts,
    start=starts,
    minutes=st.integers(1, 2000),
    history=histories,
    urgent=st.booleans(),
    day_kind=day_kinds,
)


@st.composite
def records_with_later_days(draw):
    """Records whose later days have their own kinds and their own day and month totals."""
    start, minutes = draw(starts), draw(st.integers(1, 2000))
    days = local_days(start, start + timedelta(minutes=minutes), TIMEZONE)
    history = draw(histories)
    months = {first_of_month(day) for day in days[1:]} - {first_of_month(days[0])}
    history = replace(
        history,
        later_days={day: draw(st.integers(0, 500)) for day in days[1:]},
        later_months={month: draw(st.integers(0, 2500)) for month in months},
    )
    return facts(
        start,
        minutes,
        history,
        draw(st.booleans()),
        draw(day_kinds),
        {day: draw(day_kinds) for day in days[1:]},
    )


def service_points(rating):
    return sum(step["points"] for step in rating.breakdown if step["step"] != "bonus")


@PROPERTY_SETTINGS
@given(configs(), record_facts)
def test_points_are_never_negative_and_the_breakdown_adds_up(config, record):
    rating = rate(config, record)
    assert rating.points >= 0
    assert sum(step["points"] for step in rating.breakdown) == rating.points
    running = 0
    for step in rating.breakdown:
        running += step["points"]
        assert running >= 0
        assert isinstance(step["points"], int)


@PROPERTY_SETTINGS
@given(
    configs(),
    starts,
    st.integers(1, 2000),
    st.integers(0, 600),
    histories,
    st.booleans(),
    day_kinds,
)
def test_points_are_monotone_in_minutes_within_a_category(config, start, minutes, more, history, urgent, day_kind):
    shorter = rate(config, facts(start, minutes, history, urgent, day_kind))
    longer = rate(config, facts(start, minutes + more, history, urgent, day_kind))
    assert shorter.points <= longer.points
    assert shorter.minutes <= longer.minutes


@PROPERTY_SETTINGS
@given(configs(), records_with_later_days())
def test_caps_are_never_exceeded_per_record_day_or_month(config, record):
    rating = rate(config, record)
    start_day = local_days(record.started_at, record.ended_at, TIMEZONE)[0]
    by_day = service_points_by_day(rating.breakdown, start_day)
    caps, history = config["caps"], record.history
    if caps["per_record"] is not None:
        assert service_points(rating) <= caps["per_record"]
    by_month = {}
    for day, points in by_day.items():
        by_month[first_of_month(day)] = by_month.get(first_of_month(day), 0) + points
        if caps["per_day"] is not None:
            assert points <= max(0, caps["per_day"] - history.points_on(day, start_day))
    if caps["per_month"] is not None:
        for month, points in by_month.items():
            assert points <= max(0, caps["per_month"] - history.points_in_month(month, start_day))


@PROPERTY_SETTINGS
@given(configs(), records_with_later_days())
def test_splitting_at_midnight_never_changes_the_minutes(config, record):
    rating = rate(config, record)
    parts = [step for step in rating.breakdown if step["step"] == "part"]
    days = local_days(record.started_at, record.ended_at, TIMEZONE)
    if len(days) == 1:
        assert parts == []
        return
    assert [step["day"] for step in parts] == [day.isoformat() for day in days]
    assert sum(step["actual_minutes"] for step in parts) == whole_minutes(record.started_at, record.ended_at)
    assert sum(step["credited_minutes"] for step in parts) == rating.minutes
    assert sum(step["minutes"] for step in rating.breakdown if step["step"] == "base") == rating.minutes


@PROPERTY_SETTINGS
@given(configs(), records_with_later_days())
def test_bonuses_are_never_capped_and_never_count_toward_a_cap(config, record):
    rating = rate(config, record)
    bonuses, history = config["bonuses"], record.history
    expected = bonuses["first_service"] if history.approved_records == 0 and rating.minutes > 0 else 0
    after = history.lifetime_minutes + rating.minutes
    expected += sum(m["points"] for m in bonuses["milestones"] if history.lifetime_minutes < m["hours"] * 60 <= after)
    assert rating.points - service_points(rating) == expected
    start_day = local_days(record.started_at, record.ended_at, TIMEZONE)[0]
    assert sum(service_points_by_day(rating.breakdown, start_day).values()) == service_points(rating)


def uncapped(config):
    return {**config, "caps": {"per_record": None, "per_day": None, "per_month": None}}


def expected_percents(config, record):
    multipliers = config["multipliers"]
    percents = []
    if record.day_kind == "weekend" and multipliers["weekend_percent"] is not None:
        percents.append(multipliers["weekend_percent"])
    if record.day_kind == "holiday" and multipliers["holiday_percent"] is not None:
        percents.append(multipliers["holiday_percent"])
    if record.urgent and multipliers["urgent_percent"] is not None:
        percents.append(multipliers["urgent_percent"])
    return percents


def base_points(rating):
    return sum(step["points"] for step in rating.breakdown if step["step"] == "base")


@PROPERTY_SETTINGS
@given(configs(stacking="max", night=False), record_facts)
def test_max_stacking_applies_only_the_largest_multiplier(config, record):
    rating = rate(uncapped(config), record)
    base = base_points(rating)
    largest = max(expected_percents(config, record), default=100)
    assert service_points(rating) == base * largest // 100


@PROPERTY_SETTINGS
@given(configs(stacking="product", night=False), record_facts)
def test_product_stacking_multiplies_every_multiplier(config, record):
    rating = rate(uncapped(config), record)
    percents = expected_percents(config, record)
    numerator = base_points(rating)
    for percent in percents:
        numerator *= percent
    assert service_points(rating) == numerator // 100 ** len(percents)


@PROPERTY_SETTINGS
@given(configs(stacking="max"), record_facts)
def test_product_stacking_never_gives_less_than_max_stacking(config, record):
    as_max = rate(uncapped(config), record)
    as_product = rate(uncapped({**config, "multipliers": {**config["multipliers"], "stacking": "product"}}), record)
    assert as_product.points >= as_max.points
