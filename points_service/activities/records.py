"""Service records: entered by hand or reported, approved or rejected, reversed; what a volunteer sees.

Service that really happened becomes points here, in four steps: an organizer
publishes an activity; volunteers sign up (a waiting list when it is full); service is
recorded (check-in/check-out, organizer entry, self report, spreadsheet import, see
``imports``); a responsible person approves it, which rates it with the rules domain and
writes exactly one earn entry in the ledger.

Invariants kept here (DESIGN.md section 4):

- 7: an approved record with an award above zero has exactly one earn entry, keyed
  ``service-record:<id>:earn``, so approving twice does nothing; pending and approved
  records of one volunteer never overlap in time;
- 9: nobody approves a record they entered, imported, checked in or performed;
- a volunteer's ``verified_minutes`` equals the sum of ``verified_minutes`` of their
  approved records: the minutes the rules credit (after their rounding), which the
  rules also use for milestones and star levels.

Every operation that writes for a volunteer locks the volunteer's points account row
first (accounts in id order when there are several), so that two approvals or two new
records of one volunteer serialize and caps, day totals and overlap checks see each
other. All datetimes passed in and stored are naive UTC; pages convert from and to the
organization's time zone.
"""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, bindparam, cast, func, select, update
from sqlalchemy.orm import selectinload

from .. import authz
from ..accounts.models import User, VolunteerProfile
from ..accounts.service import mask_name, volunteer_by_member_number
from ..audit.service import record_audit
from ..database import lock, lock_one, write_transaction
from ..errors import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..i18n import N_
from ..ledger import service as ledger
from ..ledger.models import LedgerEntry, PointsAccount
from ..organizations.models import Organization
from ..rules import service as rules
from ..timeutil import to_local, to_utc
from .common import MAX_TEXT, MIN_EVIDENCE_LENGTH, _add_record, _id, _now, _profile_of, _text, chunks, lock_accounts
from .models import ServiceRecord
from .publishing import activity_for_staff

EARN_REASON = N_("Volunteer service")
REVERSE_REASON = N_("Service record reversed")
# Status words for messages that name a record's status ("This record is rejected ...").
RECORD_STATUS_WORDS = {
    "pending": _l("pending approval"),
    "approved": _l("approved"),
    "rejected": _l("rejected"),
    "reversed": _l("reversed"),
}


# -- records entered by hand -----------------------------------------------------------


def enter_record(actor, *, member_no, organization, category, started_at, ended_at, urgent=False, note=None, now=None):
    """An organizer's entry of service done for ``organization``; another person approves it."""
    authz.require(actor, "record.enter", organization)
    note = _text(note, field="note", label=_l("note"), maximum=255, required=False) or None
    profile = volunteer_by_member_number(member_no)
    now = _now(now)
    with write_transaction():
        lock_accounts([profile.id])
        record = _add_record(
            profile=profile,
            organization=organization,
            category=category,
            started_at=started_at,
            ended_at=ended_at,
            source="organizer",
            entered_by_id=actor.id,
            now=now,
            urgent=bool(urgent),
            note=note,
        )
        record_audit(
            actor,
            "record.enter",
            "service_record",
            record.id,
            organization_id=organization.id,
            after={"volunteer_id": profile.id, "category": category, "minutes": record.minutes},
        )
    return record


def report_service(user, *, category, started_at, ended_at, evidence, now=None):
    """A volunteer's own report of service for their home community; needs evidence and approval."""
    profile = _profile_of(user)
    evidence = _text(evidence, field="evidence", label=_l("evidence"), maximum=MAX_TEXT, required=False)
    if len(evidence) < MIN_EVIDENCE_LENGTH:
        raise ValidationError(
            _l("Describe what you did and who can confirm it, in at least %(n)s characters."),
            n=MIN_EVIDENCE_LENGTH,
            details={"field": "evidence"},
        )
    now = _now(now)
    with write_transaction():
        lock_accounts([profile.id])
        return _add_record(
            profile=profile,
            organization=profile.home_organization,
            category=category,
            started_at=started_at,
            ended_at=ended_at,
            source="self_report",
            entered_by_id=user.id,
            now=now,
            evidence=evidence,
        )


# -- approval -------------------------------------------------------------------------


def get_record(record_id):
    record = db.session.get(ServiceRecord, _id(record_id))
    if record is None:
        raise NotFound(_l("That service record does not exist."))
    return record


def record_for_staff(actor, record_id, permission="record.approve"):
    record = get_record(record_id)
    authz.require(actor, permission, record.organization)
    return record


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


def _local_day_bounds(moment, timezone):
    day = to_local(moment, timezone).date()
    start = datetime.combine(day, time())
    month = start.replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    return (
        (timezone, day),
        (to_utc(start, timezone), to_utc(start + timedelta(days=1), timezone)),
        (timezone, month.date()),
        (to_utc(month, timezone), to_utc(next_month, timezone)),
    )


class HistoryBook:
    """The rules' ``VolunteerHistory`` of each record, read in a few grouped queries and
    kept current in memory while the records of one unit of work are approved."""

    def __init__(self, records):
        volunteer_ids = sorted({r.volunteer_id for r in records})
        self.minutes, self.count, self.day, self.month = {}, {}, {}, {}
        self._keys = {}
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
        days, months = {}, {}
        for record in records:
            day_key, day_span, month_key, month_span = _local_day_bounds(
                record.started_at, record.organization.timezone
            )
            self._keys[record.id] = (day_key, month_key)
            days.setdefault(day_key, (day_span, set()))[1].add(record.volunteer_id)
            months.setdefault(month_key, (month_span, set()))[1].add(record.volunteer_id)
        for target, spans in ((self.day, days), (self.month, months)):
            for key, ((start, end), volunteers) in spans.items():
                for chunk in chunks(sorted(volunteers)):
                    for volunteer_id, points in db.session.execute(
                        select(ServiceRecord.volunteer_id, func.coalesce(func.sum(ServiceRecord.points), 0))
                        .where(
                            ServiceRecord.volunteer_id.in_(chunk),
                            ServiceRecord.status == "approved",
                            ServiceRecord.started_at >= start,
                            ServiceRecord.started_at < end,
                        )
                        .group_by(ServiceRecord.volunteer_id)
                    ).all():
                        target[(volunteer_id, key)] = int(points)

    def history(self, record):
        day_key, month_key = self._keys[record.id]
        v = record.volunteer_id
        return rules.VolunteerHistory(
            lifetime_minutes=self.minutes.get(v, 0),
            approved_records=self.count.get(v, 0),
            points_same_day=self.day.get((v, day_key), 0),
            points_same_month=self.month.get((v, month_key), 0),
        )

    def add(self, record, minutes, points):
        day_key, month_key = self._keys[record.id]
        v = record.volunteer_id
        self.minutes[v] = self.minutes.get(v, 0) + minutes
        self.count[v] = self.count.get(v, 0) + 1
        self.day[(v, day_key)] = self.day.get((v, day_key), 0) + points
        self.month[(v, month_key)] = self.month.get((v, month_key), 0) + points


def applicable_rule_set(record, cache):
    """The published rule set that rates ``record`` (None: none applies), looked up once per
    organization and local day in ``cache``."""
    day = to_local(record.started_at, record.organization.timezone).date()
    key = (record.organization_id, day)
    if key not in cache:
        cache[key] = rules.applicable_rule_set(record.organization, day)
    return cache[key]


def _rate_and_credit(actor, record, account, book, now, rule_sets, day_kinds):
    """Rate one locked pending record and write its earn entry: ``(award, entry or None)``.

    The record itself is changed later, by ``_store_award``, so that the records of a
    whole activity are written in one batch instead of one flush per ledger write.
    """
    award = rules.rate_service(
        organization=record.organization,
        category=record.category,
        started_at=record.started_at,
        ended_at=record.ended_at,
        urgent=record.urgent,
        history=book.history(record),
        rule_set=applicable_rule_set(record, rule_sets),  # None: rate_service says none applies
        awarded_at=now,
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
    book.add(record, award.minutes, award.points)
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


def _check_reason(reason, record_id=None):
    text = reason.strip() if isinstance(reason, str) else ""
    if not text or len(text) > 255:
        details = {"field": "reason"} if record_id is None else {"field": f"reason-{record_id}", "record_id": record_id}
        raise ValidationError(
            _l("A rejection needs a reason of 1 to 255 characters that the volunteer will see."), details=details
        )
    return text


@dataclass
class Decisions:
    """What one approval action did."""

    approved: list = field(default_factory=list)
    rejected: list = field(default_factory=list)
    excluded: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # records this actor may not approve (four eyes)
    not_pending: list = field(default_factory=list)


def approve_record(actor, record_id, now=None):
    """Approve one pending record: rate it, credit it once, count its minutes. Approving again does nothing."""
    record = record_for_staff(actor, record_id)
    if record.status == "approved":
        return record
    decisions = decide_records(actor, [record.id], now=now)
    if decisions.skipped:
        _require_second_person(actor, record)
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
    this actor may not approve (four eyes) are skipped and reported, not approved.
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
    records; each record is checked against the actor's subtree and four eyes.
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
        awards = [
            _rate_and_credit(actor, r, accounts[r.volunteer_id], book, now, rule_sets, day_kinds) for r in to_approve
        ]
        minutes = {}
        for record, (award, entry) in zip(to_approve, awards, strict=True):
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


# -- reversal -------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordReversal:
    record: ServiceRecord
    points_removed: int
    shortfall: int


def reverse_record(actor, record_id, reason, now=None):
    """An administrator takes an approved record back: its points (what remains of them;
    the rest is a shortfall for the admin to settle) and its minutes."""
    record = record_for_staff(actor, record_id, "record.reverse")
    reason = _text(reason, field="reason", label=_l("reason"), maximum=255)
    now = _now(now)
    with write_transaction():
        lock_accounts([record.volunteer_id])
        record = lock_one(ServiceRecord, ServiceRecord.id == record.id)
        if record.status == "reversed":
            return RecordReversal(record, 0, 0)
        if record.status != "approved":
            raise Conflict(
                _l("Only an approved record can be reversed; this one is %(status)s."),
                status=RECORD_STATUS_WORDS.get(record.status, record.status),
            )
        removed = shortfall = 0
        for entry in _credits_of(record):
            result = ledger.reverse_entry(
                entry.id,
                reason=REVERSE_REASON,
                actor_id=actor.id,
                idempotency_key=f"service-record:{record.id}:reverse:{entry.id}",
                cause_type="service_record",
                cause_id=record.id,
                now=now,
            )
            removed -= result.entry.delta if result.entry else 0
            shortfall += result.shortfall
        record.status = "reversed"
        record.reversed_by_id = actor.id
        record.reversed_at = now
        record.reversal_reason = reason
        record.updated_at = now
        db.session.flush()
        _add_verified_minutes({record.volunteer_id: -record.verified_minutes})
        record_audit(
            actor,
            "record.reverse",
            "service_record",
            record.id,
            organization_id=record.organization_id,
            before={"status": "approved", "points": record.points},
            after={"status": "reversed", "points_removed": removed, "shortfall": shortfall, "reason": reason},
        )
    return RecordReversal(get_record(record.id), removed, shortfall)


def _credits_of(record):
    """The record's earn and re-rate entries not yet reversed, newest first."""
    reversed_ids = select(LedgerEntry.reverses_entry_id).where(LedgerEntry.reverses_entry_id.is_not(None))
    return (
        db.session.execute(
            select(LedgerEntry)
            .where(
                LedgerEntry.cause_type == "service_record",
                LedgerEntry.cause_id == str(record.id),
                LedgerEntry.kind.in_(("earn", "adjust")),
                LedgerEntry.id.not_in(reversed_ids),
            )
            .order_by(LedgerEntry.id.desc())
        )
        .scalars()
        .all()
    )


# -- what the volunteer sees ----------------------------------------------------------------


def volunteer_level(profile):
    """The star level and next threshold from the volunteer's verified minutes."""
    return rules.star_level(profile.verified_minutes, profile.home_organization)


@dataclass(frozen=True)
class ExplainedRecord:
    record: ServiceRecord
    lines: list


def my_records(user, *, limit=50):
    """The volunteer's records, newest first, each with its award explained in plain words."""
    profile = _profile_of(user)
    records = (
        db.session.execute(
            select(ServiceRecord)
            .where(ServiceRecord.volunteer_id == profile.id)
            .options(selectinload(ServiceRecord.activity))
            .order_by(ServiceRecord.started_at.desc(), ServiceRecord.id.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )
    return [ExplainedRecord(r, rules.explain_award(r.breakdown) if r.breakdown else []) for r in records]


# -- invariant 7 --------------------------------------------------------------------------


def check_service_records():
    """Invariant 7 and the minutes total, in set queries: ``[(account_id or None, problem)]``.

    An approved record with an award above zero has exactly one earn entry, the one it
    names, on its volunteer's account; a record whose award was zero, or that is pending
    or rejected, has none; no earn entry points at a missing record. A volunteer's
    verified minutes equal the minutes of their approved records.
    """
    problems = []
    earns = (
        select(
            LedgerEntry.cause_id.label("cause_id"),
            func.count().label("n"),
            func.min(LedgerEntry.id).label("entry_id"),
            func.min(LedgerEntry.account_id).label("account_id"),
        )
        .where(LedgerEntry.kind == "earn", LedgerEntry.cause_type == "service_record")
        .group_by(LedgerEntry.cause_id)
        .subquery()
    )
    record_key = cast(ServiceRecord.id, String)
    rows = db.session.execute(
        select(
            ServiceRecord.id,
            ServiceRecord.status,
            ServiceRecord.awarded_points,
            ServiceRecord.earn_entry_id,
            PointsAccount.id,
            earns.c.n,
            earns.c.entry_id,
            earns.c.account_id,
        )
        .join(PointsAccount, PointsAccount.volunteer_id == ServiceRecord.volunteer_id)
        .outerjoin(earns, earns.c.cause_id == record_key)
        .where(
            (func.coalesce(earns.c.n, 0) > 1)
            | (func.coalesce(ServiceRecord.earn_entry_id, 0) != func.coalesce(earns.c.entry_id, 0))
            | (ServiceRecord.status.in_(("pending", "rejected")) & (func.coalesce(earns.c.n, 0) > 0))
            | (
                ServiceRecord.status.in_(("approved", "reversed"))
                & (ServiceRecord.awarded_points > 0)
                & (func.coalesce(earns.c.n, 0) != 1)
            )
            | ((earns.c.n == 1) & (PointsAccount.id != earns.c.account_id))
        )
    ).all()
    for record_id, status, awarded, entry_id, account_id, count, earn_id, earn_account in rows:
        problems.append(
            (
                account_id,
                f"service record {record_id} ({status}, awarded {awarded}) has {count or 0} earn entries"
                f" (names {entry_id}, found {earn_id} on account {earn_account})",
            )
        )
    orphans = db.session.execute(
        select(LedgerEntry.account_id, LedgerEntry.id, LedgerEntry.cause_id)
        .outerjoin(ServiceRecord, cast(ServiceRecord.id, String) == LedgerEntry.cause_id)
        .where(LedgerEntry.kind == "earn", LedgerEntry.cause_type == "service_record", ServiceRecord.id.is_(None))
    ).all()
    for account_id, entry_id, cause_id in orphans:
        problems.append((account_id, f"earn entry {entry_id} names service record {cause_id}, which does not exist"))
    totals = (
        select(
            ServiceRecord.volunteer_id.label("volunteer_id"), func.sum(ServiceRecord.verified_minutes).label("minutes")
        )
        .where(ServiceRecord.status == "approved")
        .group_by(ServiceRecord.volunteer_id)
        .subquery()
    )
    for account_id, profile_id, verified, total in db.session.execute(
        select(PointsAccount.id, VolunteerProfile.id, VolunteerProfile.verified_minutes, totals.c.minutes)
        .join(PointsAccount, PointsAccount.volunteer_id == VolunteerProfile.id)
        .outerjoin(totals, totals.c.volunteer_id == VolunteerProfile.id)
        .where(VolunteerProfile.verified_minutes != func.coalesce(totals.c.minutes, 0))
    ).all():
        problems.append(
            (account_id, f"volunteer {profile_id}: verified minutes {verified}, approved records {int(total or 0)}")
        )
    return problems


def volunteer_names(actor, volunteer_ids):
    """Masked names of volunteers for a staff page: {volunteer id: masked name}."""
    if actor is None or not authz.is_staff(actor):
        raise PermissionDenied()
    names = {}
    for chunk in chunks(sorted(set(volunteer_ids))):
        names.update(
            (profile_id, mask_name(name))
            for profile_id, name in db.session.execute(
                select(VolunteerProfile.id, User.name)
                .join(User, User.id == VolunteerProfile.user_id)
                .where(VolunteerProfile.id.in_(chunk))
            ).all()
        )
    return names
