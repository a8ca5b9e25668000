"""The reports dashboard's figures for an administrator's subtree.

Figures over months come from the monthly tables (``models``), which keep each node's
figures for its whole subtree: a few grouped queries over the node's own rows (a few
per month), however long the history and however many nodes lie below. Only the list
of counters reads one row per counter of the subtree that handed something over. Figures of the present moment (points
outstanding, points expiring soon, the approval backlog) come from one indexed query
each over the current tables. Nothing here reads every record.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select

from .. import authz
from ..accounts.models import VolunteerProfile
from ..activities.models import ServiceRecord
from ..errors import NotFound, ValidationError
from ..extensions import db
from ..inputs import MAX_ID
from ..ledger.models import PointsAccount, PointsLot
from ..organizations.models import Organization
from ..perks.models import Perk
from ..timeutil import to_local, utcnow
from .models import ActiveMonth, ExpiryMonth, OrganizationBalance, RedemptionMonth, ServiceMonth

PERMISSION = "report.view"
DEFAULT_MONTHS = 12
MAX_MONTHS = 60
EXPIRY_HORIZONS = (30, 90)
# The approval backlog's age buckets: waiting up to this many days (None: longer).
BACKLOG_BUCKETS = (2, 7, 14, 30, None)


# -- which subtree and which months --------------------------------------------------------


def report_roots(actor):
    """The outermost nodes whose reports ``actor`` may read."""
    return sorted(authz.scope_roots(actor, PERMISSION), key=lambda node: node.path)


def report_organization(actor, organization_id=None):
    """The node to report on: ``organization_id`` when it lies in the actor's subtree (404
    otherwise, as if it did not exist), or the actor's first root."""
    if organization_id is None:
        roots = report_roots(actor)
        if not roots:
            raise NotFound()
        return roots[0]
    node = (
        db.session.get(Organization, organization_id)
        if isinstance(organization_id, int) and 1 <= organization_id <= MAX_ID
        else None
    )
    if node is None or not authz.can(actor, PERMISSION, node):
        raise NotFound()
    return node


def organization_choices(actor, organization):
    """The nodes offered for moving around from ``organization``: the actor's roots, the
    node's ancestors inside them, the node and its children, in tree order."""
    roots = report_roots(actor)
    path = organization.ancestor_ids
    inside = min((path.index(root.id) for root in roots if root.id in path), default=len(path) - 1)
    wanted = {root.id for root in roots} | set(path[inside:])
    nodes = db.session.execute(
        select(Organization).where(Organization.id.in_(wanted) | (Organization.parent_id == organization.id))
    ).scalars()
    return sorted(nodes, key=lambda node: [int(part) for part in node.path.strip("/").split("/")])


def current_month(organization, now=None):
    return to_local(now or utcnow(), organization.timezone).date().replace(day=1)


def add_months(month, count):
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def default_range(organization, now=None):
    """The last ``DEFAULT_MONTHS`` months, this one included (local to ``organization``)."""
    last = current_month(organization, now)
    return add_months(last, 1 - DEFAULT_MONTHS), last


def month_span(first, last):
    """The months from ``first`` to ``last``, checked: in order and at most ``MAX_MONTHS``."""
    if last < first:
        raise ValidationError(_l("The last month must not come before the first."), details={"field": "to"})
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    if count > MAX_MONTHS:
        raise ValidationError(
            _l("Choose at most %(n)s months."), details={"field": "from", "maximum": MAX_MONTHS}, n=MAX_MONTHS
        )
    return [add_months(first, i) for i in range(count)]


# -- the figures -----------------------------------------------------------------------------


@dataclass
class Backlog:
    pending: int = 0
    oldest_days: int | None = None  # how many whole days the oldest has waited
    # Records per age bucket, in the order of ``BACKLOG_BUCKETS``.
    by_age: list = field(default_factory=list)


@dataclass
class Dashboard:
    organization: Organization
    months: list
    active_volunteers: dict  # month -> volunteers
    categories: list  # category codes with service in the months
    service: dict  # (month, category) -> (records, minutes, points)
    perks: list  # (perk id, perk name, redemptions, points), most points first
    counters: list  # (organization id, name, redemptions, points), most points first
    redeemed: dict  # month -> points
    expired: dict  # month -> points
    outstanding: int
    expiring: dict  # days -> points expiring within that many days
    backlog: Backlog

    def earned(self, month):
        return sum(self.service.get((month, category), (0, 0, 0))[2] for category in self.categories)


def _in_subtree(organization):
    return Organization.path.startswith(organization.path)


def _monthly(model, organization, months):
    """The node's own rows of ``model`` in ``months``: its subtree's figures."""
    return select(model).where(
        model.organization_id == organization.id, model.month >= months[0], model.month <= months[-1]
    )


def _active_volunteers(organization, months):
    rows = db.session.execute(
        _monthly(ActiveMonth, organization, months)
        .with_only_columns(ActiveMonth.month, func.sum(ActiveMonth.volunteers))
        .group_by(ActiveMonth.month)
    ).all()
    return {month: int(count) for month, count in rows}


def _service(organization, months):
    rows = db.session.execute(
        _monthly(ServiceMonth, organization, months)
        .with_only_columns(
            ServiceMonth.month,
            ServiceMonth.category,
            func.sum(ServiceMonth.records),
            func.sum(ServiceMonth.minutes),
            func.sum(ServiceMonth.points),
        )
        .group_by(ServiceMonth.month, ServiceMonth.category)
    ).all()
    return {(month, category): (int(r), int(m), int(p)) for month, category, r, m, p in rows if r or m or p}


def _by_month(model, organization, months):
    rows = db.session.execute(
        _monthly(model, organization, months)
        .with_only_columns(model.month, func.sum(model.points))
        .group_by(model.month)
    ).all()
    return {month: int(points) for month, points in rows}


def _redemptions_by_perk(organization, months):
    rows = db.session.execute(
        _monthly(RedemptionMonth, organization, months)
        .join(Perk, Perk.id == RedemptionMonth.perk_id)
        .with_only_columns(Perk.id, Perk.name, func.sum(RedemptionMonth.redemptions), func.sum(RedemptionMonth.points))
        .group_by(Perk.id, Perk.name)
    ).all()
    figures = [(perk_id, name, int(count), int(points)) for perk_id, name, count, points in rows if count or points]
    return sorted(figures, key=lambda row: (-row[3], -row[2], row[0]))


def _redemptions_by_counter(organization, months):
    rows = db.session.execute(
        select(RedemptionMonth)
        .join(Organization, Organization.id == RedemptionMonth.organization_id)
        .where(
            _in_subtree(organization),
            RedemptionMonth.month >= months[0],
            RedemptionMonth.month <= months[-1],
            RedemptionMonth.counter_redemptions != 0,  # the counters' rows only (their index)
        )
        .with_only_columns(
            Organization.id,
            Organization.name,
            func.sum(RedemptionMonth.counter_redemptions),
            func.sum(RedemptionMonth.counter_points),
        )
        .group_by(Organization.id, Organization.name)
    ).all()
    figures = [(node_id, name, int(count), int(points)) for node_id, name, count, points in rows if count or points]
    return sorted(figures, key=lambda row: (-row[3], -row[2], row[0]))


def _volunteers_of(organization):
    return (
        select(PointsAccount.id)
        .join(VolunteerProfile, VolunteerProfile.id == PointsAccount.volunteer_id)
        .join(Organization, Organization.id == VolunteerProfile.home_organization_id)
        .where(_in_subtree(organization))
    )


def points_outstanding(organization, now=None):
    """What the scheme owes the subtree's volunteers now: their balances (one row per home
    organization, ``balances``), less points whose time is up but which the expiry job has
    not yet taken."""
    now = now or utcnow()
    balances = (
        select(func.coalesce(func.sum(OrganizationBalance.points), 0))
        .join(Organization, Organization.id == OrganizationBalance.organization_id)
        .where(_in_subtree(organization))
        .scalar_subquery()
    )
    overdue = (
        select(func.coalesce(func.sum(PointsLot.remaining), 0))
        .where(
            PointsLot.expired_at.is_(None),
            PointsLot.expires_at <= now,
            PointsLot.account_id.in_(_volunteers_of(organization)),
        )
        .scalar_subquery()
    )
    return int(db.session.execute(select(balances - overdue)).scalar_one())


def points_expiring(organization, now=None):
    """{days: points of the subtree's volunteers that expire within that many days}."""
    now = now or utcnow()
    horizon = max(EXPIRY_HORIZONS)
    sums = [
        func.coalesce(func.sum(case((PointsLot.expires_at <= now + timedelta(days=days), PointsLot.remaining))), 0)
        for days in EXPIRY_HORIZONS
    ]
    row = db.session.execute(
        select(*sums).where(
            PointsLot.expired_at.is_(None),
            PointsLot.expires_at > now,
            PointsLot.expires_at <= now + timedelta(days=horizon),
            PointsLot.remaining > 0,
            PointsLot.account_id.in_(_volunteers_of(organization)),
        )
    ).one()
    return {days: int(points) for days, points in zip(EXPIRY_HORIZONS, row, strict=True)}


def approval_backlog(organization, now=None):
    """Pending service records of the subtree: how many, the oldest, and how long they have waited."""
    now = now or utcnow()
    buckets, newer = [], None
    for days in BACKLOG_BUCKETS:
        since = None if days is None else now - timedelta(days=days)
        condition = and_(
            *(() if since is None else (ServiceRecord.created_at > since,)),
            *(() if newer is None else (ServiceRecord.created_at <= newer,)),
        )
        buckets.append(func.coalesce(func.sum(case((condition, 1), else_=0)), 0))
        newer = since
    row = db.session.execute(
        select(func.count(), func.min(ServiceRecord.created_at), *buckets)
        .join(Organization, Organization.id == ServiceRecord.organization_id)
        .where(ServiceRecord.status == "pending", _in_subtree(organization))
    ).one()
    oldest = None if row[1] is None else (now - row[1]).days
    return Backlog(pending=int(row[0]), oldest_days=oldest, by_age=[int(count) for count in row[2:]])


def build_dashboard(actor, organization, months, now=None):
    """Every figure of the dashboard for ``organization``'s subtree over ``months``."""
    authz.require(actor, PERMISSION, organization)
    now = now or utcnow()
    service = _service(organization, months)
    return Dashboard(
        organization=organization,
        months=months,
        active_volunteers=_active_volunteers(organization, months),
        categories=sorted({category for _month, category in service}),
        service=service,
        perks=_redemptions_by_perk(organization, months),
        counters=_redemptions_by_counter(organization, months),
        redeemed=_by_month(RedemptionMonth, organization, months),
        expired=_by_month(ExpiryMonth, organization, months),
        outstanding=points_outstanding(organization, now),
        expiring=points_expiring(organization, now),
        backlog=approval_backlog(organization, now),
    )
