"""The rules engine: verified minutes become points. Pure functions, no database.

``rate`` takes a validated rule-set config (see ``schemas``) and the facts of one
service record and returns the points with a step-by-step breakdown, in this order:

1. minutes: the record's whole minutes, below the minimum counts 0, otherwise rounded
   (down / nearest / up to a step, or by a step table applied within each period);
2. base points: credited minutes x rate points / rate minutes, rounded down;
3. day multipliers (weekend or public holiday, urgent) stacked by policy (max or
   product), then the night multiplier on the minutes inside the night window only;
4. caps per record, per day and per month (in points, on the points for the service);
5. bonuses: first service, milestone hours reached by this record.

Invariants (tested by property tests): all arithmetic is on integers (exact fractions
for multipliers, rounded down once per step); the step points add up to the award; no
step makes the running total negative; the award is monotone in the minutes of a
record with the other facts fixed; the service points never exceed a cap.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from fractions import Fraction

from ..timeutil import to_local, to_utc

MINUTE = timedelta(minutes=1)
NATIONAL_STAR_THRESHOLDS_HOURS = (100, 300, 600, 1000, 1500)
DAY_MULTIPLIERS = (("weekend", "weekend_percent"), ("holiday", "holiday_percent"))


@dataclass(frozen=True)
class VolunteerHistory:
    """Facts about the volunteer before this record (computed by the activities domain)."""

    lifetime_minutes: int  # verified (credited) minutes of approved records so far
    approved_records: int  # number of approved records so far (0: this is the first service)
    points_same_day: int  # points already awarded by approved records on the same local day
    points_same_month: int  # ... in the same local calendar month


NO_HISTORY = VolunteerHistory(lifetime_minutes=0, approved_records=0, points_same_day=0, points_same_month=0)


@dataclass(frozen=True)
class ServiceFacts:
    """One service record as the engine sees it."""

    category: str
    started_at: datetime  # naive UTC
    ended_at: datetime  # naive UTC
    timezone: str
    urgent: bool
    day_kind: str  # workday | weekend | holiday, of the local start date
    history: VolunteerHistory
    awarded_at: datetime  # naive UTC; the lot's expiry counts from here
    calendar_missing_years: tuple[int, ...] = ()  # years without holiday data: day kind by weekday


@dataclass(frozen=True)
class Rating:
    points: int
    minutes: int
    breakdown: list[dict]
    expires_at: datetime | None


# -- minutes -------------------------------------------------------------------------


def whole_minutes(started_at, ended_at):
    return max(0, (ended_at - started_at) // MINUTE)


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


def rate(config, facts):
    """Rate one record by a validated config; the category must have a rate."""
    category_rate = config["rates"][facts.category]
    multipliers = config["multipliers"]
    history = facts.history
    rounding = category_rate["rounding"]
    rate_points, rate_minutes = category_rate["points"], category_rate["per_minutes"]
    steps = []

    actual = whole_minutes(facts.started_at, facts.ended_at)
    minimum = category_rate["minimum_minutes"]
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
    if below_minimum:
        steps.append({"step": "minimum", "minimum_minutes": minimum, "actual_minutes": actual, "points": 0})

    base = credited * rate_points // rate_minutes
    steps.append(
        {"step": "base", "minutes": credited, "rate_points": rate_points, "rate_minutes": rate_minutes, "points": base}
    )

    steps.extend({"step": "calendar_missing", "year": year, "points": 0} for year in facts.calendar_missing_years)
    applied = [
        {"kind": kind, "percent": multipliers[key]}
        for kind, key in DAY_MULTIPLIERS
        if facts.day_kind == kind and multipliers.get(key) is not None
    ]
    if facts.urgent and multipliers.get("urgent_percent") is not None:
        applied.append({"kind": "urgent", "percent": multipliers["urgent_percent"]})
    policy = multipliers["stacking"]
    day_factor = stack_multipliers([item["percent"] for item in applied], policy)
    service_points = scale_down(base, day_factor)
    if applied:
        steps.append(
            {
                "step": "multiplier",
                "applied": applied,
                "stacking": policy,
                "factor": format_factor(day_factor),
                "points": service_points - base,
            }
        )

    if multipliers.get("night_percent") is not None and credited > 0:
        window = (multipliers["night_start"], multipliers["night_end"])
        at_night = night_minutes(facts.started_at, facts.ended_at, facts.timezone, *window)
        if at_night > 0:
            night_credited = min(credit_minutes(at_night, rounding), credited)
            night_factor = stack_multipliers(
                [item["percent"] for item in applied] + [multipliers["night_percent"]], policy
            )
            extra = scale_down(night_credited * rate_points // rate_minutes, night_factor - day_factor)
            steps.append(
                {
                    "step": "night",
                    "window": list(window),
                    "night_minutes": at_night,
                    "credited_minutes": night_credited,
                    "percent": multipliers["night_percent"],
                    "factor_before": format_factor(day_factor),
                    "factor": format_factor(night_factor),
                    "points": extra,
                }
            )
            service_points += extra

    caps = config["caps"]
    for kind, already in (
        ("per_record", 0),
        ("per_day", history.points_same_day),
        ("per_month", history.points_same_month),
    ):
        limit = caps.get(kind)
        if limit is None:
            continue
        room = max(0, limit - max(0, already))
        if service_points > room:
            steps.append(
                {"step": "cap", "kind": kind, "limit": limit, "already": already, "points": room - service_points}
            )
            service_points = room

    bonuses = config["bonuses"]
    if bonuses.get("first_service") and history.approved_records == 0 and credited > 0:
        steps.append({"step": "bonus", "kind": "first_service", "points": bonuses["first_service"]})
    before, after = history.lifetime_minutes, history.lifetime_minutes + credited
    for milestone in bonuses.get("milestones", []):
        if before < milestone["hours"] * 60 <= after:
            steps.append(
                {"step": "bonus", "kind": "milestone", "hours": milestone["hours"], "points": milestone["points"]}
            )

    points = sum(step["points"] for step in steps)
    return Rating(
        points=points,
        minutes=credited,
        breakdown=steps,
        expires_at=lot_expiry(config["expiry"], facts.awarded_at, facts.timezone),
    )


# -- expiry and stars ----------------------------------------------------------------


def add_months(moment, months):
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    next_month = date(year + month // 12, month % 12 + 1, 1)
    last_day = (next_month - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


def lot_expiry(expiry, awarded_at, timezone):
    """Naive UTC end of a lot awarded at ``awarded_at``; None when points never expire."""
    policy = expiry["policy"]
    if policy == "never":
        return None
    local = to_local(awarded_at, timezone).replace(tzinfo=None)
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
