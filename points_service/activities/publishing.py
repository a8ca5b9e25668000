"""Publishing activities and signing up for them.

An organizer publishes an activity with a time window and a capacity; volunteers sign
up, and when it is full they wait in line and move up in order when someone cancels.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from .. import authz
from ..accounts.models import VolunteerProfile
from ..audit.service import record_audit
from ..database import lock_one, write_transaction
from ..errors import Conflict, NotFound, ValidationError
from ..extensions import db
from ..notices import service as notices
from ..organizations.models import Organization
from ..rules import service as rules
from .common import MAX_TEXT, _id, _now, _profile_of, _text, category_problem
from .models import Activity, ActivitySignup, ServiceRecord

MAX_CAPACITY = 10_000
MAX_ACTIVITY_LENGTH = timedelta(days=31)


# -- activities ---------------------------------------------------------------------


def _checked_details(*, title, place, description, starts_at, ends_at, capacity):
    """What an organizer types about an activity, checked; each refusal names its field."""
    title = _text(title, field="title", label=_l("title"), maximum=120)
    place = _text(place, field="place", label=_l("place"), maximum=200)
    description = _text(description, field="description", label=_l("description"), maximum=MAX_TEXT, required=False)
    if not isinstance(starts_at, datetime):
        raise ValidationError(_l("Enter when the activity starts."), details={"field": "starts_at"})
    if not isinstance(ends_at, datetime) or ends_at <= starts_at:
        raise ValidationError(_l("The activity must end after it starts."), details={"field": "ends_at"})
    if ends_at - starts_at > MAX_ACTIVITY_LENGTH:
        raise ValidationError(_l("An activity can last at most 31 days."), details={"field": "ends_at"})
    if isinstance(capacity, bool) or not isinstance(capacity, int) or not 1 <= capacity <= MAX_CAPACITY:
        raise ValidationError(
            _l("The capacity must be a whole number from 1 to %(n)s."), n=MAX_CAPACITY, details={"field": "capacity"}
        )
    return {
        "title": title,
        "place": place,
        "description": description,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "capacity": capacity,
    }


def create_activity(
    actor,
    *,
    organization,
    title,
    category,
    place,
    starts_at,
    ends_at,
    capacity,
    description="",
    urgent=False,
    now=None,
):
    """Publish an activity of ``organization`` (times naive UTC); the actor is its organizer."""
    authz.require(actor, "activity.manage", organization)
    details = _checked_details(
        title=title, place=place, description=description, starts_at=starts_at, ends_at=ends_at, capacity=capacity
    )
    title, capacity = details["title"], details["capacity"]
    problem = category_problem(category)
    if problem:
        raise problem.error()
    now = _now(now)
    with write_transaction() as session:
        activity = Activity(
            organization_id=organization.id,
            category=category,
            **details,
            urgent=bool(urgent),
            status="published",
            organizer_id=actor.id,
            checkin_secret=secrets.token_hex(32),
            created_at=now,
            updated_at=now,
        )
        session.add(activity)
        session.flush()
        record_audit(
            actor,
            "activity.create",
            "activity",
            activity.id,
            organization_id=organization.id,
            after={"title": title, "category": category, "capacity": capacity, "urgent": bool(urgent)},
        )
    return activity


EDITABLE = ("title", "place", "description", "starts_at", "ends_at", "capacity")
# What the people signed up are told about: when and where.
TOLD = ("starts_at", "ends_at", "place")


def _someone_came(activity_id):
    checked_in = select(ActivitySignup.id).where(
        ActivitySignup.activity_id == activity_id, ActivitySignup.checked_in_at.is_not(None)
    )
    recorded = select(ServiceRecord.id).where(ServiceRecord.activity_id == activity_id)
    return db.session.execute(select(checked_in.exists() | recorded.exists())).scalar_one()


def update_activity(actor, activity_id, *, title, place, description, starts_at, ends_at, capacity, now=None):
    """Change an activity's title, place, description, times or capacity; returns the fields changed.

    Everyone signed up (with a place or waiting) is told when the time or the place
    changes. The time stays once someone has checked in or service is recorded for the
    activity; the capacity never drops below the places already taken (more places move
    the waiting list up). A cancelled or ended activity does not change.
    """
    details = _checked_details(
        title=title, place=place, description=description, starts_at=starts_at, ends_at=ends_at, capacity=capacity
    )
    now = _now(now)
    with write_transaction():
        activity = lock_one(Activity, Activity.id == _id(activity_id))
        if activity is None:
            raise NotFound(_l("That activity does not exist."))
        authz.require(actor, "activity.manage", activity.organization)
        if activity.status == "cancelled":
            raise Conflict(_l("This activity was cancelled."))
        if now >= activity.ends_at:
            raise Conflict(_l("This activity has ended; it can no longer be changed."))
        changed = [name for name in EDITABLE if getattr(activity, name) != details[name]]
        if not changed:
            return []
        if {"starts_at", "ends_at"} & set(changed) and _someone_came(activity.id):
            raise Conflict(
                _l("Someone has already checked in or has service recorded, so the time can no longer change."),
                details={"field": "starts_at"},
            )
        taken = _confirmed_count(activity.id)
        if details["capacity"] < taken:
            raise ValidationError(
                _l("%(n)s people already have a place; the capacity cannot be lower."),
                n=taken,
                details={"field": "capacity"},
            )
        before = {name: getattr(activity, name) for name in changed}
        for name in changed:
            setattr(activity, name, details[name])
        activity.updated_at = now
        db.session.flush()
        _promote_waiting(activity, now)
        if set(TOLD) & set(changed):
            _tell_signed_up(activity, before, now)
        record_audit(
            actor,
            "activity.update",
            "activity",
            activity.id,
            organization_id=activity.organization_id,
            before=_audit_values(before),
            after=_audit_values({name: getattr(activity, name) for name in changed}),
        )
    return changed


def _audit_values(values):
    return {name: value.isoformat() if isinstance(value, datetime) else value for name, value in values.items()}


def _signed_up_users(activity_id, statuses=("confirmed", "waiting")):
    return (
        db.session.execute(
            select(VolunteerProfile.user_id)
            .join(ActivitySignup, ActivitySignup.volunteer_id == VolunteerProfile.id)
            .where(ActivitySignup.activity_id == activity_id, ActivitySignup.status.in_(statuses))
        )
        .scalars()
        .all()
    )


def _tell_signed_up(activity, before, now):
    facts = {"activity_id": activity.id, "title": activity.title, "timezone": activity.organization.timezone}
    for name in TOLD:
        facts[name] = getattr(activity, name)
        if name in before:
            facts[f"previous_{name}"] = before[name]
    notices.notify(_signed_up_users(activity.id), "activity.changed", facts, now=now)


def cancel_activity(actor, activity_id, now=None):
    """Cancel a published activity: no more sign-ups or check-ins; records stay as they are."""
    now = _now(now)
    with write_transaction():
        activity = lock_one(Activity, Activity.id == _id(activity_id))
        if activity is None:
            raise NotFound(_l("That activity does not exist."))
        authz.require(actor, "activity.manage", activity.organization)
        if activity.status == "cancelled":
            return activity
        activity.status = "cancelled"
        activity.updated_at = now
        record_audit(
            actor,
            "activity.cancel",
            "activity",
            activity.id,
            organization_id=activity.organization_id,
            before={"status": "published"},
            after={"status": "cancelled"},
        )
    return activity


def get_activity(activity_id):
    activity = db.session.get(Activity, _id(activity_id))
    if activity is None:
        raise NotFound(_l("That activity does not exist."))
    return activity


def activity_for_staff(actor, activity_id, permission="activity.manage"):
    """The activity, when ``actor`` holds ``permission`` on its organization."""
    activity = get_activity(activity_id)
    authz.require(actor, permission, activity.organization)
    return activity


def list_activities(actor, *, upcoming=False, limit=100, now=None):
    """Activities in the actor's subtrees, newest start first (or upcoming, soonest first)."""
    statement = (
        select(Activity)
        .join(Organization, Organization.id == Activity.organization_id)
        .where(authz.scope_filter(actor, "activity.manage", Organization.path))
    )
    if upcoming:
        statement = statement.where(Activity.ends_at > _now(now)).order_by(Activity.starts_at, Activity.id)
    else:
        statement = statement.order_by(Activity.starts_at.desc(), Activity.id.desc())
    return db.session.execute(statement.limit(limit)).scalars().all()


def _neighbourhood(organization):
    """The subtree a volunteer browses: their home district (or the top of a shorter tree)."""
    ancestor_ids = organization.ancestor_ids
    return db.session.get(Organization, ancestor_ids[min(1, len(ancestor_ids) - 1)])


def list_open_activities(user, *, limit=50, now=None):
    """Published activities near the volunteer's home that have not ended, soonest first."""
    profile = _profile_of(user)
    area = _neighbourhood(profile.home_organization)
    statement = (
        select(Activity)
        .join(Organization, Organization.id == Activity.organization_id)
        .where(
            Activity.status == "published",
            Activity.ends_at > _now(now),
            Organization.path.startswith(area.path),
        )
        .order_by(Activity.starts_at, Activity.id)
        .limit(limit)
    )
    return db.session.execute(statement).scalars().all()


@dataclass(frozen=True)
class ActivityView:
    """An activity as a volunteer sees it: places taken and their own sign-up."""

    activity: Activity
    confirmed: int
    waiting: int
    signup: ActivitySignup | None

    @property
    def full(self):
        return self.confirmed >= self.activity.capacity


def activity_for_volunteer(user, activity_id):
    profile = _profile_of(user)
    activity = get_activity(activity_id)
    counts = dict(
        db.session.execute(
            select(ActivitySignup.status, func.count())
            .where(ActivitySignup.activity_id == activity.id)
            .group_by(ActivitySignup.status)
        ).all()
    )
    signup = _signup_of(activity.id, profile.id)
    return ActivityView(activity, counts.get("confirmed", 0), counts.get("waiting", 0), signup)


def organizations_in_scope(actor, permission):
    """The nodes where ``actor`` holds ``permission``, in tree order (for choosing one in a form)."""
    roots = authz.scope_roots(actor, permission)
    if not roots:
        return []
    statement = (
        select(Organization)
        .where(or_(*(Organization.path.startswith(root.path) for root in roots)))
        .order_by(Organization.path)
    )
    return db.session.execute(statement).scalars().all()


def category_label(code):
    return rules.category_label(code)


def list_categories():
    return rules.list_categories(active_only=True)


# -- sign-ups -----------------------------------------------------------------------


def _signup_of(activity_id, volunteer_id):
    return db.session.execute(
        select(ActivitySignup).where(
            ActivitySignup.activity_id == activity_id, ActivitySignup.volunteer_id == volunteer_id
        )
    ).scalar_one_or_none()


def _confirmed_count(activity_id):
    return db.session.execute(
        select(func.count()).where(ActivitySignup.activity_id == activity_id, ActivitySignup.status == "confirmed")
    ).scalar_one()


def _open_activity_locked(activity_id, now):
    activity = lock_one(Activity, Activity.id == _id(activity_id))
    if activity is None:
        raise NotFound(_l("That activity does not exist."))
    if activity.status != "published":
        raise Conflict(_l("This activity was cancelled."))
    if now >= activity.ends_at:
        raise Conflict(_l("This activity has ended."))
    return activity


def sign_up(user, activity_id, now=None):
    """Take a place, or a place on the waiting list when the activity is full. Signing up twice is one sign-up."""
    profile = _profile_of(user)
    now = _now(now)
    with write_transaction() as session:
        activity = _open_activity_locked(activity_id, now)
        signup = _signup_of(activity.id, profile.id)
        if signup is not None and signup.status != "cancelled":
            return signup
        status = "confirmed" if _confirmed_count(activity.id) < activity.capacity else "waiting"
        if signup is None:
            signup = ActivitySignup(activity_id=activity.id, volunteer_id=profile.id)
            session.add(signup)
        signup.status = status
        signup.signed_up_at = now
        signup.cancelled_at = None
        session.flush()
    return signup


def cancel_signup(user, activity_id, now=None):
    """Give the place back; the first on the waiting list moves up."""
    profile = _profile_of(user)
    now = _now(now)
    with write_transaction():
        activity = _open_activity_locked(activity_id, now)
        signup = _signup_of(activity.id, profile.id)
        if signup is None:
            raise NotFound(_l("You are not signed up for this activity."))
        if signup.status == "cancelled":
            return signup
        if signup.checked_in_at is not None:
            raise Conflict(_l("You have already checked in; ask the organizer if you cannot stay."))
        was_confirmed = signup.status == "confirmed"
        signup.status = "cancelled"
        signup.cancelled_at = now
        db.session.flush()
        if was_confirmed:
            _promote_waiting(activity, now)
    return signup


def _promote_waiting(activity, now=None):
    """Give free places to the waiting list in order; those moved up are told."""
    free = activity.capacity - _confirmed_count(activity.id)
    if free <= 0:
        return []
    waiting = (
        db.session.execute(
            select(ActivitySignup)
            .where(ActivitySignup.activity_id == activity.id, ActivitySignup.status == "waiting")
            .order_by(ActivitySignup.signed_up_at, ActivitySignup.id)
            .limit(free)
        )
        .scalars()
        .all()
    )
    for signup in waiting:
        signup.status = "confirmed"
    db.session.flush()
    if waiting:
        notices.notify(
            [signup.volunteer.user_id for signup in waiting],
            "activity.place_confirmed",
            {"activity_id": activity.id, "title": activity.title},
            now=now,
        )
    return waiting


def list_my_signups(user, now=None):
    """The volunteer's sign-ups of activities that have not ended, soonest first."""
    profile = _profile_of(user)
    return (
        db.session.execute(
            select(ActivitySignup)
            .join(Activity, Activity.id == ActivitySignup.activity_id)
            .where(
                ActivitySignup.volunteer_id == profile.id,
                ActivitySignup.status != "cancelled",
                Activity.ends_at > _now(now),
            )
            .options(selectinload(ActivitySignup.activity))
            .order_by(Activity.starts_at)
        )
        .scalars()
        .all()
    )
