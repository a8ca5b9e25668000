"""Notices of points about to expire, left by a scheduled job (``points expiry-notices``).

Each volunteer gets one ``points.expiring`` notice for each moment at which some of their
points expire within their community's warning period (``expiry_warning_days``, set per
organization; 0: no warning): how many points expire then, and when. The notice's key
names the volunteer and the moment and is unique in the database, so a second run, or
two runs at once, leave nothing twice. Points that join a moment already told about are
not told again; the home page always shows the current figure.
"""

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from ..accounts.models import VolunteerProfile
from ..database import write_transaction
from ..extensions import db
from ..ledger.models import PointsAccount, PointsLot
from ..organizations.models import Organization
from ..organizations.settings import largest_value, setting
from ..timeutil import utcnow
from .models import Notice

KIND = "points.expiring"
_BATCH = 500  # rows per INSERT: far below SQLite's limit of bound values


def _key(user_id, expires_at):
    return f"{KIND}:{user_id}:{expires_at.isoformat()}"


def _expiring_soon(now):
    """``(user_id, home organization id, expires_at, points)`` of open lots due within the
    longest warning period any organization may set."""
    horizon = now + timedelta(days=largest_value("expiry_warning_days"))
    return db.session.execute(
        select(
            VolunteerProfile.user_id,
            VolunteerProfile.home_organization_id,
            PointsLot.expires_at,
            func.sum(PointsLot.remaining),
        )
        .join(PointsAccount, PointsAccount.volunteer_id == VolunteerProfile.id)
        .join(PointsLot, PointsLot.account_id == PointsAccount.id)
        .where(
            PointsLot.expired_at.is_(None),
            PointsLot.remaining > 0,
            PointsLot.expires_at > now,
            PointsLot.expires_at <= horizon,
        )
        .group_by(VolunteerProfile.user_id, VolunteerProfile.home_organization_id, PointsLot.expires_at)
        .order_by(VolunteerProfile.user_id, PointsLot.expires_at)
    ).all()


def leave_expiry_notices(now=None):
    """Leave the notices that are due and not left yet; returns how many were left."""
    now = now or utcnow()
    with write_transaction() as session:
        rows = _expiring_soon(now)
        organizations = {
            organization.id: organization
            for organization in session.execute(
                select(Organization).where(Organization.id.in_({row.home_organization_id for row in rows}))
            ).scalars()
        }
        warned = {}
        notices = []
        for user_id, organization_id, expires_at, points in rows:
            organization = organizations[organization_id]
            if organization_id not in warned:
                warned[organization_id] = setting(organization, "expiry_warning_days")
            if expires_at > now + timedelta(days=warned[organization_id]):
                continue
            facts = {"points": int(points), "expires_at": expires_at.isoformat(), "timezone": organization.timezone}
            notices.append(
                {"user_id": user_id, "kind": KIND, "params": facts, "key": _key(user_id, expires_at), "created_at": now}
            )
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        left = 0
        for start in range(0, len(notices), _BATCH):
            batch = insert(Notice).values(notices[start : start + _BATCH])
            statement = batch.on_conflict_do_nothing(index_elements=["key"]).returning(Notice.id)
            left += len(session.execute(statement).all())
    return left
