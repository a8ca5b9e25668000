"""The rules engine: verified minutes become points. Pure functions, no database.

``rate`` takes a validated rule-set config (see ``schemas``) and the facts of one
service record and returns the points with a step-by-step breakdown, in this order:

1. minutes: the record's whole minutes, below the minimum counts 0, otherwise rounded
   (down / nearest / up to a step, or by a step table applied within each period);
   a category without a rate of its own is rated by the table's default rate;
2. parts: a record that crosses local midnight is split there; the credited minutes
   of the whole record are shared out to its parts by their minutes, and each part is
   rated by its own day (steps 3 to 5, after a ``part`` step naming the day);
3. base points: credited minutes x rate points / rate minutes, rounded down;
4. day multipliers (weekend or public holiday, urgent) stacked by policy (max or
   product), then the night multiplier on the minutes inside the night window only;
5. caps per record, per day and per month (in points, on the points for the hours
   of service; a part counts against its own day's and month's caps);
6. bonuses: first service, milestone hours reached by this record. They come on top
   of the points for the hours (an ``hours_award`` step shows those first) and never
   use up a cap: a volunteer's day and month totals count only points for hours.

The lot of an award expires by the rule set's expiry policy counted from the service
(its start), not from the day it was approved.

Invariants (tested by property tests): all arithmetic is on integers (exact fractions
for multipliers, rounded down once per step; across the parts of a split record the
fractions are carried from part to part, so a split never costs a point by rounding);
the step points add up to the award; no step makes the running total negative; the
parts' minutes add up to the record's; the points for hours never exceed a cap.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from functools import lru_cache

from ..timeutil import local_midnight_utc, to_local, to_utc

MINUTE = timedelta(minutes=1)
NATIONAL_STAR_THRESHOLDS_HOURS = (100, 300, 600, 1000, 1500)
DAY_MULTIPLIERS = (("weekend", "weekend_percent"), ("holiday", "holiday_percent"))


@dataclass(frozen=True)
class VolunteerHistory:
    """Facts about the volunteer before this record (computed by the activities domain).

    Day and month totals are points for hours of service (after caps), never bonuses."""

    lifetime_minutes: int  # verified (credited) minutes of approved records so far
    approved_records: int  # number of approved records so far (0: this is the first service)
    points_same_day: int  # points for hours already awarded on the record's local start day
    points_same_month: int  # ... in the local calendar month of that day
    # For a record that crosses midnight: the same totals of each later local day it
    # reaches, and of each later month (keyed by its first day).
    later_days: Mapping[date, int] = field(default_factory=dict)
    later_months: Mapping[date, int] = field(default_factory=dict)

    @classmethod
    def from_totals(cls, lifetime_minutes, approved_records, days, day_points, month_points):
        """The history of a record touching local ``days`` (in order) from a volunteer's
        points for hours per local day and per month (keyed by its first day)."""
        start_month = first_of_month(days[0])
        return cls(
            lifetime_minutes=lifetime_minutes,
            approved_records=approved_records,
            points_same_day=day_points.get(days[0], 0),
            points_same_month=month_points.get(start_month, 0),
            later_days={day: day_points.get(day, 0) for day in days[1:]},
            later_months={month: month_points.get(month, 0) for month in _months_after(days, start_month)},
        )

    def shifted(self, days, day_changes, month_changes):
        """This history of a record touching ``days`` with changes of the points for hours
        per local day and per month added (never below zero): what a replay of past
        records under other rules sees after the records before it changed."""
        start_month = first_of_month(days[0])
        return replace(
            self,
            points_same_day=max(0, self.points_same_day + day_changes.get(days[0], 0)),
            points_same_month=max(0, self.points_same_month + month_changes.get(start_month, 0)),
            later_days={day: max(0, self.later_days.get(day, 0) + day_changes.get(day, 0)) for day in days[1:]},
            later_months={
                month: max(0, self.later_months.get(month, 0) + month_changes.get(month, 0))
                for month in _months_after(days, start_month)
            },
        )

    def points_on(self, day, start_day):
        """Points for hours already awarded on local ``day`` (the start day or a later one)."""
        return self.points_same_day if day == start_day else self.later_days.get(day, 0)

    def points_in_month(self, day, start_day):
        """Points for hours already awarded in the month of local ``day``."""
        month = first_of_month(day)
        if month == first_of_month(start_day):
            return self.points_same_month
        return self.later_months.get(month, 0)


def _months_after(days, start_month):
    return sorted({first_of_month(day) for day in days[1:]} - {start_month})


NO_HISTORY = VolunteerHistory(lifetime_minutes=0, approved_records=0, points_same_day=0, points_same_month=0)


@dataclass(frozen=True)
class ServiceFacts:
    """One service record as the engine sees it."""

    category: str
    started_at: datetime  # naive UTC; the lot's expiry counts from here
    ended_at: datetime  # naive UTC
    timezone: str
    urgent: bool
    day_kind: str  # workday | weekend | holiday, of the local start date
    history: VolunteerHistory
    # For a record that crosses midnight: the kind of each later local date it reaches.
    later_day_kinds: Mapping[date, str] = field(default_factory=dict)
    calendar_missing_years: tuple[int, ...] = ()  # years without holiday data: day kind by weekday

    def kind_of(self, day, start_day):
        return self.day_kind if day == start_day else self.later_day_kinds[day]


@dataclass(frozen=True)
class Rating:
    points: int
    minutes: int
    breakdown: list[dict]
    expires_at: datetime | None


@dataclass(frozen=True)
class Part:
    """The stretch of a record that falls on one local day."""

    day: date
    started_at: datetime  # naive UTC
    ended_at: datetime  # naive UTC
    minutes: int  # whole minutes of the record's that fall in this part


# -- minutes -------------------------------------------------------------------------


def whole_minutes(started_at, ended_at):
    return max(0, (ended_at - started_at) // MINUTE)


def first_of_month(day):
    return day.replace(day=1)


# Pure and called for every record rated or replayed, while many records (the volunteers
# of one activity) share their times: a backtest converts each distinct span once.
@lru_cache(maxsize=65536)
def split_at_local_midnight(started_at, ended_at, timezone):
    """The parts of ``[started_at, ended_at)`` (naive UTC) on each local date, in order
    (a tuple: the result is shared between callers).

    Each part's minutes are counted from the record's start, so they add up to the
    record's whole minutes even when the times carry seconds."""
    parts = []
    day = to_local(started_at, timezone).date()
    part_start = started_at
    while part_start < ended_at:
        part_end = min(ended_at, local_midnight_utc(day + timedelta(days=1), timezone))
        if part_end > part_start:
            minutes = whole_minutes(started_at, part_end) - whole_minutes(started_at, part_start)
            parts.append(Part(day=day, started_at=part_start, ended_at=part_end, minutes=minutes))
            part_start = part_end
        day += timedelta(days=1)
    return tuple(parts)


@lru_cache(maxsize=65536)
def local_days(started_at, ended_at, timezone):
    """The local dates a record touches, in order (one unless it crosses midnight), as a tuple."""
    return tuple(part.day for part in split_at_local_midnight(started_at, ended_at, timezone))


def credit_minutes(minutes, rounding):
    """Minutes that count, by the rounding rule; monotone in ``minutes``."""
    mode = rounding["mode"]
    if mode == "table":
        table = rounding["table"]
        period = table[-1]["up_to_minutes"]
        full_periods, rest = divmod(minutes, period)
        credited = full_periods * table[-1]["credit_minutes"]
        if rest:
            credited += next(row["credit_minutes"] for row in table if rest <= row["up_to_minutes"])
        return credited
    step = rounding["step_minutes"]
    if mode == "down":
        return minutes // step * step
    if mode == "up":
        return -(-minutes // step) * step
    if mode == "nearest":  # halves round up
        return (2 * minutes + step) // (2 * step) * step
    raise ValueError(f"unknown rounding mode {mode!r}")


def parse_clock(text):
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def night_minutes(started_at, ended_at, timezone, night_start, night_end):
    """Whole minutes of [started_at, ended_at) (naive UTC) inside the local night window."""
    start_clock, end_clock = parse_clock(night_start), parse_clock(night_end)
    first_day = to_local(started_at, timezone).date() - timedelta(days=1)
    last_day = to_local(ended_at, timezone).date()
    seconds = 0
    day = first_day
    while day <= last_day:
        window_start = to_utc(datetime.combine(day, start_clock), timezone)
        end_day = day if end_clock > start_clock else day + timedelta(days=1)
        window_end = to_utc(datetime.combine(end_day, end_clock), timezone)
        overlap = min(ended_at, window_end) - max(started_at, window_start)
        if overlap > timedelta(0):
            seconds += int(overlap.total_seconds())
        day += timedelta(days=1)
    return seconds // 60


# -- multipliers ---------------------------------------------------------------------


def stack_multipliers(percents, policy):
    """The combined factor of integer percents: the largest (``max``) or their product."""
    if not percents:
        return Fraction(1)
    if policy == "max":
        return Fraction(max(percents), 100)
    factor = Fraction(1)
    for percent in percents:
        factor *= Fraction(percent, 100)
    return factor


def scale_down(points, factor):
    """``points`` x ``factor`` rounded down, in integers."""
    return points * factor.numerator // factor.denominator


def carry_down(values):
    """Exact values rounded down with the fractions carried forward: the integers add up
    to the rounded-down sum of all ``values``, and each is its value's floor or one more."""
    rounded, total, before = [], Fraction(0), 0
    for value in values:
        total += value
        after = total.numerator // total.denominator
        rounded.append(after - before)
        before = after
    return rounded


def share_out(total, weights):
    """``total`` shared out in integers in proportion to ``weights`` (all to the last
    share when the weights are all zero)."""
    weight = sum(weights)
    if weight == 0:
        return [0] * (len(weights) - 1) + [total]
    return carry_down([Fraction(total * w, weight) for w in weights])


def fill_in_order(total, sizes):
    """``total`` given to the shares in order, each at most its size, the last taking any
    rest: the minutes that rounding does not count are the last ones served, so making a
    record longer never moves credit from an earlier day (with room under its cap) to a
    later one."""
    shares, remaining = [], total
    for index, size in enumerate(sizes):
        share = remaining if index == len(sizes) - 1 else min(size, remaining)
        shares.append(share)
        remaining -= share
    return shares


def format_factor(factor):
    """An exact decimal text of a factor whose denominator divides a power of ten: 1.3225."""
    whole, rest = divmod(factor.numerator, factor.denominator)
    if not rest:
        return str(whole)
    digits = 0
    while (10**digits) % factor.denominator and digits < 12:
        digits += 1
    fraction = rest * 10**digits // factor.denominator
    return f"{whole}.{str(fraction).rjust(digits, '0').rstrip('0') or '0'}"


def format_percent(percent):
    """An integer percent as a factor: 150 -> "1.5"."""
    return format_factor(Fraction(percent, 100))


# -- the award -----------------------------------------------------------------------


def category_rate(config, category):
    """``(rate, True when it is the table's default rate)`` of ``category``, or None when
    the table has neither a rate for it nor a default rate."""
    own = config["rates"].get(category)
    if own is not None:
        return own, False
    default = config.get("default_rate")
    return (default, True) if default is not None else None


def rate(config, facts):
    """Rate one record by a validated config; the category must have a rate or the
    config a default rate (see ``category_rate``)."""
    row, by_default = category_rate(config, facts.category)
    rounding = row["rounding"]
    steps = []

    actual = whole_minutes(facts.started_at, facts.ended_at)
    minimum = row["minimum_minutes"]
    below_minimum = actual < minimum
    credited = 0 if below_minimum else credit_minutes(actual, rounding)
    steps.append(
        {
            "step": "minutes",
            "category": facts.category,
            "actual_minutes": actual,
            "credited_minutes": credited,
            "rounding": rounding,
            "points": 0,
        }
    )
    if by_default:
        steps.append({"step": "default_rate", "category": facts.category, "points": 0})
    if below_minimum:
        steps.append({"step": "minimum", "minimum_minutes": minimum, "actual_minutes": actual, "points": 0})

    service_points = _rate_parts(config, row, facts, credited, steps)

    bonuses = _bonus_steps(config["bonuses"], facts.history, credited)
    if bonuses:
        steps.append({"step": "hours_award", "points": 0, "subtotal": service_points})
        steps.extend(bonuses)

    points = sum(step["points"] for step in steps)
    return Rating(
        points=points,
        minutes=credited,
        breakdown=steps,
        expires_at=lot_expiry(config["expiry"], facts.started_at, facts.timezone),
    )


def _rate_parts(config, row, facts, credited, steps):
    """Base points, multipliers and caps of each local day's part; returns the points for hours.

    A record within one day is one part and gets no ``part`` step. The whole record's
    credited minutes fill the parts in order (the minutes rounding leaves out are the last
    ones served), its credited night minutes are shared out by the parts' night minutes,
    and the points of the parts are carried down together (``carry_down``), so
    that a record with the same kind of day on both sides of midnight gets what it
    would get unsplit."""
    multipliers, caps, history = config["multipliers"], config["caps"], facts.history
    rounding = row["rounding"]
    rate_points, rate_minutes = row["points"], row["per_minutes"]
    steps.extend({"step": "calendar_missing", "year": year, "points": 0} for year in facts.calendar_missing_years)
    policy = multipliers["stacking"]
    parts = split_at_local_midnight(facts.started_at, facts.ended_at, facts.timezone)
    start_day = parts[0].day if parts else to_local(facts.started_at, facts.timezone).date()

    part_credited = fill_in_order(credited, [part.minutes for part in parts])
    if len(parts) == 1:  # the usual record: one value to round down, no fractions to carry
        part_base = [part_credited[0] * rate_points // rate_minutes]
    else:
        part_base = carry_down([Fraction(minutes * rate_points, rate_minutes) for minutes in part_credited])

    applied, day_factors = [], []
    for part in parts:
        kind = facts.kind_of(part.day, start_day)
        items = [
            {"kind": name, "percent": multipliers[key]}
            for name, key in DAY_MULTIPLIERS
            if kind == name and multipliers.get(key) is not None
        ]
        if facts.urgent and multipliers.get("urgent_percent") is not None:
            items.append({"kind": "urgent", "percent": multipliers["urgent_percent"]})
        applied.append(items)
        day_factors.append(stack_multipliers([item["percent"] for item in items], policy))
    if len(parts) == 1:
        part_multiplied = [scale_down(part_base[0], day_factors[0])]
    else:
        part_multiplied = carry_down([base * factor for base, factor in zip(part_base, day_factors, strict=True)])

    with_night = multipliers.get("night_percent") is not None and credited > 0
    night = night_credited = night_extra = night_factors = None
    if with_night:
        window = (multipliers["night_start"], multipliers["night_end"])
        night = [night_minutes(part.started_at, part.ended_at, facts.timezone, *window) for part in parts]
        night_credited = share_out(min(credit_minutes(sum(night), rounding), credited), night)
        night_base = carry_down([Fraction(minutes * rate_points, rate_minutes) for minutes in night_credited])
        night_factors = [
            stack_multipliers([item["percent"] for item in items] + [multipliers["night_percent"]], policy)
            for items in applied
        ]
        night_extra = carry_down(
            [
                base * (night_factor - day_factor)
                for base, night_factor, day_factor in zip(night_base, night_factors, day_factors, strict=True)
            ]
        )

    total, month_totals = 0, {}
    for index, part in enumerate(parts):
        if len(parts) > 1:
            ends_at_midnight = part.ended_at == local_midnight_utc(part.day + timedelta(days=1), facts.timezone)
            steps.append(
                {
                    "step": "part",
                    "part": index + 1,
                    "parts": len(parts),
                    "day": part.day.isoformat(),
                    "day_kind": facts.kind_of(part.day, start_day),
                    "start": to_local(part.started_at, facts.timezone).strftime("%H:%M"),
                    "end": "24:00" if ends_at_midnight else to_local(part.ended_at, facts.timezone).strftime("%H:%M"),
                    "actual_minutes": part.minutes,
                    "credited_minutes": part_credited[index],
                    "points": 0,
                }
            )
        base = part_base[index]
        steps.append(
            {
                "step": "base",
                "minutes": part_credited[index],
                "rate_points": rate_points,
                "rate_minutes": rate_minutes,
                "points": base,
            }
        )
        points = part_multiplied[index]
        if applied[index]:
            steps.append(
                {
                    "step": "multiplier",
                    "applied": applied[index],
                    "stacking": policy,
                    "factor": format_factor(day_factors[index]),
                    "points": points - base,
                }
            )
        if with_night and night[index] > 0:
            steps.append(
                {
                    "step": "night",
                    "window": list(window),
                    "night_minutes": night[index],
                    "credited_minutes": night_credited[index],
                    "percent": multipliers["night_percent"],
                    "factor_before": format_factor(day_factors[index]),
                    "factor": format_factor(night_factors[index]),
                    "points": night_extra[index],
                }
            )
            points += night_extra[index]

        month = first_of_month(part.day)
        for kind, already in (
            ("per_record", total),
            ("per_day", history.points_on(part.day, start_day)),
            ("per_month", history.points_in_month(part.day, start_day) + month_totals.get(month, 0)),
        ):
            limit = caps.get(kind)
            if limit is None:
                continue
            room = max(0, limit - max(0, already))
            if points > room:
                steps.append({"step": "cap", "kind": kind, "limit": limit, "already": already, "points": room - points})
                points = room
        total += points
        month_totals[month] = month_totals.get(month, 0) + points
    return total


def _bonus_steps(bonuses, history, credited):
    steps = []
    if bonuses.get("first_service") and history.approved_records == 0 and credited > 0:
        steps.append({"step": "bonus", "kind": "first_service", "points": bonuses["first_service"]})
    before, after = history.lifetime_minutes, history.lifetime_minutes + credited
    for milestone in bonuses.get("milestones", []):
        if before < milestone["hours"] * 60 <= after:
            steps.append(
                {"step": "bonus", "kind": "milestone", "hours": milestone["hours"], "points": milestone["points"]}
            )
    return steps


def service_points_by_day(breakdown, start_day):
    """``{local date: points for hours}`` of an award's breakdown: what counts against
    the day and month caps. Bonuses are left out; the parts of a record split at
    midnight count on their own days; older breakdowns (without parts) count on
    ``start_day``, the record's local start date."""
    totals = {}
    day = start_day
    for step in breakdown:
        if step.get("step") == "part":
            day = date.fromisoformat(step["day"])
        elif step.get("step") != "bonus":
            totals[day] = totals.get(day, 0) + step.get("points", 0)
    return totals


# -- expiry and stars ----------------------------------------------------------------


def add_months(moment, months):
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    next_month = date(year + month // 12, month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def lot_expiry(expiry, served_at, timezone):
    """Naive UTC end of the lot for service done at ``served_at`` (naive UTC); None when
    points never expire. Expiry counts from the service, never from a late approval,
    so a record approved months late does not live longer than its neighbours."""
    policy = expiry["policy"]
    if policy == "never":
        return None
    local = to_local(served_at, timezone).replace(tzinfo=None)
    if policy == "months":
        return to_utc(add_months(local, expiry["months"]), timezone)
    if policy == "end_of_next_year":
        return to_utc(datetime(local.year + 2, 1, 1), timezone)
    raise ValueError(f"unknown expiry policy {policy!r}")


def stars_for_hours(hours, thresholds):
    """(stars, next stars or None, next threshold in hours or None) for whole ``hours``."""
    stars = sum(1 for threshold in thresholds if hours >= threshold)
    if stars < len(thresholds):
        return stars, stars + 1, thresholds[stars]
    return stars, None, None
