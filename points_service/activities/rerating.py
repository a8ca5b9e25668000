"""Simulating a draft rule set against past service (a backtest, run in the background
with its progress kept on a ``BacktestRun``), re-rating a period once, and re-rating a
year whose holiday calendar arrived.

A re-rate never edits an award: it adds ledger entries that move each volunteer from
what they were given to what the new rules (or the new day kinds) give, each explained.
"""

import json
import logging
import threading
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Text, cast, select, update

from .. import authz
from ..accounts.models import User
from ..audit.service import record_audit
from ..database import lock, lock_one, write_transaction
from ..errors import NotFound, ValidationError
from ..extensions import db
from ..i18n import N_
from ..ledger import service as ledger
from ..ledger.models import LedgerEntry, PointsAccount
from ..organizations.models import Organization
from ..reports import aggregates as reports
from ..rules import engine
from ..rules import service as rules
from ..rules.calendar import check_year
from ..rules.engine import local_days, service_points_by_day
from ..rules.models import BacktestRun, RuleSet
from ..timeutil import local_midnight_utc, to_local, utcnow
from .approval import CapTotals, applicable_rule_set, record_points_by_day
from .common import _add_verified_minutes, _now, chunks, lock_accounts
from .models import ServiceRecord

RERATE_REASON = N_("Points re-rated under new rules")
CALENDAR_REASON = N_("Holiday calendar entered: points re-rated")


# -- simulation and re-rating ------------------------------------------------------------


def _approved_facts(organization, since, until):
    """``RecordFacts`` of approved records of ``organization``'s subtree started in [since, until),
    with each volunteer's history computed from all their earlier approved records."""
    in_scope = (
        select(ServiceRecord.volunteer_id)
        .join(Organization, Organization.id == ServiceRecord.organization_id)
        .where(
            ServiceRecord.status == "approved",
            ServiceRecord.started_at >= since,
            ServiceRecord.started_at < until,
            Organization.path.startswith(organization.path),
        )
        .distinct()
    )
    rows = db.session.execute(
        select(
            ServiceRecord.id,
            ServiceRecord.volunteer_id,
            ServiceRecord.organization_id,
            ServiceRecord.category,
            ServiceRecord.started_at,
            ServiceRecord.ended_at,
            ServiceRecord.urgent,
            ServiceRecord.verified_minutes,
            ServiceRecord.points,
            # As text: records of one activity and category share their breakdown, which
            # is then decoded once (below) rather than once per record.
            cast(ServiceRecord.breakdown, Text).label("breakdown"),
            Organization.path,
        )
        .join(Organization, Organization.id == ServiceRecord.organization_id)
        .where(
            ServiceRecord.status == "approved",
            ServiceRecord.started_at < until,
            ServiceRecord.volunteer_id.in_(in_scope),
        )
        .order_by(ServiceRecord.volunteer_id, ServiceRecord.started_at, ServiceRecord.id)
    ).all()
    organizations = {}
    points_by_day = {}  # (breakdown text, points, local start date) -> {local date: points}, only read
    facts = []
    running = {}  # volunteer -> [minutes, approved records]
    caps = CapTotals()
    for row in rows:
        if row.organization_id not in organizations:
            organizations[row.organization_id] = db.session.get(Organization, row.organization_id)
        node = organizations[row.organization_id]
        state = running.setdefault(row.volunteer_id, [0, 0])
        days = local_days(row.started_at, row.ended_at, node.timezone)
        key = (row.breakdown, row.points, days[0])
        by_day = points_by_day.get(key)
        if by_day is None:
            breakdown = json.loads(row.breakdown) if row.breakdown is not None else None
            by_day = points_by_day[key] = record_points_by_day(breakdown, row.points, row.started_at, node.timezone)
        if row.started_at >= since and row.path.startswith(organization.path):
            facts.append(
                rules.RecordFacts(
                    record_id=row.id,
                    volunteer_id=row.volunteer_id,
                    organization=node,
                    category=row.category,
                    started_at=row.started_at,
                    ended_at=row.ended_at,
                    urgent=row.urgent,
                    history=caps.history(row.volunteer_id, days, *state),
                    current_points=row.points or 0,
                    current_points_by_day=by_day,
                )
            )
        state[0] += row.verified_minutes or 0
        state[1] += 1
        caps.add(row.volunteer_id, by_day)
    return facts


def simulate_draft(actor, draft, months, now=None, top=10):
    """Run ``draft`` against the last ``months`` months of approved records of its subtree."""
    authz.require(actor, "rules.manage", draft.organization)
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 36:
        raise ValidationError(_l("Choose from 1 to 36 months."), details={"field": "months"})
    now = _now(now)
    facts = _approved_facts(draft.organization, now - timedelta(days=31 * months), now)
    return rules.simulate_rule_set(draft, facts, top=top)


MAX_BACKTEST_DAYS = 3 * 366


@dataclass(frozen=True)
class Backtest:
    """A draft run over a past window (``simulate_rule_set``), with what it means for the
    points the window's volunteers hold now."""

    simulation: rules.Simulation  # ``most_affected``: the ``top`` largest changes
    first_day: date
    last_day: date
    volunteers: int  # volunteers with approved records in the window
    volunteers_changed: int
    outstanding_before: int  # the points those volunteers hold now
    # How that would change if the window were re-rated by the draft: a volunteer who
    # already spent points is never taken below zero (as ``rerate_period`` does).
    outstanding_change: int


def _backtest_window(draft, first_day, last_day, now):
    """The UTC bounds [since, until) of the local dates ``first_day`` to ``last_day``, checked."""
    tz = draft.organization.timezone
    today = to_local(now, tz).date()
    if not isinstance(first_day, date) or not isinstance(last_day, date):
        raise ValidationError(_l("Enter a date as YYYY-MM-DD."), details={"field": "first_day"})
    if last_day < first_day:
        raise ValidationError(_l("The period must end on or after its first day."), details={"field": "last_day"})
    if first_day > today:
        raise ValidationError(_l("Choose a period that has begun."), details={"field": "first_day"})
    if (last_day - first_day).days >= MAX_BACKTEST_DAYS:
        raise ValidationError(
            _l("Choose a period of at most %(days)s days."), days=MAX_BACKTEST_DAYS, details={"field": "last_day"}
        )
    return local_midnight_utc(first_day, tz), min(local_midnight_utc(last_day + timedelta(days=1), tz), now)


def backtest_draft(actor, draft, first_day, last_day, now=None, top=20, progress=None):
    """Rate the approved records of ``draft``'s subtree whose service started on the
    local dates ``first_day`` to ``last_day`` (inclusive, in the past) by the draft and
    compare with the points they got: totals, per category, the ``top`` volunteers with
    the largest change, and the change in points outstanding.

    ``progress(records rated, records in all)``, when given, is told how far it got."""
    authz.require(actor, "rules.manage", draft.organization)
    now = _now(now)
    since, until = _backtest_window(draft, first_day, last_day, now)
    facts = _approved_facts(draft.organization, since, until)
    simulation = rules.simulate_rule_set(
        draft, facts, top=None, progress=None if progress is None else lambda done: progress(done, len(facts))
    )
    changed = [change for change in simulation.most_affected if change.difference]
    balances = {}
    for chunk in chunks([change.volunteer_id for change in simulation.most_affected]):
        balances.update(
            db.session.execute(
                select(PointsAccount.volunteer_id, PointsAccount.balance).where(PointsAccount.volunteer_id.in_(chunk))
            ).all()
        )
    outstanding_change = sum(
        change.difference if change.difference >= 0 else -min(-change.difference, balances.get(change.volunteer_id, 0))
        for change in changed
    )
    return Backtest(
        simulation=replace(simulation, most_affected=changed[:top]),
        first_day=first_day,
        last_day=last_day,
        volunteers=len(simulation.most_affected),
        volunteers_changed=len(changed),
        outstanding_before=sum(balances.values()),
        outstanding_change=outstanding_change,
    )


def backtest_as_json(backtest):
    """A backtest as a JSON document (what a ``BacktestRun`` keeps as its result)."""
    document = asdict(backtest)
    document["first_day"], document["last_day"] = backtest.first_day.isoformat(), backtest.last_day.isoformat()
    return document


def backtest_from_json(document):
    """The ``Backtest`` a JSON document of ``backtest_as_json`` describes."""
    simulation = document["simulation"]
    return Backtest(
        **{
            **document,
            "simulation": rules.Simulation(
                **{
                    **simulation,
                    "categories": [rules.CategoryChange(**line) for line in simulation["categories"]],
                    "most_affected": [rules.VolunteerChange(**line) for line in simulation["most_affected"]],
                }
            ),
            "first_day": date.fromisoformat(document["first_day"]),
            "last_day": date.fromisoformat(document["last_day"]),
        }
    )


# -- backtests in the background ---------------------------------------------------------

# A run whose worker has not reported for this long was interrupted (its process stopped).
BACKTEST_STALE_AFTER = timedelta(minutes=5)
log = logging.getLogger(__name__)


def backtest_run_state(run, now=None):
    """``queued``, ``running``, ``done``, ``failed`` or ``interrupted`` (a queued or running
    run whose worker has not reported for ``BACKTEST_STALE_AFTER``)."""
    if run.status in ("queued", "running") and run.heartbeat_at < _now(now) - BACKTEST_STALE_AFTER:
        return "interrupted"
    return run.status


def request_backtest(actor, draft, first_day, last_day, now=None):
    """Ask for a backtest of ``draft`` over the local dates ``first_day`` to ``last_day``;
    returns ``(run, thread)``.

    The period is checked at once (a ``ValidationError`` names the field). A run of the
    same draft revision and period that is still queued or running is reused, so asking
    twice does the work once. Otherwise a new run is committed and started: in a
    background thread when the app's ``BACKTEST_IN_BACKGROUND`` is on (``thread`` is that
    thread, to join in a test), else here and now (``thread`` is None)."""
    authz.require(actor, "rules.manage", draft.organization)
    now = _now(now)
    _backtest_window(draft, first_day, last_day, now)
    with write_transaction():
        locked = lock_one(RuleSet, RuleSet.id == draft.id)  # two requests at once: one run
        running = db.session.execute(
            select(BacktestRun)
            .where(
                BacktestRun.rule_set_id == locked.id,
                BacktestRun.rule_set_revision == locked.revision,
                BacktestRun.first_day == first_day,
                BacktestRun.last_day == last_day,
                BacktestRun.status.in_(("queued", "running")),
                BacktestRun.heartbeat_at >= now - BACKTEST_STALE_AFTER,
            )
            .order_by(BacktestRun.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if running is not None:
            return running, None
        run = BacktestRun(
            rule_set_id=locked.id,
            rule_set_revision=locked.revision,
            organization_id=locked.organization_id,
            requested_by_id=actor.id,
            first_day=first_day,
            last_day=last_day,
            status="queued",
            created_at=now,
            heartbeat_at=now,
        )
        db.session.add(run)
        db.session.flush()
        run_id = run.id
        record_audit(
            actor,
            "rule_set.backtest",
            "rule_set",
            locked.id,
            organization_id=locked.organization_id,
            after={"run_id": run_id, "first_day": first_day.isoformat(), "last_day": last_day.isoformat()},
        )
    # Committed above: the worker's own session sees the run, and on SQLite this request
    # holds no write lock the worker would wait for.
    app = current_app._get_current_object()
    if not app.config["BACKTEST_IN_BACKGROUND"]:
        run_backtest(app, run_id)
        db.session.commit()  # end any read snapshot this session took before the work was written
        return db.session.get(BacktestRun, run_id), None
    thread = threading.Thread(target=run_backtest, args=(app, run_id), name=f"backtest-{run_id}", daemon=True)
    thread.start()
    return run, thread


def _report(run_id, **values):
    """Write a run's progress on a connection of its own and commit it at once, so that
    other requests see it while the worker's session keeps reading."""
    with db.engine.begin() as connection:
        connection.execute(update(BacktestRun).where(BacktestRun.id == run_id).values(heartbeat_at=utcnow(), **values))


def run_backtest(app, run_id):
    """Do the work of a queued run, in an application context and database session of its
    own: what the background thread runs (and a request, when ``BACKTEST_IN_BACKGROUND``
    is off). The result, or the failure, is committed on the run."""
    with app.app_context():
        try:
            run = db.session.get(BacktestRun, run_id)
            if run is None or run.status != "queued":
                return
            _report(run_id, status="running")
            draft = db.session.get(RuleSet, run.rule_set_id)
            actor = db.session.get(User, run.requested_by_id)
            result = backtest_draft(
                actor,
                draft,
                run.first_day,
                run.last_day,
                now=run.created_at,
                progress=lambda done, total: _report(run_id, done_count=done, total_count=total),
            )
            db.session.rollback()  # end the read; the result goes on the run's row
            _report(run_id, status="done", result=backtest_as_json(result), finished_at=utcnow())
        except Exception as error:
            db.session.rollback()
            log.exception("backtest run %s failed", run_id)
            _report(run_id, status="failed", error=type(error).__name__[:500], finished_at=utcnow())
        finally:
            db.session.remove()


def get_backtest_run(actor, rule_set, run_id):
    """The run ``run_id`` of ``rule_set`` (``NotFound`` when it is another set's run)."""
    authz.require(actor, "rules.manage", rule_set.organization)
    run = db.session.get(BacktestRun, run_id)
    if run is None or run.rule_set_id != rule_set.id:
        raise NotFound()
    return run


def latest_backtest_run(rule_set, finished=False):
    """The newest run of ``rule_set`` at its current revision (only ``done`` ones when
    ``finished``), or None."""
    statement = select(BacktestRun).where(
        BacktestRun.rule_set_id == rule_set.id, BacktestRun.rule_set_revision == rule_set.revision
    )
    if finished:
        statement = statement.where(BacktestRun.status == "done")
    return db.session.execute(statement.order_by(BacktestRun.id.desc()).limit(1)).scalar_one_or_none()


@dataclass
class Rerate:
    """What a re-rate did: records looked at and changed, points added and removed."""

    records: int = 0
    changed: int = 0
    points_added: int = 0
    points_removed: int = 0
    shortfall: int = 0
    already_done: int = 0
    not_covered: int = 0  # records another rule set applies to (a nearer node's, or by date)


def _rule_set_applies(rule_set, record, cache):
    applicable = applicable_rule_set(record, cache)
    return applicable is not None and applicable.id == rule_set.id


def rerate_period(actor, rule_set, start, end, now=None):
    """Re-rate approved records of ``rule_set``'s subtree whose service started on local
    dates ``start`` to ``end`` (inclusive) and to which ``rule_set`` applies (it is the
    published set nearest up the tree on the record's date), writing one adjustment per
    changed record. Idempotent: a record already re-rated under this rule-set version is
    left alone, so running it twice changes nothing. Points that were already spent are
    not taken below zero; the difference is reported as a shortfall."""
    authz.require(actor, "rules.manage", rule_set.organization)
    if rule_set.status != "published":
        raise ValidationError(_l("Only a published rule set can be used to re-rate."), details={"field": "rule_set"})
    if start is None or end is None or end < start:
        raise ValidationError(_l("The period must end on or after its first day."), details={"field": "end"})
    now = _now(now)
    tz = rule_set.organization.timezone
    since = local_midnight_utc(start, tz)
    until = min(local_midnight_utc(end + timedelta(days=1), tz), now)
    result = Rerate()
    with write_transaction():
        facts = _approved_facts(rule_set.organization, since, until)
        accounts = lock_accounts(f.volunteer_id for f in facts)
        records = {}
        for chunk in chunks([f.record_id for f in facts]):
            records.update((r.id, r) for r in lock(ServiceRecord, ServiceRecord.id.in_(chunk)))
        keys = {f"service-record:{f.record_id}:rerate:{rule_set.id}:{rule_set.version}": f for f in facts}
        done = set()
        for chunk in chunks(list(keys)):
            done.update(
                db.session.execute(
                    select(LedgerEntry.idempotency_key).where(LedgerEntry.idempotency_key.in_(chunk))
                ).scalars()
            )
        minutes_moved = {}
        applies, day_kinds = {}, {}
        # Changes of the points for hours so far, so later records see the new day and month totals.
        moved = CapTotals()
        for key, fact in keys.items():
            record = records[fact.record_id]
            result.records += 1
            if record.status != "approved":
                continue
            if key in done or record.rule_set_id == rule_set.id:
                result.already_done += 1
                continue
            if not _rule_set_applies(rule_set, record, applies):
                result.not_covered += 1
                continue
            days = local_days(record.started_at, record.ended_at, record.organization.timezone)
            history = replace(
                fact.history.shifted(days, moved.days[record.volunteer_id], moved.months[record.volunteer_id]),
                lifetime_minutes=max(0, fact.history.lifetime_minutes + minutes_moved.get(record.volunteer_id, 0)),
            )
            award = rules.rate_service(
                organization=record.organization,
                category=record.category,
                started_at=record.started_at,
                ended_at=record.ended_at,
                urgent=record.urgent,
                history=history,
                rule_set=rule_set,
                day_kinds=day_kinds,
            )
            account = accounts[record.volunteer_id]
            delta = award.points - (record.points or 0)
            if delta < 0:
                taken = min(-delta, account.balance)
                result.shortfall += -delta - taken
                delta = -taken
            if delta:
                ledger.adjust_points(
                    account.id,
                    delta,
                    reason=RERATE_REASON,
                    actor_id=actor.id,
                    idempotency_key=key,
                    expires_at=award.expires_at if delta > 0 else None,
                    cause_type="service_record",
                    cause_id=record.id,
                    details={"rule_set_id": rule_set.id, "rule_set_version": rule_set.version},
                    now=now,
                )
                result.changed += 1
                if delta > 0:
                    result.points_added += delta
                else:
                    result.points_removed += -delta
            moved.add(record.volunteer_id, service_points_by_day(award.breakdown, days[0]))
            moved.add(record.volunteer_id, fact.current_points_by_day, sign=-1)
            reports.count_rerate(record, minutes=award.minutes - record.verified_minutes, points=delta)
            record.points = (record.points or 0) + delta
            minutes_moved[record.volunteer_id] = minutes_moved.get(record.volunteer_id, 0) + (
                award.minutes - record.verified_minutes
            )
            record.verified_minutes = award.minutes
            record.breakdown = award.breakdown
            record.rule_set_id = award.rule_set_id
            record.rule_set_version = award.rule_set_version
            record.updated_at = now
        db.session.flush()
        _add_verified_minutes(minutes_moved)
        record_audit(
            actor,
            "record.rerate",
            "rule_set",
            rule_set.id,
            organization_id=rule_set.organization_id,
            after={
                "start": start.isoformat(),
                "end": end.isoformat(),
                "records": result.records,
                "changed": result.changed,
                "points_added": result.points_added,
                "points_removed": result.points_removed,
                "shortfall": result.shortfall,
                "not_covered": result.not_covered,
            },
        )
    return result


# -- a year's holiday calendar arrives ---------------------------------------------------


def _rated_day(breakdown, year):
    """(day kind the record is rated with now, whether its award still notes that ``year``
    had no holiday data), read from its breakdown: the award's header, then any later
    calendar re-rates. (None, False) for a record without a breakdown."""
    kind, missing = None, False
    for step in breakdown or ():
        if step.get("step") == "rule_set":
            kind = step.get("day_kind")
        elif step.get("step") == "calendar_missing" and step.get("year") == year:
            missing = True
        elif step.get("step") == "calendar" and step.get("year") == year:
            kind, missing = step["day_kind"], step["missing"]
    return kind, missing


def _needs_calendar_rerate(breakdown, year, current):
    kind, missing = _rated_day(breakdown, year)
    return kind is not None and (kind != current.kind or (missing and not current.missing))


def rerate_calendar_year(actor, year, organization=None, now=None):
    """Re-rate the approved records of local ``year`` whose day kind is not what the holiday
    data now says, or whose award noted that the year had no data (in ``organization``'s
    subtree, or everywhere when None). Run after a year calendar is entered, or after the
    ``chinese-calendar`` package was upgraded with the year.

    Each record is re-rated by the rule set it was rated with, its day rated once as
    before and once with its kind now, with the same history, so the correction is
    exactly what the day kind changes; it is an adjustment entry (never an edit of the
    earn entry) and a ``calendar`` step appended to the record's breakdown. Idempotent:
    a record re-rated to the current kind is not selected again, so entering the same
    calendar twice corrects once. Points already spent are not taken below zero; the
    rest is reported as a shortfall."""
    year = check_year(year)
    rules.authorize_calendar(actor, organization)
    now = _now(now)
    # Local dates of the year lie within these UTC bounds in every time zone.
    since, until = datetime(year - 1, 12, 31), datetime(year + 1, 1, 2)
    result = Rerate()
    with write_transaction():
        scopes = (
            [organization]
            if organization is not None
            else db.session.execute(select(Organization).where(Organization.parent_id.is_(None))).scalars().all()
        )
        day_kinds = {}
        facts = []
        for scope in scopes:
            facts += _approved_facts(scope, since, until)
        wanted = []
        for fact in facts:
            local_day = to_local(fact.started_at, fact.organization.timezone).date()
            if local_day.year == year:
                wanted.append((fact, local_day))
        records = {}
        for chunk in chunks([fact.record_id for fact, _day in wanted]):
            for record in db.session.execute(
                select(ServiceRecord.id, ServiceRecord.breakdown).where(ServiceRecord.id.in_(chunk))
            ).all():
                records[record.id] = record.breakdown
        wanted = [
            (fact, local_day)
            for fact, local_day in wanted
            if _needs_calendar_rerate(
                records[fact.record_id], year, rules.classify_day_for(fact.organization, local_day, day_kinds)
            )
        ]
        if not wanted:
            return result
        accounts = lock_accounts(fact.volunteer_id for fact, _day in wanted)
        locked = {}
        for chunk in chunks([fact.record_id for fact, _day in wanted]):
            locked.update((r.id, r) for r in lock(ServiceRecord, ServiceRecord.id.in_(chunk)))
        shift = {}  # changes so far per volunteer, day and month: later records see them
        for fact, local_day in wanted:
            record = locked[fact.record_id]
            current = rules.classify_day_for(record.organization, local_day, day_kinds)
            if record.status != "approved" or not _needs_calendar_rerate(record.breakdown, year, current):
                result.already_done += 1
                continue
            result.records += 1
            rated_kind, _missing = _rated_day(record.breakdown, year)
            days = local_days(record.started_at, record.ended_at, record.organization.timezone)
            day_moves = shift.setdefault(("day", record.volunteer_id), {})
            month_moves = shift.setdefault(("month", record.volunteer_id), {})
            history = fact.history.shifted(days, day_moves, month_moves)
            rule_set = rules.get_rule_set(record.rule_set_id)
            rate = {
                "organization": record.organization,
                "category": record.category,
                "started_at": record.started_at,
                "ended_at": record.ended_at,
                "urgent": record.urgent,
                "history": history,
                "rule_set": rule_set,
            }
            before = rules.rate_service(
                **rate, day_kinds=rules.fixed_day_kinds(record.organization, {local_day: rated_kind})
            )
            after = rules.rate_service(**rate, day_kinds=day_kinds)
            delta = after.points - before.points
            account = accounts[record.volunteer_id]
            shortfall = 0
            if delta < 0:
                taken = min(-delta, account.balance)
                shortfall = -delta - taken
                delta = -taken
            earlier = sum(1 for step in record.breakdown if step.get("step") == "calendar" and step["year"] == year)
            if delta:
                ledger.adjust_points(
                    account.id,
                    delta,
                    reason=CALENDAR_REASON,
                    actor_id=getattr(actor, "id", None),
                    idempotency_key=f"service-record:{record.id}:calendar:{year}:{earlier + 1}",
                    expires_at=after.expires_at if delta > 0 else None,
                    cause_type="service_record",
                    cause_id=record.id,
                    details={"year": year, "day_kind": current.kind, "day_kind_before": rated_kind},
                    now=now,
                )
                result.changed += 1
                result.points_added += max(delta, 0)
                result.points_removed += max(-delta, 0)
            result.shortfall += shortfall
            day_moves[days[0]] = day_moves.get(days[0], 0) + delta
            month = engine.first_of_month(days[0])
            month_moves[month] = month_moves.get(month, 0) + delta
            reports.count_rerate(record, minutes=0, points=delta)
            record.points = (record.points or 0) + delta
            record.breakdown = [
                *record.breakdown,
                {
                    "step": "calendar",
                    "year": year,
                    "day_kind_before": rated_kind,
                    "day_kind": current.kind,
                    "missing": current.missing,
                    "shortfall": shortfall,
                    "points": delta,
                },
            ]
            record.updated_at = now
        record_audit(
            actor,
            "record.calendar_rerate",
            "holiday_year",
            year,
            organization_id=organization.id if organization is not None else None,
            after={
                "year": year,
                "records": result.records,
                "changed": result.changed,
                "points_added": result.points_added,
                "points_removed": result.points_removed,
                "shortfall": result.shortfall,
            },
        )
    return result
