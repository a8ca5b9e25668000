"""What every way of recording service checks: times, categories, overlaps, account locks.

Shared by publishing, attendance, records and imports. All datetimes are naive UTC.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select, update

from ..accounts.models import VolunteerProfile
from ..database import lock
from ..errors import NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..inputs import EARLIEST_TIME, MAX_ID
from ..ledger.models import PointsAccount
from ..organizations.settings import largest_value, setting
from ..rules import service as rules
from ..timeutil import to_local, utcnow
from .models import ACTIVE_RECORD_STATUSES, ServiceRecord

MIN_EVIDENCE_LENGTH = 10
MAX_TEXT = 4000
_CHUNK = 1000


def _now(now):
    return now or utcnow()


def chunks(values, size=_CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _text(value, *, field, label, maximum, required=True):
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise ValidationError(_l("Enter the %(label)s."), label=label, details={"field": field})
    if len(text) > maximum:
        raise ValidationError(
            _l("The %(label)s can have at most %(n)s characters."), label=label, n=maximum, details={"field": field}
        )
    return text


def max_service_minutes(organization):
    """The longest record ``organization`` accepts (its setting, inherited down the tree)."""
    return setting(organization, "max_service_minutes")


def longest_service_minutes():
    """The longest record any organization can accept: how far back a query must look for
    records that reach into a period."""
    return largest_value("max_service_minutes")


def checkin_grace(organization):
    return timedelta(minutes=setting(organization, "checkin_grace_minutes"))


def self_report_window(organization):
    """How long after service a volunteer of ``organization`` may still report it themselves."""
    return timedelta(days=setting(organization, "self_report_window_days"))


def _id(value):
    """``value`` as a row id, or -1 (which finds nothing) when it is not one the database can hold."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return -1
    try:
        number = int(value)
    except (TypeError, ValueError):
        return -1
    return number if 1 <= number <= MAX_ID else -1


# -- checks shared by every way of recording service ------------------------------------


@dataclass(frozen=True)
class Problem:
    """A refusal before it is raised: a field, a lazy message and its parameters."""

    field: str
    message: object
    params: dict = field(default_factory=dict)

    def render(self):
        return str(self.message) % self.params if self.params else str(self.message)

    def error(self, **details):
        return ValidationError(self.message, details={"field": self.field, **details}, **self.params)


def whole_minutes(started_at, ended_at):
    return (ended_at - started_at) // timedelta(minutes=1)


def time_problem(started_at, ended_at, now, maximum):
    """The first thing wrong with a service time span of at most ``maximum`` minutes, or None."""
    if not isinstance(started_at, datetime):
        return Problem("started_at", _l("Enter when the service started."))
    if not isinstance(ended_at, datetime):
        return Problem("ended_at", _l("Enter when the service ended."))
    if started_at < EARLIEST_TIME:
        return Problem(
            "started_at", _l("Service before %(date)s cannot be recorded."), {"date": EARLIEST_TIME.date().isoformat()}
        )
    if ended_at <= started_at:
        return Problem("ended_at", _l("The end time must be after the start time."))
    if ended_at > now:
        return Problem("ended_at", _l("Service times cannot be in the future."))
    minutes = whole_minutes(started_at, ended_at)
    if minutes < 1:
        return Problem("ended_at", _l("A service record needs at least one minute."))
    if minutes > maximum:
        return Problem(
            "ended_at",
            _l("A service record can be at most %(hours)s hours %(minutes)s minutes long; split longer service."),
            {"hours": maximum // 60, "minutes": maximum % 60},
        )
    return None


def category_codes():
    return {category.code for category in rules.list_categories(active_only=True)}


def category_problem(category, codes=None):
    codes = category_codes() if codes is None else codes
    if category not in codes:
        return Problem("category", _l("Unknown service category %(category)s."), {"category": category or "-"})
    return None


def overlapping_records(volunteer_ids, earliest, latest):
    """Active records of these volunteers that touch ``[earliest, latest)``: {volunteer: [(start, end, id)]}."""
    found = {}
    for chunk in chunks(sorted(set(volunteer_ids))):
        rows = db.session.execute(
            select(ServiceRecord.volunteer_id, ServiceRecord.started_at, ServiceRecord.ended_at, ServiceRecord.id)
            .where(
                ServiceRecord.volunteer_id.in_(chunk),
                ServiceRecord.status.in_(ACTIVE_RECORD_STATUSES),
                ServiceRecord.ended_at > earliest,
                ServiceRecord.started_at < latest,
            )
            .order_by(ServiceRecord.volunteer_id, ServiceRecord.started_at)
        ).all()
        for volunteer_id, started_at, ended_at, record_id in rows:
            found.setdefault(volunteer_id, []).append((started_at, ended_at, record_id))
    return found


def overlap_problem(volunteer_id, started_at, ended_at, timezone):
    clash = overlapping_records([volunteer_id], started_at, ended_at).get(volunteer_id)
    if not clash:
        return None
    other_start, other_end, _record_id = clash[0]
    return Problem(
        "started_at",
        _l("This overlaps another service record of the same volunteer (%(start)s to %(end)s)."),
        {"start": local_text(other_start, timezone), "end": local_text(other_end, timezone)},
    )


def local_text(moment, timezone):
    return to_local(moment, timezone).strftime("%Y-%m-%d %H:%M")


def lock_accounts(volunteer_ids):
    """Lock the points accounts of these volunteers in account-id order: {volunteer_id: account}."""
    ids = sorted(set(volunteer_ids))
    pairs = []
    for chunk in chunks(ids):
        pairs += db.session.execute(
            select(PointsAccount.id, PointsAccount.volunteer_id).where(PointsAccount.volunteer_id.in_(chunk))
        ).all()
    accounts = {}
    for chunk in chunks(sorted(account_id for account_id, _ in pairs)):
        for account in lock(PointsAccount, PointsAccount.id.in_(chunk)):
            accounts[account.volunteer_id] = account
    if len(accounts) != len(ids):
        raise NotFound(_l("That volunteer has no points account."))
    return accounts


def _profile_of(user):
    profile = getattr(user, "volunteer", None)
    if profile is None:
        raise PermissionDenied(_l("Only registered volunteers can do that."))
    return profile


def _add_record(*, profile, organization, category, started_at, ended_at, source, entered_by_id, now, **extra):
    """Validate and add one pending record; the caller holds the volunteer's account lock."""
    problem = (
        time_problem(started_at, ended_at, now, max_service_minutes(organization))
        or category_problem(category)
        or overlap_problem(profile.id, started_at, ended_at, organization.timezone)
    )
    if problem:
        raise problem.error()
    record = ServiceRecord(
        volunteer_id=profile.id,
        organization_id=organization.id,
        category=category,
        started_at=started_at,
        ended_at=ended_at,
        minutes=whole_minutes(started_at, ended_at),
        source=source,
        status="pending",
        entered_by_id=entered_by_id,
        created_at=now,
        updated_at=now,
        **extra,
    )
    db.session.add(record)
    db.session.flush()
    return record


def _add_verified_minutes(minutes_by_volunteer):
    """Add minutes to volunteers' verified minutes in one batched statement (SQL arithmetic,
    so no stale value is written back); the caller holds their account locks."""
    changes = [{"profile": v, "change": m} for v, m in sorted(minutes_by_volunteer.items()) if m]
    if changes:
        table = VolunteerProfile.__table__
        db.session.flush()
        db.session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("profile"))
            .values(verified_minutes=table.c.verified_minutes + bindparam("change")),
            changes,
        )
        for profile in db.session.identity_map.values():
            if isinstance(profile, VolunteerProfile):
                db.session.expire(profile, ["verified_minutes"])
