"""Approval: a responsible person approves or rejects pending service records, one at a
time or a whole activity at once; approving rates a record with the rules domain and
writes exactly one earn entry in the ledger.

Invariants kept here (DESIGN.md section 4):

- 7: an approved record with an award above zero has exactly one earn entry, keyed
  ``service-record:<id>:earn``, so approving twice does nothing;
- 9: nobody approves a record they entered, imported, checked in or performed;
- a volunteer's ``verified_minutes`` equals the sum of ``verified_minutes`` of their
  approved records.

One record never blocks the others: a record the rules cannot rate (no rule table on
its date, a category the table has no rate for) stays pending and is listed with the
reason and what to do, while the rest are approved.

The rules' day and month caps count a volunteer's points for hours per local day and
month (``CapTotals``): never bonuses, and the parts of a record that crosses midnight
on their own days. Every operation locks the volunteers' points accounts first (in id
order), so that two approvals for one volunteer serialize and see each other's totals.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from .. import authz
from ..accounts.models import VolunteerProfile
from ..audit.service import record_audit
from ..database import lock, write_transaction
from ..errors import Conflict, PermissionDenied, ValidationError
from ..extensions import db
from ..i18n import N_
from ..ledger import service as ledger
from ..organizations.models import Organization
from ..rules import service as rules
from ..rules.engine import first_of_month, local_days, service_points_by_day
from ..rules.errors import RulesError
from ..timeutil import to_local
from .common import _add_verified_minutes, _id, _now, chunks, lock_accounts, longest_service_minutes
from .models import ServiceRecord
from .publishing import activity_for_staff
from .records import RECORD_STATUS_WORDS, get_record, record_for_staff

EARN_REASON = N_("Volunteer service")


def may_approve(actor, record):
    """Four eyes: not the person who entered, imported or checked in the service, nor who did it."""
    actor_id = getattr(actor, "id", None)
    return actor_id is not None and actor_id not in (record.entered_by_id, record.volunteer.user_id)


def _require_second_person(actor, record):
    if not may_approve(actor, record):
        raise PermissionDenied(
            _l("You recorded or performed this service yourself; another person must approve it."),
            details={"record_id": record.id},
        )


# -- what the caps count ----------------------------------------------------------------


def record_points_by_day(breakdown, points, started_at, timezone):
    """``{local date: points for hours}`` of an approved record (its award's breakdown;
    a record without one counts its points on its local start date)."""
    start_day = to_local(started_at, timezone).date()
    if not breakdown:
        return {start_day: points or 0}
    return service_points_by_day(breakdown, start_day)


class CapTotals:
    """Points for hours (never bonuses) per volunteer and local day, and per volunteer
    and month: what the rules' day and month caps count."""

    def __init__(self):
        self.days = defaultdict(lambda: defaultdict(int))  # volunteer -> local date -> points
        self.months = defaultdict(lambda: defaultdict(int))  # volunteer -> first of month -> points

    def add(self, volunteer_id, points_by_day, sign=1):
        for day, points in points_by_day.items():
            self.days[volunteer_id][day] += sign * points
            self.months[volunteer_id][first_of_month(day)] += sign * points

    def history(self, volunteer_id, days, lifetime_minutes, approved_records):
        """The rules' history of a record of ``volunteer_id`` touching local ``days``."""
        return rules.VolunteerHistory.from_totals(
            lifetime_minutes, approved_records, days, self.days[volunteer_id], self.months[volunteer_id]
        )


def _next_month(month):
    return (month + timedelta(days=32)).replace(day=1)


class HistoryBook:
    """The rules' ``VolunteerHistory`` of each record, read in a few grouped queries and
    kept current in memory while the records of one unit of work are approved."""

    def __init__(self, records):
        volunteer_ids = sorted({r.volunteer_id for r in records})
        self.minutes, self.count = {}, {}
        self.caps = CapTotals()
        self._days = {r.id: local_days(r.started_at, r.ended_at, r.organization.timezone) for r in records}
        for chunk in chunks(volunteer_ids):
            self.minutes.update(
                db.session.execute(
                    select(VolunteerProfile.id, VolunteerProfile.verified_minutes).where(VolunteerProfile.id.in_(chunk))
                ).all()
            )
            self.count.update(
                db.session.execute(
                    select(ServiceRecord.volunteer_id, func.count())
                    .where(ServiceRecord.volunteer_id.in_(chunk), ServiceRecord.status == "approved")
                    .group_by(ServiceRecord.volunteer_id)
                ).all()
            )
        months = defaultdict(set)
        for record in records:
            for day in self._days[record.id]:
                months[first_of_month(day)].add(record.volunteer_id)
        for month, volunteers in sorted(months.items()):
            self._read_month(month, volunteers)

    def _read_month(self, month, volunteers):
        """Add the points for hours of approved records on the local days of ``month``."""
        # The UTC span of the month in any time zone, and records that may reach into it.
        since = datetime.combine(month, time()) - timedelta(days=1)
        until = datetime.combine(_next_month(month), time()) + timedelta(days=1)
        earliest_start = since - timedelta(minutes=longest_service_minutes())
        for chunk in chunks(sorted(volunteers)):
            rows = db.session.execute(
                select(
                    ServiceRecord.volunteer_id,
                    ServiceRecord.started_at,
                    ServiceRecord.breakdown,
                    ServiceRecord.points,
                    Organization.timezone,
                )
                .join(Organization, Organization.id == ServiceRecord.organization_id)
                .where(
                    ServiceRecord.volunteer_id.in_(chunk),
                    ServiceRecord.status == "approved",
                    ServiceRecord.started_at >= earliest_start,
                    ServiceRecord.started_at < until,
                    ServiceRecord.ended_at > since,
                )
            ).all()
            for volunteer_id, started_at, breakdown, points, timezone in rows:
                by_day = record_points_by_day(breakdown, points, started_at, timezone)
                self.caps.add(volunteer_id, {day: p for day, p in by_day.items() if first_of_month(day) == month})

    def history(self, record):
        v = record.volunteer_id
        return self.caps.history(v, self._days[record.id], self.minutes.get(v, 0), self.count.get(v, 0))

    def add(self, record, award):
        v = record.volunteer_id
        self.minutes[v] = self.minutes.get(v, 0) + award.minutes
        self.count[v] = self.count.get(v, 0) + 1
        self.caps.add(v, service_points_by_day(award.breakdown, self._days[record.id][0]))


def applicable_rule_set(record, cache):
    """The published rule set that rates ``record`` (None: none applies), looked up once per
    organization and local day in ``cache``."""
    day = to_local(record.started_at, record.organization.timezone).date()
    key = (record.organization_id, day)
    if key not in cache:
        cache[key] = rules.applicable_rule_set(record.organization, day)
    return cache[key]


# -- approving ------------------------------------------------------------------------------


def _rate_and_credit(actor, record, account, book, now, rule_sets, day_kinds):
    """Rate one locked pending record and write its earn entry: ``(award, entry or None)``.

    Raises a ``RulesError`` (writing nothing) when the rules cannot rate it. The record
    itself is changed later, by ``_store_award``, so that the records of a whole
    activity are written in one batch instead of one flush per ledger write.
    """
    award = rules.rate_service(
        organization=record.organization,
        category=record.category,
        started_at=record.started_at,
        ended_at=record.ended_at,
        urgent=record.urgent,
        history=book.history(record),
        rule_set=applicable_rule_set(record, rule_sets),  # None: rate_service says none applies
        day_kinds=day_kinds,
    )
    entry = None
    if award.points > 0:
        entry = ledger.earn_points(
            account.id,
            award.points,
            reason=EARN_REASON,
            cause_type="service_record",
            cause_id=record.id,
            actor_id=actor.id,
            idempotency_key=f"service-record:{record.id}:earn",
            expires_at=award.expires_at,
            details={"minutes": record.minutes, "rule_set_version": award.rule_set_version},
            now=now,
        )
    book.add(record, award)
    return award, entry


def _store_award(actor, record, award, entry, now):
    record.status = "approved"
    record.approved_by_id = actor.id
    record.approved_at = now
    record.updated_at = now
    record.verified_minutes = award.minutes
    record.awarded_points = record.points = award.points
    record.breakdown = award.breakdown
    record.rule_set_id = award.rule_set_id
    record.rule_set_version = award.rule_set_version
    record.earn_entry_id = entry.id if entry else None
    record_audit(
        actor,
        "record.approve",
        "service_record",
        record.id,
        organization_id=record.organization_id,
        before={"status": "pending"},
        after={"status": "approved", "points": award.points, "verified_minutes": award.minutes},
    )


def _check_reason(reason, record_id=None):
    text = reason.strip() if isinstance(reason, str) else ""
    if not text or len(text) > 255:
        details = {"field": "reason"} if record_id is None else {"field": f"reason-{record_id}", "record_id": record_id}
        raise ValidationError(
            _l("A rejection needs a reason of 1 to 255 characters that the volunteer will see."), details=details
        )
    return text


@dataclass(frozen=True)
class NotApproved:
    """A record the rules could not rate: it stays pending; ``error`` says why and what to do."""

    record: ServiceRecord
    error: RulesError

    @property
    def message(self):
        return self.error.render_message()


@dataclass
class Decisions:
    """What one approval action did."""

    approved: list = field(default_factory=list)
    rejected: list = field(default_factory=list)
    excluded: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # records this actor may not approve (four eyes)
    not_pending: list = field(default_factory=list)
    not_approved: list = field(default_factory=list)  # ``NotApproved``: the rules could not rate them


def approve_record(actor, record_id, now=None):
    """Approve one pending record: rate it, credit it once, count its minutes. Approving again does nothing."""
    record = record_for_staff(actor, record_id)
    if record.status == "approved":
        return record
    decisions = decide_records(actor, [record.id], now=now)
    if decisions.skipped:
        _require_second_person(actor, record)
    if decisions.not_approved:
        raise decisions.not_approved[0].error
    if decisions.not_pending:
        record = get_record(record.id)
        if record.status != "approved":
            raise Conflict(
                _l("This record is %(status)s and can no longer be approved."),
                status=RECORD_STATUS_WORDS.get(record.status, record.status),
            )
    return get_record(record.id)


def reject_record(actor, record_id, reason, now=None):
    """Reject one pending record with a reason the volunteer sees."""
    record = record_for_staff(actor, record_id)
    reason = _check_reason(reason)
    decisions = decide_records(actor, [record.id], reject={record.id: reason}, now=now)
    if decisions.not_pending:
        current = get_record(record.id)
        if current.status != "rejected":
            raise Conflict(
                _l("This record is %(status)s and can no longer be rejected."),
                status=RECORD_STATUS_WORDS.get(current.status, current.status),
            )
    return get_record(record.id)


def approve_activity(actor, activity_id, *, exclude=(), reject=None, only=None, now=None):
    """Approve a whole activity's pending records in one action.

    ``exclude``: record ids left pending; ``reject``: {record id: reason}; ``only``: the
    record ids the approver saw (a record that arrived later stays pending). Records
    this actor may not approve (four eyes) are skipped and reported, not approved;
    records the rules cannot rate stay pending and are listed in ``not_approved``.
    """
    activity = activity_for_staff(actor, activity_id, "record.approve")
    ids = (
        db.session.execute(
            select(ServiceRecord.id).where(ServiceRecord.activity_id == activity.id, ServiceRecord.status == "pending")
        )
        .scalars()
        .all()
    )
    if only is not None:
        seen = {_id(i) for i in only}
        ids = [i for i in ids if i in seen]
    wanted = set(ids)
    return decide_records(
        actor,
        ids,
        exclude={i for i in map(_id, exclude or ()) if i in wanted},
        reject={_id(i): r for i, r in (reject or {}).items() if _id(i) in wanted},
        now=now,
    )


def decide_records(actor, record_ids, *, exclude=(), reject=None, now=None):
    """Approve the records ``record_ids`` except those excluded or rejected, in one unit of work.

    The accounts of all their volunteers are locked first (in id order), then the
    records; each record is checked against the actor's subtree and four eyes. A record
    the rules cannot rate is left pending and listed; the others are approved.
    """
    now = _now(now)
    exclude = set(exclude or ())
    reject = {record_id: _check_reason(reason, record_id) for record_id, reason in (reject or {}).items()}
    decisions = Decisions()
    ids = sorted({_id(i) for i in record_ids})
    if not ids:
        return decisions
    with write_transaction():
        volunteer_ids = set()
        for chunk in chunks(ids):
            volunteer_ids.update(
                db.session.execute(select(ServiceRecord.volunteer_id).where(ServiceRecord.id.in_(chunk))).scalars()
            )
        accounts = lock_accounts(volunteer_ids)
        records = []
        for chunk in chunks(ids):
            records += lock(ServiceRecord, ServiceRecord.id.in_(chunk))
        for record in records:
            authz.require(actor, "record.approve", record.organization)
        records.sort(key=lambda r: (r.started_at, r.id))
        to_approve = []
        for record in records:
            if record.status != "pending":
                decisions.not_pending.append(record)
            elif record.id in exclude:
                decisions.excluded.append(record)
            elif record.id in reject:
                _reject(actor, record, reject[record.id], now)
                decisions.rejected.append(record)
            elif not may_approve(actor, record):
                decisions.skipped.append(record)
            else:
                to_approve.append(record)
        book = HistoryBook(to_approve)
        rule_sets, day_kinds = {}, {}
        minutes = {}
        for record in to_approve:
            try:
                award, entry = _rate_and_credit(
                    actor, record, accounts[record.volunteer_id], book, now, rule_sets, day_kinds
                )
            except RulesError as error:
                decisions.not_approved.append(NotApproved(record, error))
                continue
            _store_award(actor, record, award, entry, now)
            minutes[record.volunteer_id] = minutes.get(record.volunteer_id, 0) + award.minutes
            decisions.approved.append(record)
        db.session.flush()
        _add_verified_minutes(minutes)
    return decisions


def _reject(actor, record, reason, now):
    record.status = "rejected"
    record.rejected_by_id = actor.id
    record.rejected_at = now
    record.rejection_reason = reason
    record.updated_at = now
    record_audit(
        actor,
        "record.reject",
        "service_record",
        record.id,
        organization_id=record.organization_id,
        before={"status": "pending"},
        after={"status": "rejected", "reason": reason},
    )


# -- the approval queue ------------------------------------------------------------------------


def pending_records(actor, *, limit=200):
    """Pending records in the actor's approval scope, oldest first."""
    statement = (
        select(ServiceRecord)
        .join(Organization, Organization.id == ServiceRecord.organization_id)
        .where(ServiceRecord.status == "pending", authz.scope_filter(actor, "record.approve", Organization.path))
        .order_by(ServiceRecord.started_at, ServiceRecord.id)
        .limit(limit)
    )
    return db.session.execute(statement).scalars().all()


def count_pending_records(actor):
    return db.session.execute(
        select(func.count())
        .select_from(ServiceRecord)
        .join(Organization, Organization.id == ServiceRecord.organization_id)
        .where(ServiceRecord.status == "pending", authz.scope_filter(actor, "record.approve", Organization.path))
    ).scalar_one()


def recent_decisions(actor, *, limit=50):
    """Approved, rejected and reversed records in the actor's scope, latest decision first."""
    statement = (
        select(ServiceRecord)
        .join(Organization, Organization.id == ServiceRecord.organization_id)
        .where(ServiceRecord.status != "pending", authz.scope_filter(actor, "record.approve", Organization.path))
        .order_by(ServiceRecord.updated_at.desc(), ServiceRecord.id.desc())
        .limit(limit)
    )
    return db.session.execute(statement).scalars().all()
