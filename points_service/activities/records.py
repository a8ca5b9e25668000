"""Service records: entered by hand or reported by the volunteer, reversed; what a
volunteer sees; the check of invariant 7.

Service that really happened becomes points in four steps: an organizer publishes an
activity; volunteers sign up (a waiting list when it is full); service is recorded
(check-in/check-out, organizer entry, self report here, spreadsheet import, see
``imports``); a responsible person approves it (see ``approval``), which rates it with
the rules domain and writes exactly one earn entry in the ledger.

Invariants kept here (DESIGN.md section 4):

- 7: pending and approved records of one volunteer never overlap in time, and
  ``check_service_records`` finds any approved record without exactly one earn entry;
- a volunteer's ``verified_minutes`` equals the sum of ``verified_minutes`` of their
  approved records: the minutes the rules credit (after their rounding), which the
  rules also use for milestones and star levels.

Every operation that writes for a volunteer locks the volunteer's points account row
first (accounts in id order when there are several), so that two approvals or two new
records of one volunteer serialize and caps, day totals and overlap checks see each
other. All datetimes passed in and stored are naive UTC; pages convert from and to the
organization's time zone.
"""

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import selectinload

from .. import authz
from ..accounts.models import User, VolunteerProfile
from ..accounts.service import mask_name, volunteer_by_member_number
from ..audit.service import record_audit
from ..database import lock_one, write_transaction
from ..errors import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..i18n import N_
from ..ledger import service as ledger
from ..ledger.models import LedgerEntry, PointsAccount
from ..rules import service as rules
from ..timeutil import to_local
from .common import (
    MAX_TEXT,
    MIN_EVIDENCE_LENGTH,
    _add_record,
    _add_verified_minutes,
    _id,
    _now,
    _profile_of,
    _text,
    chunks,
    lock_accounts,
    self_report_window,
)
from .models import ServiceRecord

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
    """A volunteer's own report of service for their home community; needs evidence and approval.

    Service older than the self-report window (a setting of the home community) or in the
    future is refused."""
    profile = _profile_of(user)
    evidence = _text(evidence, field="evidence", label=_l("evidence"), maximum=MAX_TEXT, required=False)
    if len(evidence) < MIN_EVIDENCE_LENGTH:
        raise ValidationError(
            _l("Describe what you did and who can confirm it, in at least %(n)s characters."),
            n=MIN_EVIDENCE_LENGTH,
            details={"field": "evidence"},
        )
    now = _now(now)
    window = self_report_window(profile.home_organization)
    if isinstance(started_at, datetime) and started_at < now - window:
        raise ValidationError(
            _l(
                "Service can be reported up to %(days)s days after it was done; for service on %(date)s, "
                "ask the organizer of your community to enter it."
            ),
            days=window.days,
            date=to_local(started_at, profile.home_organization.timezone).date().isoformat(),
            details={"field": "started_at"},
        )
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
