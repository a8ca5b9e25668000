"""What kind of day a date is for the multipliers (workday, weekend or public holiday),
and where that answer comes from. Pure functions: no database.

A year's public holidays and swapped working days (调休: a Saturday or Sunday worked to
bridge a holiday) are published by the State Council each autumn; a release of the
``chinese-calendar`` package follows weeks or months later. For each date the first of
these sources that has an answer decides:

1. ``override``: an administrator's word on that one date (``HolidayOverride``);
2. ``entered``: the year's calendar as an administrator entered or imported it from the
   notice (``HolidayCalendar``). It wins over the package on purpose: it *is* the
   official notice, entered by a person who answers for it, so it can also correct a
   package that is wrong or out of date (the 2020 Spring Festival was extended after the
   package had shipped);
3. ``package``: the ``chinese-calendar`` data, for the years it has;
4. ``missing``: nothing for that year, so Saturday and Sunday are weekend days and every
   other day a workday. An award rated this way says so in its breakdown, and staff are
   warned from ``WARNING_DAYS`` before such a year starts.

The ``holidays`` package was checked as a second source and is not used: its China data
has the swapped working days only for years whose notice it encodes (up to 2026 in
0.108); for later years it estimates holidays by rule, with no swapped working days and
"observed" days that the notice may not grant, which would rate real workdays as
holidays. A year with no swapped working days is treated as missing.

An entered calendar lists every day off of the notice as ``holiday`` (including the
bridged days) and every swapped Saturday or Sunday as ``workday``; a day it does not list
is a workday or weekend by its weekday.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

import chinese_calendar
from flask_babel import lazy_gettext as _l

from ..errors import ValidationError

WORKDAY = "workday"
WEEKEND = "weekend"
HOLIDAY = "holiday"
DAY_KINDS = (WORKDAY, WEEKEND, HOLIDAY)
ENTRY_KINDS = (HOLIDAY, WORKDAY)  # what an override or an entered calendar may say about a date

OVERRIDE, ENTERED, PACKAGE, MISSING = "override", "entered", "package", "missing"
WARNING_DAYS = 60  # staff are warned this many days before a year with no data starts
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_CALENDAR_DAYS = 366
MAX_NAME_LENGTH = 80


@dataclass(frozen=True)
class DayKind:
    kind: str  # workday | weekend | holiday
    source: str  # override | entered | package | missing

    @property
    def missing(self):
        """True when the year had no holiday data and the weekday decided."""
        return self.source == MISSING


def weekday_kind(day: date) -> str:
    """The kind of a day by its weekday alone: Saturday and Sunday are weekend days."""
    return WEEKEND if day.weekday() >= 5 else WORKDAY


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


@cache
def package_has_year(year: int) -> bool:
    """Whether the installed ``chinese-calendar`` has the notice of ``year``."""
    return package_day_kind(date(year, 1, 1)) is not None


def package_year_days(year: int) -> list[tuple[date, str, str]]:
    """``(date, kind, name)`` of the package's holidays and swapped working days of a year it has."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    days = []
    for day in chinese_calendar.get_holidays(first, last, include_weekends=True):
        is_day_off, name = chinese_calendar.get_holiday_detail(day)
        if is_day_off and name:
            days.append((day, HOLIDAY, name))
    for day in chinese_calendar.get_workdays(first, last, include_weekends=True):
        if day.weekday() >= 5:
            days.append((day, WORKDAY, chinese_calendar.get_holiday_detail(day)[1] or ""))
    return sorted(days)


def classify_day(
    day: date, overrides: Mapping[date, str] | None = None, entered: Mapping[date, str] | None = None
) -> DayKind:
    """The kind of ``day`` and its source. ``overrides``: {date: holiday|workday} that apply;
    ``entered``: the entered calendar of ``day``'s year ({date: holiday|workday}), or None
    when that year has none."""
    override = (overrides or {}).get(day)
    if override in ENTRY_KINDS:
        return DayKind(override, OVERRIDE)
    if entered is not None:
        return DayKind(entered.get(day) or weekday_kind(day), ENTERED)
    known = package_day_kind(day)
    if known is not None:
        return DayKind(known, PACKAGE)
    return DayKind(weekday_kind(day), MISSING)


def day_kind(day: date, overrides: Mapping[date, str] | None = None, entered: Mapping[date, str] | None = None) -> str:
    """``workday``, ``weekend`` or ``holiday``; an override (``holiday``/``workday``) wins."""
    return classify_day(day, overrides, entered).kind


def years_to_watch(today: date) -> list[int]:
    """The years whose holiday data matters on ``today``: last year (late approvals), this
    year, and next year once it is ``WARNING_DAYS`` or fewer days away."""
    years = [today.year - 1, today.year]
    if today >= date(today.year + 1, 1, 1) - timedelta(days=WARNING_DAYS):
        years.append(today.year + 1)
    return years


# -- an entered year calendar: reading and checking it ------------------------------------

# The file format's columns, with the headers accepted for each (English or Chinese).
CALENDAR_COLUMNS = {"date": ("date", "日期"), "kind": ("kind", "类型"), "name": ("name", "名称")}
_KIND_WORDS = {
    "holiday": HOLIDAY,
    "休": HOLIDAY,
    "假": HOLIDAY,
    "放假": HOLIDAY,
    "workday": WORKDAY,
    "班": WORKDAY,
    "上班": WORKDAY,
}


@dataclass(frozen=True)
class CalendarRow:
    """One row of a calendar file as read, before it is checked; ``line`` counts from 1."""

    line: int
    date: object
    kind: object
    name: object


@dataclass(frozen=True)
class CalendarDay:
    day: date
    kind: str  # holiday | workday
    name: str


@dataclass(frozen=True)
class CalendarProblem:
    line: int  # the row's line in a CSV file (the header is line 1), its place in a JSON list, 0: the whole file
    column: str
    message: str


class CalendarRejected(ValidationError):
    """The calendar was not saved; ``details["rows"]`` lists every problem by line."""

    code = "calendar_rejected"

    def __init__(self, problems):
        self.problems = problems
        super().__init__(
            _l("%(count)s problems found; nothing was saved. Correct the lines listed and import the file again."),
            count=len(problems),
            details={
                "field": "file",
                "rows": [{"line": p.line, "column": p.column, "message": p.message} for p in problems],
                "count": len(problems),
            },
        )


def _file_error(message, **params):
    return ValidationError(message, details={"field": "file"}, **params)


def _as_row(position, item):
    if isinstance(item, CalendarRow):
        return item
    if isinstance(item, CalendarDay):
        return CalendarRow(position, item.day, item.kind, item.name)
    item = item if isinstance(item, Mapping) else {}
    return CalendarRow(item.get("line", position), item.get("date"), item.get("kind"), item.get("name"))


def _parse_date(value):
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        return None


def check_year(year) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationError(
            _l("Choose a year from %(first)s to %(last)s."), first=FIRST_YEAR, last=LAST_YEAR, details={"field": "year"}
        )
    return year


def check_year_calendar(year: int, rows: Iterable) -> list[CalendarDay]:
    """The days of a year's calendar, checked as a whole: every date in ``year`` and listed
    once, every kind known, a swapped working day on a Saturday or Sunday, a name on every
    line, at least one public holiday. Raises ``CalendarRejected`` with every problem."""
    year = check_year(year)
    rows = [_as_row(position, item) for position, item in enumerate(rows, start=1)]
    problems = []
    if len(rows) > MAX_CALENDAR_DAYS:
        raise _file_error(_l("A year has at most %(n)s days; this calendar lists more."), n=MAX_CALENDAR_DAYS)
    days, seen = [], set()
    for row in rows:
        day = _parse_date(row.date)
        kind = _KIND_WORDS.get(str(row.kind or "").strip().casefold())
        name = str(row.name).strip() if row.name is not None else ""
        if day is None:
            problems.append(CalendarProblem(row.line, "date", str(_l("Enter the date as YYYY-MM-DD."))))
        elif day.year != year:
            message = _l("%(date)s is not in %(year)s.") % {"date": day.isoformat(), "year": year}
            problems.append(CalendarProblem(row.line, "date", str(message)))
        elif day in seen:
            message = _l("%(date)s is listed more than once.") % {"date": day.isoformat()}
            problems.append(CalendarProblem(row.line, "date", str(message)))
        else:
            seen.add(day)
        if kind is None:
            problems.append(CalendarProblem(row.line, "kind", str(_l("The kind must be holiday or workday."))))
        elif kind == WORKDAY and day is not None and day.weekday() < 5:
            message = _l("%(date)s is not a Saturday or Sunday, so it cannot be a swapped working day.") % {
                "date": day.isoformat()
            }
            problems.append(CalendarProblem(row.line, "kind", str(message)))
        if not 1 <= len(name) <= MAX_NAME_LENGTH:
            message = _l("Give the name of the holiday (1 to %(n)s characters).") % {"n": MAX_NAME_LENGTH}
            problems.append(CalendarProblem(row.line, "name", str(message)))
        if day is not None and kind is not None:
            days.append(CalendarDay(day, kind, name))
    if not problems and not any(day.kind == HOLIDAY for day in days):
        problems.append(CalendarProblem(0, "kind", str(_l("The calendar lists no public holiday."))))
    if problems:
        raise CalendarRejected(problems)
    return sorted(days, key=lambda day: day.day)
