"""The monthly figures as stored, and as the raw tables say they should be.

The figures of service, active volunteers, redemptions by perk and expired points belong
to a place and every node above it; redemptions by perk are compared added up over their
stripes (how a node's figure is split among its rows is the writers' business)."""

from collections import Counter

from sqlalchemy import select

from points_service.activities.models import ServiceRecord
from points_service.extensions import db
from points_service.ledger.models import LedgerEntry, PointsAccount
from points_service.organizations.models import Organization
from points_service.perks.models import Perk, Redemption
from points_service.reports.models import (
    ActiveMonth,
    ExpiryMonth,
    HonorMonth,
    RedemptionMonth,
    ServiceMonth,
    VolunteerMonth,
)
from points_service.timeutil import to_local

FIGURES = ("service", "volunteers", "active", "perks", "counters", "expired", "honor")


def _month(moment, timezone):
    return to_local(moment, timezone).date().replace(day=1)


def stored_figures():
    """{figure: Counter} of what the monthly tables hold (rows at zero left out)."""
    figures = {name: Counter() for name in FIGURES}
    for row in db.session.execute(select(ServiceMonth)).scalars():
        key = (row.organization_id, row.month, row.category)
        figures["service"][key + ("records",)] += row.records
        figures["service"][key + ("minutes",)] += row.minutes
        figures["service"][key + ("points",)] += row.points
    for row in db.session.execute(select(VolunteerMonth)).scalars():
        figures["volunteers"][(row.organization_id, row.month, row.volunteer_id)] += row.records
    for row in db.session.execute(select(ActiveMonth)).scalars():
        figures["active"][(row.organization_id, row.month)] += row.volunteers
    for row in db.session.execute(select(RedemptionMonth)).scalars():
        figures["perks"][(row.organization_id, row.month, row.perk_id, "redemptions")] += row.redemptions
        figures["perks"][(row.organization_id, row.month, row.perk_id, "points")] += row.points
        figures["counters"][(row.organization_id, row.month, "redemptions")] += row.counter_redemptions
        figures["counters"][(row.organization_id, row.month, "points")] += row.counter_points
    for row in db.session.execute(select(ExpiryMonth)).scalars():
        figures["expired"][(row.organization_id, row.month)] += row.points
    for row in db.session.execute(select(HonorMonth)).scalars():
        figures["honor"][(row.organization_id, row.month, row.volunteer_id, "minutes")] += row.minutes
        figures["honor"][(row.organization_id, row.month, row.volunteer_id, "points")] += row.points
    return _without_zeros(figures)


def raw_figures():
    """The same figures computed one row at a time from records, redemptions and entries."""
    figures = {name: Counter() for name in FIGURES}
    for record in db.session.execute(select(ServiceRecord).where(ServiceRecord.status == "approved")).scalars():
        month = _month(record.started_at, record.organization.timezone)
        for level in record.organization.ancestor_ids:
            key = (level, month, record.category)
            figures["service"][key + ("records",)] += 1
            figures["service"][key + ("minutes",)] += record.verified_minutes
            figures["service"][key + ("points",)] += record.points
        home = record.volunteer.home_organization_id
        figures["volunteers"][(home, month, record.volunteer_id)] += 1
        for scope_id in record.organization.ancestor_ids:  # the place and every node above it
            scope = db.session.get(Organization, scope_id)
            honor = (scope_id, _month(record.started_at, scope.timezone), record.volunteer_id)
            figures["honor"][honor + ("minutes",)] += record.verified_minutes
            figures["honor"][honor + ("points",)] += record.points
    for organization_id, month, _volunteer_id in figures["volunteers"]:
        for level in db.session.get(Organization, organization_id).ancestor_ids:
            figures["active"][(level, month)] += 1
    for redemption in db.session.execute(select(Redemption)).scalars():
        if redemption.status not in ("reserved", "fulfilled"):
            continue
        home = redemption.volunteer.home_organization
        for level in home.ancestor_ids:
            key = (level, _month(redemption.created_at, home.timezone), redemption.perk_id)
            figures["perks"][key + ("redemptions",)] += 1
            figures["perks"][key + ("points",)] += redemption.points
        if redemption.status == "fulfilled":
            counter = redemption.counter_organization
            key = (counter.id, _month(redemption.fulfilled_at, counter.timezone))
            figures["counters"][key + ("redemptions",)] += 1
            figures["counters"][key + ("points",)] += redemption.points
    for entry in db.session.execute(select(LedgerEntry).where(LedgerEntry.kind == "expire")).scalars():
        home = db.session.get(PointsAccount, entry.account_id)
        profile_home = _home_of(home.volunteer_id)
        for level in profile_home.ancestor_ids:
            figures["expired"][(level, _month(entry.created_at, profile_home.timezone))] += -entry.delta
    return _without_zeros(figures)


def _home_of(volunteer_id):
    from points_service.accounts.models import VolunteerProfile

    return db.session.get(VolunteerProfile, volunteer_id).home_organization


def _without_zeros(figures):
    return {name: {key: value for key, value in counter.items() if value} for name, counter in figures.items()}


def _inside(node, organization):
    return organization.path.startswith(node.path)


def dashboard_figures(dashboard):
    """The month-by-month figures of a ``reports.service.Dashboard``, rows at zero left out."""
    return {
        "active": {m: n for m, n in dashboard.active_volunteers.items() if n},
        "service": {key: value for key, value in dashboard.service.items() if any(value)},
        "perks": [row for row in dashboard.perks if row[2] or row[3]],
        "counters": [row[:1] + row[2:] for row in dashboard.counters if row[2] or row[3]],
        "redeemed": {m: p for m, p in dashboard.redeemed.items() if p},
        "expired": {m: p for m, p in dashboard.expired.items() if p},
    }


def raw_dashboard_figures(node, months):
    """What ``dashboard_figures`` should say for ``node``'s subtree over ``months``, added up
    one record, redemption and entry at a time."""
    service, active, perks, counters = Counter(), {}, {}, Counter()
    redeemed, expired = Counter(), Counter()
    for record in db.session.execute(select(ServiceRecord).where(ServiceRecord.status == "approved")).scalars():
        month = _month(record.started_at, record.organization.timezone)
        if month not in months:
            continue
        if _inside(node, record.organization):
            key = (month, record.category)
            service[key + ("records",)] += 1
            service[key + ("minutes",)] += record.verified_minutes
            service[key + ("points",)] += record.points
        if _inside(node, record.volunteer.home_organization):
            active.setdefault(month, set()).add(record.volunteer_id)
    for redemption in db.session.execute(select(Redemption)).scalars():
        if redemption.status not in ("reserved", "fulfilled"):
            continue
        home = redemption.volunteer.home_organization
        month = _month(redemption.created_at, home.timezone)
        if _inside(node, home) and month in months:
            count, points = perks.get(redemption.perk_id, (0, 0))
            perks[redemption.perk_id] = (count + 1, points + redemption.points)
            redeemed[month] += redemption.points
        counter = redemption.counter_organization
        handed_over = redemption.status == "fulfilled" and _month(redemption.fulfilled_at, counter.timezone)
        if handed_over in months and _inside(node, counter):
            counters[(counter.id, "redemptions")] += 1
            counters[(counter.id, "points")] += redemption.points
    for entry in db.session.execute(select(LedgerEntry).where(LedgerEntry.kind == "expire")).scalars():
        home = _home_of(db.session.get(PointsAccount, entry.account_id).volunteer_id)
        month = _month(entry.created_at, home.timezone)
        if _inside(node, home) and month in months:
            expired[month] += -entry.delta
    by_points = lambda row: (-row[-1], -row[-2], row[0])  # noqa: E731  (the dashboard's order)
    counter_ids = {counter_id for counter_id, _name in counters}
    return {
        "active": {month: len(volunteers) for month, volunteers in active.items()},
        "service": {
            (m, c): (service[(m, c, "records")], service[(m, c, "minutes")], service[(m, c, "points")])
            for m, c, name in service
            if name == "records" and any(service[(m, c, total)] for total in ("records", "minutes", "points"))
        },
        "perks": sorted(
            [(perk_id, db.session.get(Perk, perk_id).name, n, p) for perk_id, (n, p) in perks.items() if n or p],
            key=by_points,
        ),
        "counters": sorted(
            [(i, counters[(i, "redemptions")], counters[(i, "points")]) for i in counter_ids], key=by_points
        ),
        "redeemed": {m: p for m, p in redeemed.items() if p},
        "expired": {m: p for m, p in expired.items() if p},
    }
