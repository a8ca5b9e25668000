"""Keeping the monthly figures current, and recomputing them from the raw tables.

The services that approve, reverse and re-rate service records, redeem and undo
redemptions, and expire points tell this module what changed (``count_service_record``,
``count_rerate``, ``count_redemption``, ``count_handover``, and the ledger's expiry
listener). The changes are summed per figure row in the session and written just before
the unit of work commits, in the same transaction, so a figure changes exactly when the
change it counts is committed. Writing them last, in one fixed order of rows, keeps the
locks on these shared rows short and never in a cycle; each row is an
``INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n``, which concurrent
transactions apply one after the other on PostgreSQL and SQLite alike.

``rebuild_monthly_figures`` recomputes the figures of a subtree from the records,
redemptions and ledger entries (after a migration, or to check them): on PostgreSQL with
one ``INSERT ... SELECT`` per table, so a city's twenty million records are added up by
the database; on SQLite row by row here.
"""

from collections import defaultdict

from sqlalchemy import (
    Date,
    Integer,
    bindparam,
    case,
    cast,
    delete,
    event,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from ..accounts.models import VolunteerProfile
from ..activities.models import ServiceRecord
from ..audit.service import record_audit
from ..database import write_transaction
from ..extensions import db
from ..ledger import service as ledger
from ..ledger.models import LedgerEntry, PointsAccount
from ..organizations.models import Organization
from ..perks.models import Redemption
from ..timeutil import to_local
from .models import (
    MONTHLY_TABLES,
    STRIPES,
    ActiveMonth,
    ExpiryMonth,
    HonorMonth,
    RedemptionMonth,
    ServiceMonth,
    VolunteerMonth,
)

_PENDING = "points_report_changes"
_MOVES = "points_report_moves"
REBUILD_WORK_MEM = "256MB"
_BATCH = 500
# Redemptions that hold their points: counted until voided or expired.
HELD = ("reserved", "fulfilled")

# Per table: the columns that name a row, and the running totals.
_KEYS = {
    ServiceMonth: ("organization_id", "month", "category"),
    VolunteerMonth: ("organization_id", "month", "volunteer_id"),
    ActiveMonth: ("organization_id", "month"),
    RedemptionMonth: ("organization_id", "month", "perk_id", "stripe"),
    ExpiryMonth: ("organization_id", "month"),
    HonorMonth: ("organization_id", "month", "volunteer_id"),
}
_TOTALS = {
    ServiceMonth: ("records", "minutes", "points"),
    VolunteerMonth: ("records",),
    ActiveMonth: ("volunteers",),
    RedemptionMonth: ("redemptions", "points", "counter_redemptions", "counter_points"),
    ExpiryMonth: ("points",),
    HonorMonth: ("minutes", "points"),
}


def month_of(moment, timezone):
    """The first day of the local month of the naive UTC ``moment`` in ``timezone``."""
    return to_local(moment, timezone).date().replace(day=1)


# -- counting changes (called by the services, inside their unit of work) -------------------


def _add(model, key, **amounts):
    rows = db.session().info.setdefault(_PENDING, {}).setdefault(model, {})
    totals = rows.setdefault(key, dict.fromkeys(_TOTALS[model], 0))
    for name, amount in amounts.items():
        totals[name] += amount


def count_service_record(record, sign):
    """An approved record counted (``sign`` 1, at approval) or taken out (-1, at reversal),
    with the minutes and points it holds now."""
    month = month_of(record.started_at, record.organization.timezone)
    for scope_id in record.organization.ancestor_ids:
        _add(
            ServiceMonth,
            (scope_id, month, record.category),
            records=sign,
            minutes=sign * (record.verified_minutes or 0),
            points=sign * (record.points or 0),
        )
    _add(VolunteerMonth, (record.volunteer.home_organization_id, month, record.volunteer_id), records=sign)
    _count_for_honor(record, minutes=sign * (record.verified_minutes or 0), points=sign * (record.points or 0))


def count_rerate(record, *, minutes, points):
    """A re-rate moved an approved record's minutes and points by these amounts."""
    if minutes or points:
        month = month_of(record.started_at, record.organization.timezone)
        for scope_id in record.organization.ancestor_ids:
            _add(ServiceMonth, (scope_id, month, record.category), minutes=minutes, points=points)
        _count_for_honor(record, minutes=minutes, points=points)


def _count_for_honor(record, *, minutes, points):
    """The record's minutes and points in the honor figures of its place and every node above."""
    for scope_id in record.organization.ancestor_ids:
        month = month_of(record.started_at, _organization(scope_id).timezone)
        _add(HonorMonth, (scope_id, month, record.volunteer_id), minutes=minutes, points=points)


def _organization(organization_id):
    return db.session.get(Organization, organization_id)


def count_redemption(redemption, sign):
    """A redemption made (``sign`` 1) or undone (-1; call it before its status changes):
    at the volunteer's home (stripe 0) and every node above it (the volunteer's stripe)."""
    home = redemption.volunteer.home_organization
    month = month_of(redemption.created_at, home.timezone)
    stripe = redemption.volunteer_id % STRIPES
    for scope_id in home.ancestor_ids:
        _add(
            RedemptionMonth,
            (scope_id, month, redemption.perk_id, 0 if scope_id == home.id else stripe),
            redemptions=sign,
            points=sign * redemption.points,
        )
    if redemption.status == "fulfilled" and redemption.counter_organization_id is not None:
        _count_at_counter(redemption, sign)


def count_handover(redemption):
    """An online reservation handed over at a counter (its purchase is counted already)."""
    _count_at_counter(redemption, 1)


def _count_at_counter(redemption, sign):
    counter = _organization(redemption.counter_organization_id)
    month = month_of(redemption.fulfilled_at, counter.timezone)
    _add(
        RedemptionMonth,
        (counter.id, month, redemption.perk_id, 0),
        counter_redemptions=sign,
        counter_points=sign * redemption.points,
    )


@ledger.on_points_expired
def count_expired(account, points, moment):
    """The ledger expired ``points`` of ``account`` at ``moment``: at the volunteer's home
    and every node above it."""
    home = db.session.execute(
        select(Organization)
        .join(VolunteerProfile, VolunteerProfile.home_organization_id == Organization.id)
        .where(VolunteerProfile.id == account.volunteer_id)
    ).scalar_one()
    month = month_of(moment, home.timezone)
    for scope_id in home.ancestor_ids:
        _add(ExpiryMonth, (scope_id, month), points=points)


# -- writing them with the unit of work -----------------------------------------------------


_UPSERTS = {}
_KEPT_UPSERTS = 32  # statements of up to this many rows are kept; a larger batch is built anew


def _upsert_statement(model, count):
    """``INSERT ... VALUES`` (``count`` rows) ``ON CONFLICT DO UPDATE SET n = n + excluded.n
    ... RETURNING`` for the table, as SQL text written the same for PostgreSQL and SQLite.
    Text because SQLAlchemy 2.0 compiles its dialects' ``ON CONFLICT`` inserts again on
    every execution (they have no cache key), which cost the hot paths a compilation per
    commit; a text statement is compiled once, and kept here per table and row count."""
    statement = _UPSERTS.get((model, count))
    if statement is not None:
        return statement
    table, keys, totals = model.__table__, _KEYS[model], _TOTALS[model]
    columns = keys + totals
    rows = ", ".join("(" + ", ".join(f":{name}_{row}" for name in columns) + ")" for row in range(count))
    updates = ", ".join(f"{name} = {table.name}.{name} + excluded.{name}" for name in totals)
    # Only this module's table and column names are written into the text; every value is bound.
    statement = (
        text(
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES {rows} "  # noqa: S608
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates} RETURNING {', '.join(columns)}"
        )
        .bindparams(*(bindparam(f"{name}_{row}", type_=table.c[name].type) for row in range(count) for name in columns))
        .columns(*(table.c[name] for name in columns))
    )
    if count <= _KEPT_UPSERTS:
        _UPSERTS[(model, count)] = statement
    return statement


def _upsert(session, model, rows):
    """Add ``rows`` ({key: {total: amount}}) to the table's rows, in key order; returns
    the rows' keys and totals after the change."""
    keys = _KEYS[model]
    values = [
        {**dict(zip(keys, key, strict=True)), **amounts}
        for key, amounts in sorted(rows.items())
        if any(amounts.values())
    ]
    if not values:
        return []
    after = []
    for start in range(0, len(values), _BATCH):
        batch = values[start : start + _BATCH]
        parameters = {f"{name}_{row}": value for row, given in enumerate(batch) for name, value in given.items()}
        after += session.execute(_upsert_statement(model, len(batch)), parameters).all()
    return after


def _count_crossings(rows, after):
    """Count the volunteers that became active (+1) or stopped being active (-1) with these
    changes of their ``VolunteerMonth`` rows, at their home and every node above it."""
    for home_id, month, volunteer_id, records in after:
        before = records - rows[(home_id, month, volunteer_id)]["records"]
        crossed = 1 if before <= 0 < records else -1 if records <= 0 < before else 0
        if crossed:
            for scope_id in _organization(home_id).ancestor_ids:
                _add(ActiveMonth, (scope_id, month), volunteers=crossed)


@event.listens_for(Session, "before_commit")
def _write_counted_changes(session):
    for moved in session.info.pop(_MOVES, ()):
        _count_move(session, *moved)
    changes = session.info.get(_PENDING) or {}
    for model in MONTHLY_TABLES:
        rows = changes.get(model)
        if rows:
            after = _upsert(session, model, rows)
            if model is VolunteerMonth:
                _count_crossings(rows, after)  # adds to ActiveMonth, written next
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_counted_changes(session, transaction):
    # A rolled-back unit of work takes its counted changes with it.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_MOVES, None)


# -- a node moving to another parent ------------------------------------------------------


@event.listens_for(Organization.parent_id, "set", active_history=True)
def _note_move(node, parent_id, old_parent_id, _initiator):
    if isinstance(old_parent_id, int) and parent_id != old_parent_id:  # not a new node
        db.session().info.setdefault(_MOVES, []).append((node.id, old_parent_id, parent_id))


def _count_move(session, node_id, old_parent_id, new_parent_id):
    """``node_id`` moved from under ``old_parent_id`` to under ``new_parent_id``: its own rows
    (its subtree's figures) leave the levels it left and join those it joined (redemptions
    in stripe 0 there). The honor figures, in each level's time zone, are added up again
    from the subtree's approved records for those levels."""
    before, after = _organization(old_parent_id).ancestor_ids, _organization(new_parent_id).ancestor_ids
    left, joined = [i for i in before if i not in after], [i for i in after if i not in before]
    moves = [(scope_id, -1) for scope_id in left] + [(scope_id, 1) for scope_id in joined]
    for model in (ServiceMonth, ActiveMonth, ExpiryMonth):
        keys, totals = _KEYS[model][1:], _TOTALS[model]
        columns = [model.__table__.c[name] for name in keys + totals]
        for row in session.execute(select(*columns).where(model.organization_id == node_id)):
            key, amounts = tuple(row[: len(keys)]), dict(zip(totals, row[len(keys) :], strict=True))
            for scope_id, sign in moves:
                _add(model, (scope_id, *key), **{name: sign * amount for name, amount in amounts.items()})
    for month, perk_id, redemptions, points in session.execute(
        select(
            RedemptionMonth.month,
            RedemptionMonth.perk_id,
            func.sum(RedemptionMonth.redemptions),
            func.sum(RedemptionMonth.points),
        )
        .where(RedemptionMonth.organization_id == node_id)
        .group_by(RedemptionMonth.month, RedemptionMonth.perk_id)
    ):
        for scope_id, sign in moves:
            _add(RedemptionMonth, (scope_id, month, perk_id, 0), redemptions=sign * redemptions, points=sign * points)
    subtree = select(Organization.id).where(Organization.path.startswith(_organization(node_id).path))
    for started_at, volunteer_id, minutes, points in session.execute(
        select(
            ServiceRecord.started_at, ServiceRecord.volunteer_id, ServiceRecord.verified_minutes, ServiceRecord.points
        )
        .where(ServiceRecord.status == "approved", ServiceRecord.organization_id.in_(subtree))
        .execution_options(yield_per=5000)
    ):
        for scope_id, sign in moves:
            month = month_of(started_at, _organization(scope_id).timezone)
            _add(
                HonorMonth, (scope_id, month, volunteer_id), minutes=sign * (minutes or 0), points=sign * (points or 0)
            )


# -- recomputing from the raw tables --------------------------------------------------------


def _streamed(statement):
    return db.session.execute(statement.execution_options(yield_per=5000))


def _levels(subtree_ids):
    """{organization id: it and every node above it that is rebuilt (all when ``subtree_ids`` is None)}."""
    return {
        node_id: [
            i for i in (int(part) for part in path.strip("/").split("/")) if subtree_ids is None or i in subtree_ids
        ]
        for node_id, path in db.session.execute(select(Organization.id, Organization.path))
    }


def _service_rows(in_scope, levels):
    service = defaultdict(lambda: [0, 0, 0])
    for organization_id, timezone, started_at, category, minutes, points in _streamed(
        select(
            ServiceRecord.organization_id,
            Organization.timezone,
            ServiceRecord.started_at,
            ServiceRecord.category,
            ServiceRecord.verified_minutes,
            ServiceRecord.points,
        )
        .join(Organization, Organization.id == ServiceRecord.organization_id)
        .where(ServiceRecord.status == "approved", in_scope(ServiceRecord.organization_id))
    ):
        month = month_of(started_at, timezone)
        for scope_id in levels[organization_id]:
            totals = service[(scope_id, month, category)]
            totals[0] += 1
            totals[1] += minutes or 0
            totals[2] += points or 0
    return {
        ServiceMonth: [
            {"organization_id": o, "month": m, "category": c, "records": r, "minutes": n, "points": p}
            for (o, m, c), (r, n, p) in service.items()
        ]
    }


def _volunteer_rows(in_scope, levels):
    volunteers = defaultdict(int)
    for home_id, timezone, started_at, volunteer_id in _streamed(
        select(
            VolunteerProfile.home_organization_id,
            Organization.timezone,
            ServiceRecord.started_at,
            ServiceRecord.volunteer_id,
        )
        .join(VolunteerProfile, VolunteerProfile.id == ServiceRecord.volunteer_id)
        .join(Organization, Organization.id == ServiceRecord.organization_id)
        .where(ServiceRecord.status == "approved", in_scope(VolunteerProfile.home_organization_id))
    ):
        volunteers[(home_id, month_of(started_at, timezone), volunteer_id)] += 1
    active = defaultdict(int)
    for home_id, month, _volunteer_id in volunteers:
        for scope_id in levels[home_id]:
            active[(scope_id, month)] += 1
    return {
        VolunteerMonth: [
            {"organization_id": o, "month": m, "volunteer_id": v, "records": r} for (o, m, v), r in volunteers.items()
        ],
        ActiveMonth: [{"organization_id": o, "month": m, "volunteers": n} for (o, m), n in active.items()],
    }


def _redemption_rows(in_scope, levels):
    redemptions = defaultdict(lambda: [0, 0, 0, 0])
    for home_id, timezone, created_at, volunteer_id, perk_id, points in _streamed(
        select(
            Organization.id,
            Organization.timezone,
            Redemption.created_at,
            Redemption.volunteer_id,
            Redemption.perk_id,
            Redemption.points,
        )
        .join(VolunteerProfile, VolunteerProfile.id == Redemption.volunteer_id)
        .join(Organization, Organization.id == VolunteerProfile.home_organization_id)
        .where(Redemption.status.in_(HELD), in_scope(Organization.id))
    ):
        month = month_of(created_at, timezone)
        for scope_id in levels[home_id]:
            totals = redemptions[(scope_id, month, perk_id, 0 if scope_id == home_id else volunteer_id % STRIPES)]
            totals[0] += 1
            totals[1] += points
    for counter_id, timezone, fulfilled_at, perk_id, points in _streamed(
        select(Organization.id, Organization.timezone, Redemption.fulfilled_at, Redemption.perk_id, Redemption.points)
        .join(Organization, Organization.id == Redemption.counter_organization_id)
        .where(Redemption.status == "fulfilled", in_scope(Organization.id))
    ):
        totals = redemptions[(counter_id, month_of(fulfilled_at, timezone), perk_id, 0)]
        totals[2] += 1
        totals[3] += points
    return {
        RedemptionMonth: [
            {
                "organization_id": o,
                "month": m,
                "perk_id": k,
                "stripe": t,
                "redemptions": n,
                "points": p,
                "counter_redemptions": cn,
                "counter_points": cp,
            }
            for (o, m, k, t), (n, p, cn, cp) in redemptions.items()
        ]
    }


def _expiry_rows(in_scope, levels):
    expired = defaultdict(int)
    for home_id, timezone, created_at, delta in _streamed(
        select(Organization.id, Organization.timezone, LedgerEntry.created_at, LedgerEntry.delta)
        .join(PointsAccount, PointsAccount.id == LedgerEntry.account_id)
        .join(VolunteerProfile, VolunteerProfile.id == PointsAccount.volunteer_id)
        .join(Organization, Organization.id == VolunteerProfile.home_organization_id)
        .where(LedgerEntry.kind == "expire", in_scope(Organization.id))
    ):
        month = month_of(created_at, timezone)
        for scope_id in levels[home_id]:
            expired[(scope_id, month)] += -delta
    return {ExpiryMonth: [{"organization_id": o, "month": m, "points": p} for (o, m), p in expired.items()]}


def _honor_rows(in_scope, subtree_ids):
    """The honor figures from the approved records, added up here (SQLite): the rows of
    the nodes in ``subtree_ids`` (every node when None)."""
    timezones = dict(db.session.execute(select(Organization.id, Organization.timezone)).all())
    honor = defaultdict(lambda: [0, 0])
    for path, started_at, volunteer_id, minutes, points in _streamed(
        select(
            Organization.path,
            ServiceRecord.started_at,
            ServiceRecord.volunteer_id,
            ServiceRecord.verified_minutes,
            ServiceRecord.points,
        )
        .join(Organization, Organization.id == ServiceRecord.organization_id)
        .where(ServiceRecord.status == "approved", in_scope(ServiceRecord.organization_id))
    ):
        months = {}
        for scope_id in (int(part) for part in path.strip("/").split("/")):
            if subtree_ids is not None and scope_id not in subtree_ids:
                continue
            timezone = timezones[scope_id]
            if timezone not in months:
                months[timezone] = month_of(started_at, timezone)
            totals = honor[(scope_id, months[timezone], volunteer_id)]
            totals[0] += minutes or 0
            totals[1] += points or 0
    return [
        {"organization_id": o, "month": m, "volunteer_id": v, "minutes": n, "points": p}
        for (o, m, v), (n, p) in honor.items()
    ]


def _local_month(moment, timezone):
    """SQL for ``month_of``: the first day of the local month of a naive UTC ``moment``."""
    return cast(func.date_trunc("month", func.timezone(timezone, func.timezone("UTC", moment))), Date)


def _insert_in_postgresql(session, in_scope, model, rows):
    """Insert ``rows`` (the table's keys, then its totals) into ``model``'s table; returns how
    many rows of the scope it holds (the driver reports no row count for an ``INSERT ...
    SELECT`` built this way)."""
    session.execute(insert(model).from_select(list(_KEYS[model] + _TOTALS[model]), rows))
    return session.execute(select(func.count()).select_from(model).where(in_scope(model.organization_id))).scalar_one()


def _levels_in_postgresql():
    """(place_id, scope_id) for every node and each node from the root down to it, itself included."""
    return select(
        Organization.id.label("place_id"),
        cast(func.unnest(func.string_to_array(func.btrim(Organization.path, "/"), "/")), Integer).label("scope_id"),
    ).subquery()


def _at_every_level(own, keys, totals, levels, in_scope):
    """The rows of ``own`` (figures per place: ``organization_id``, ``keys``, ``totals``)
    added up at their place and every node above it that is rebuilt."""
    grouped = [own.c[name] for name in keys]
    return (
        select(levels.c.scope_id, *grouped, *(func.sum(own.c[name]) for name in totals))
        .select_from(own)
        .join(levels, levels.c.place_id == own.c.organization_id)
        .where(in_scope(levels.c.scope_id))
        .group_by(levels.c.scope_id, *grouped)
    )


def _rebuild_in_postgresql(session, in_scope):
    """The figures added up by PostgreSQL itself, one ``INSERT ... SELECT`` per table (a
    city's millions of records never pass through Python): first per place, then at every
    level above it; the same rows as the Python path (``_service_rows`` and the others),
    which SQLite uses. Returns {table: rows}."""
    record_place, home, scope = aliased(Organization), aliased(Organization), aliased(Organization)
    levels = _levels_in_postgresql()
    approved = ServiceRecord.status == "approved"
    written = {}

    month = _local_month(ServiceRecord.started_at, record_place.timezone).label("month")
    service = (
        select(
            ServiceRecord.organization_id.label("organization_id"),
            month,
            ServiceRecord.category.label("category"),
            func.count().label("records"),
            func.sum(func.coalesce(ServiceRecord.verified_minutes, 0)).label("minutes"),
            func.sum(func.coalesce(ServiceRecord.points, 0)).label("points"),
        )
        .join(record_place, record_place.id == ServiceRecord.organization_id)
        .where(approved, in_scope(ServiceRecord.organization_id))
        .group_by(ServiceRecord.organization_id, month, ServiceRecord.category)
        .subquery()
    )
    written[ServiceMonth] = _insert_in_postgresql(
        session,
        in_scope,
        ServiceMonth,
        _at_every_level(service, ("month", "category"), ("records", "minutes", "points"), levels, in_scope),
    )
    written[VolunteerMonth] = _insert_in_postgresql(
        session,
        in_scope,
        VolunteerMonth,
        select(VolunteerProfile.home_organization_id, month, ServiceRecord.volunteer_id, func.count())
        .join(VolunteerProfile, VolunteerProfile.id == ServiceRecord.volunteer_id)
        .join(record_place, record_place.id == ServiceRecord.organization_id)
        .where(approved, in_scope(VolunteerProfile.home_organization_id))
        .group_by(VolunteerProfile.home_organization_id, month, ServiceRecord.volunteer_id),
    )
    active = (
        select(VolunteerMonth.organization_id, VolunteerMonth.month, func.count().label("volunteers"))
        .where(VolunteerMonth.records > 0, in_scope(VolunteerMonth.organization_id))
        .group_by(VolunteerMonth.organization_id, VolunteerMonth.month)
        .subquery()
    )
    written[ActiveMonth] = _insert_in_postgresql(
        session,
        in_scope,
        ActiveMonth,
        _at_every_level(active, ("month",), ("volunteers",), levels, in_scope),
    )

    made = _local_month(Redemption.created_at, home.timezone).label("month")
    stripe = (Redemption.volunteer_id % STRIPES).label("stripe")
    by_home = (
        select(
            home.id.label("organization_id"),
            made,
            Redemption.perk_id.label("perk_id"),
            stripe,
            func.count().label("redemptions"),
            func.sum(Redemption.points).label("points"),
        )
        .join(VolunteerProfile, VolunteerProfile.id == Redemption.volunteer_id)
        .join(home, home.id == VolunteerProfile.home_organization_id)
        .where(Redemption.status.in_(HELD), in_scope(home.id))
        .group_by(home.id, made, Redemption.perk_id, stripe)
        .subquery()
    )
    handed_over = _local_month(Redemption.fulfilled_at, record_place.timezone)
    both_sides = union_all(
        select(
            levels.c.scope_id.label("organization_id"),
            by_home.c.month,
            by_home.c.perk_id,
            case((levels.c.scope_id == by_home.c.organization_id, 0), else_=by_home.c.stripe).label("stripe"),
            by_home.c.redemptions,
            by_home.c.points,
            literal(0).label("counter_redemptions"),
            literal(0).label("counter_points"),
        )
        .select_from(by_home)
        .join(levels, levels.c.place_id == by_home.c.organization_id)
        .where(in_scope(levels.c.scope_id)),
        select(
            record_place.id,
            handed_over,
            Redemption.perk_id,
            literal(0),
            literal(0),
            literal(0),
            literal(1),
            Redemption.points,
        )
        .join(record_place, record_place.id == Redemption.counter_organization_id)
        .where(Redemption.status == "fulfilled", in_scope(record_place.id)),
    ).subquery()
    grouped = (both_sides.c.organization_id, both_sides.c.month, both_sides.c.perk_id, both_sides.c.stripe)
    written[RedemptionMonth] = _insert_in_postgresql(
        session,
        in_scope,
        RedemptionMonth,
        select(*grouped, *(func.sum(both_sides.c[name]) for name in _TOTALS[RedemptionMonth])).group_by(*grouped),
    )

    expired = _local_month(LedgerEntry.created_at, home.timezone).label("month")
    expiry = (
        select(home.id.label("organization_id"), expired, func.sum(-LedgerEntry.delta).label("points"))
        .join(PointsAccount, PointsAccount.id == LedgerEntry.account_id)
        .join(VolunteerProfile, VolunteerProfile.id == PointsAccount.volunteer_id)
        .join(home, home.id == VolunteerProfile.home_organization_id)
        .where(LedgerEntry.kind == "expire", in_scope(home.id))
        .group_by(home.id, expired)
        .subquery()
    )
    written[ExpiryMonth] = _insert_in_postgresql(
        session,
        in_scope,
        ExpiryMonth,
        _at_every_level(expiry, ("month",), ("points",), levels, in_scope),
    )

    # the honor figures: each record joined to every node above its place, in that node's zone
    honor_month = _local_month(ServiceRecord.started_at, scope.timezone).label("month")
    written[HonorMonth] = _insert_in_postgresql(
        session,
        in_scope,
        HonorMonth,
        select(
            scope.id,
            honor_month,
            ServiceRecord.volunteer_id,
            func.sum(func.coalesce(ServiceRecord.verified_minutes, 0)),
            func.sum(func.coalesce(ServiceRecord.points, 0)),
        )
        .join(record_place, record_place.id == ServiceRecord.organization_id)
        .join(scope, record_place.path.startswith(scope.path))
        .where(approved, in_scope(scope.id))
        .group_by(scope.id, honor_month, ServiceRecord.volunteer_id),
    )
    return {model.__tablename__: count for model, count in written.items()}


def rebuild_monthly_figures(actor, organization=None):
    """Recompute the monthly figures of ``organization``'s subtree (everywhere when None)
    from the raw tables, in one unit of work, audited. Returns {table name: rows written}.

    On PostgreSQL the figure tables are locked first, so a change committing meanwhile
    adds its amounts after the rebuild (its rows are not yet visible to it) or is in what
    the rebuild reads (it committed before), never both or neither.
    """
    if organization is None:
        subtree_ids = None

        def in_scope(column):
            return column.is_not(None)
    else:
        subtree = select(Organization.id).where(Organization.path.startswith(organization.path))
        subtree_ids = set(db.session.execute(subtree).scalars())

        def in_scope(column):
            return column.in_(subtree)

    written = {}
    with write_transaction() as session:
        in_postgresql = session.connection().dialect.name == "postgresql"
        if in_postgresql:
            names = ", ".join(model.__tablename__ for model in MONTHLY_TABLES)
            session.execute(text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))
            # the sums of a city are large hash tables: room for them in memory, for this transaction only
            session.execute(text(f"SET LOCAL work_mem = '{REBUILD_WORK_MEM}'"))
        for model in MONTHLY_TABLES:
            session.execute(delete(model).where(in_scope(model.organization_id)))
        if in_postgresql:
            written = _rebuild_in_postgresql(session, in_scope)
        else:
            levels = _levels(subtree_ids)
            rows = {
                **_service_rows(in_scope, levels),
                **_volunteer_rows(in_scope, levels),
                **_redemption_rows(in_scope, levels),
                **_expiry_rows(in_scope, levels),
                HonorMonth: _honor_rows(in_scope, subtree_ids),
            }
            for model in MONTHLY_TABLES:
                values = rows[model]
                for start in range(0, len(values), _BATCH * 10):
                    session.execute(insert(model), values[start : start + _BATCH * 10])
                written[model.__tablename__] = len(values)
        record_audit(
            actor,
            "reports.rebuild",
            "organization",
            organization.id if organization is not None else None,
            organization_id=organization.id if organization is not None else None,
            after={"rows": written},
        )
    return written
