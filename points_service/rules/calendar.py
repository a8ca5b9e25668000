"""What kind of day a date is for the multipliers: workday, weekend or public holiday.

Pure functions over the ``chinese-calendar`` package and a mapping of administrator
overrides (which always win). A swapped working day (调休, a Saturday or Sunday that is
worked to bridge a holiday) is a workday. For years the package does not know yet, a
Saturday or Sunday is a weekend and only overrides make public holidays, so a new year
works before the package is updated, once an administrator enters its holidays.
"""

from collections.abc import Mapping
from datetime import date

import chinese_calendar

WORKDAY = "workday"
WEEKEND = "weekend"
HOLIDAY = "holiday"
DAY_KINDS = (WORKDAY, WEEKEND, HOLIDAY)


def package_day_kind(day: date) -> str | None:
    """The package's answer, or None when it has no data for that year."""
    try:
        is_day_off, holiday_name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    if not is_day_off:
        return WORKDAY
    # A day off with a festival name is a public holiday (including its bridged days);
    # a day off without a name is an ordinary Saturday or Sunday.
    return HOLIDAY if holiday_name else WEEKEND


def day_kind(day: date, overrides: Mapping[date, str] | None = None) -> str:
    """``workday``, ``weekend`` or ``holiday``; an override (``holiday``/``workday``) wins."""
    override = (overrides or {}).get(day)
    if override == HOLIDAY:
        return HOLIDAY
    if override == WORKDAY:
        return WORKDAY
    known = package_day_kind(day)
    if known is not None:
        return known
    return WEEKEND if day.weekday() >= 5 else WORKDAY
