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
from points_service.perks.models import Redemption
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
