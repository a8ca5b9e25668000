"""Activities, sign-ups, check-in, service records, approval, reversal and re-rating.

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

import hashlib
import hmac
import secrets
from base64 import b32encode
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, bindparam, case, cast, func, or_, select, update
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
from ..timeutil import local_midnight_utc, to_local, to_utc, utcnow
from .models import ACTIVE_RECORD_STATUSES, Activity, ActivitySignup, ServiceRecord

CHECKIN_WINDOW = timedelta(seconds=60)
MAX_CAPACITY = 10_000
MAX_ACTIVITY_LENGTH = timedelta(days=31)
MIN_EVIDENCE_LENGTH = 10
MAX_TEXT = 4000
EARN_REASON = N_("Volunteer service")
# Status words for messages that name a record's status ("This record is rejected ...").
RECORD_STATUS_WORDS = {
    "pending": _l("pending approval"),
    "approved": _l("approved"),
    "rejected": _l("rejected"),
    "reversed": _l("reversed"),
}
RERATE_REASON = N_("Points re-rated under new rules")
REVERSE_REASON = N_("Service record reversed")
_EPOCH = datetime(1970, 1, 1)
_CHUNK = 1000


def _now(now):
    return now or utcnow()


def chunks(values, size=_CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _text(value, *, field, label, maximum, required=True):
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise ValidationError(_l("Enter the %(label)s."), label=label, details={"field": field})
    if len(text) > maximum:
        raise ValidationError(
            _l("The %(label)s can have at most %(n)s characters."), label=label, n=maximum, details={"field": field}
        )
    return text


def max_service_minutes():
    return int(current_app.config["MAX_SERVICE_MINUTES"])


def checkin_grace():
    return timedelta(minutes=int(current_app.config["CHECKIN_GRACE_MINUTES"]))


# -- checks shared by every way of recording service ------------------------------------


@dataclass(frozen=True)
class Problem:
    """A refusal before it is raised: a field, a lazy message and its parameters."""

    field: str
    message: object
    params: dict = field(default_factory=dict)

    def render(self):
        return str(self.message) % self.params if self.params else str(self.message)

    def error(self, **details):
        return ValidationError(self.message, details={"field": self.field, **details}, **self.params)


def whole_minutes(started_at, ended_at):
    return (ended_at - started_at) // timedelta(minutes=1)


def time_problem(started_at, ended_at, now, maximum=None):
    """The first thing wrong with a service time span, or None."""
    if not isinstance(started_at, datetime):
        return Problem("started_at", _l("Enter when the service started."))
    if not isinstance(ended_at, datetime):
        return Problem("ended_at", _l("Enter when the service ended."))
    if ended_at <= started_at:
        return Problem("ended_at", _l("The end time must be after the start time."))
    if ended_at > now:
        return Problem("ended_at", _l("Service times cannot be in the future."))
    minutes = whole_minutes(started_at, ended_at)
    if minutes < 1:
        return Problem("ended_at", _l("A service record needs at least one minute."))
    maximum = max_service_minutes() if maximum is None else maximum
    if minutes > maximum:
        return Problem(
            "ended_at",
            _l("A service record can be at most %(hours)s hours %(minutes)s minutes long; split longer service."),
            {"hours": maximum // 60, "minutes": maximum % 60},
        )
    return None


def category_codes():
    return {category.code for category in rules.list_categories(active_only=True)}


def category_problem(category, codes=None):
    codes = category_codes() if codes is None else codes
    if category not in codes:
        return Problem("category", _l("Unknown service category %(category)s."), {"category": category or "-"})
    return None


def overlapping_records(volunteer_ids, earliest, latest):
    """Active records of these volunteers that touch ``[earliest, latest)``: {volunteer: [(start, end, id)]}."""
    found = {}
    for chunk in chunks(sorted(set(volunteer_ids))):
        rows = db.session.execute(
            select(ServiceRecord.volunteer_id, ServiceRecord.started_at, ServiceRecord.ended_at, ServiceRecord.id)
            .where(
                ServiceRecord.volunteer_id.in_(chunk),
                ServiceRecord.status.in_(ACTIVE_RECORD_STATUSES),
                ServiceRecord.ended_at > earliest,
                ServiceRecord.started_at < latest,
            )
            .order_by(ServiceRecord.volunteer_id, ServiceRecord.started_at)
        ).all()
        for volunteer_id, started_at, ended_at, record_id in rows:
            found.setdefault(volunteer_id, []).append((started_at, ended_at, record_id))
    return found


def overlap_problem(volunteer_id, started_at, ended_at, timezone):
    clash = overlapping_records([volunteer_id], started_at, ended_at).get(volunteer_id)
    if not clash:
        return None
    other_start, other_end, _record_id = clash[0]
    return Problem(
        "started_at",
        _l("This overlaps another service record of the same volunteer (%(start)s to %(end)s)."),
        {"start": local_text(other_start, timezone), "end": local_text(other_end, timezone)},
    )


def local_text(moment, timezone):
    return to_local(moment, timezone).strftime("%Y-%m-%d %H:%M")


def lock_accounts(volunteer_ids):
    """Lock the points accounts of these volunteers in account-id order: {volunteer_id: account}."""
    ids = sorted(set(volunteer_ids))
    pairs = []
    for chunk in chunks(ids):
        pairs += db.session.execute(
            select(PointsAccount.id, PointsAccount.volunteer_id).where(PointsAccount.volunteer_id.in_(chunk))
        ).all()
    accounts = {}
    for chunk in chunks(sorted(account_id for account_id, _ in pairs)):
        for account in lock(PointsAccount, PointsAccount.id.in_(chunk)):
            accounts[account.volunteer_id] = account
    if len(accounts) != len(ids):
        raise NotFound(_l("That volunteer has no points account."))
    return accounts


def _profile_of(user):
    profile = getattr(user, "volunteer", None)
    if profile is None:
        raise PermissionDenied(_l("Only registered volunteers can do that."))
    return profile


def _add_record(*, profile, organization, category, started_at, ended_at, source, entered_by_id, now, **extra):
    """Validate and add one pending record; the caller holds the volunteer's account lock."""
    problem = (
        time_problem(started_at, ended_at, now)
        or category_problem(category)
        or overlap_problem(profile.id, started_at, ended_at, organization.timezone)
    )
    if problem:
        raise problem.error()
    record = ServiceRecord(
        volunteer_id=profile.id,
        organization_id=organization.id,
        category=category,
        started_at=started_at,
        ended_at=ended_at,
        minutes=whole_minutes(started_at, ended_at),
        source=source,
        status="pending",
        entered_by_id=entered_by_id,
        created_at=now,
        updated_at=now,
        **extra,
    )
    db.session.add(record)
    db.session.flush()
    return record


# -- activities ---------------------------------------------------------------------


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
    title = _text(title, field="title", label=_l("title"), maximum=120)
    place = _text(place, field="place", label=_l("place"), maximum=200)
    description = _text(description, field="description", label=_l("description"), maximum=MAX_TEXT, required=False)
    problem = category_problem(category)
    if problem:
        raise problem.error()
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
    now = _now(now)
    with write_transaction() as session:
        activity = Activity(
            organization_id=organization.id,
            title=title,
            category=category,
            place=place,
            description=description,
            starts_at=starts_at,
            ends_at=ends_at,
            capacity=capacity,
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


def _id(value):
    if isinstance(value, bool):
        return -1
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


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
            _promote_waiting(activity)
    return signup


def _promote_waiting(activity):
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


# -- the rotating check-in code -------------------------------------------------------


@dataclass(frozen=True)
class CheckinCode:
    activity_id: int
    code: str
    expires_at: datetime


def _window(now):
    return (now - _EPOCH) // CHECKIN_WINDOW


def _code(activity, window):
    digest = hmac.new(activity.checkin_secret.encode(), f"{activity.id}:{window}".encode(), hashlib.sha256).digest()
    return b32encode(digest[:5]).decode()


def current_checkin_code(actor, activity_id, now=None):
    """The code to show as a QR now; it changes every minute and is accepted for two."""
    activity = activity_for_staff(actor, activity_id)
    now = _now(now)
    window = _window(now)
    return CheckinCode(activity.id, _code(activity, window), _EPOCH + (window + 1) * CHECKIN_WINDOW)


def checkin_is_open(activity, now=None):
    """True while volunteers may check in or out: the activity window plus the grace time."""
    now = _now(now)
    grace = checkin_grace()
    return activity.status == "published" and activity.starts_at - grace <= now <= activity.ends_at + grace


def checkin_code_is_valid(activity, code, now):
    text = (code or "").strip().upper() if isinstance(code, str) else ""
    window = _window(now)
    return any(hmac.compare_digest(text, _code(activity, w)) for w in (window, window - 1))


# -- attendance: check-in and check-out ------------------------------------------------


@dataclass(frozen=True)
class Attendance:
    """What one scan or tick did: ``checked_in`` or ``checked_out`` (with the new record)."""

    signup: ActivitySignup
    action: str
    record: ServiceRecord | None = None


def _window_problem(activity, now, action):
    grace = checkin_grace()
    opens, closes = activity.starts_at - grace, activity.ends_at + grace
    if opens <= now <= closes:
        return None
    tz = activity.organization.timezone
    params = {"opens": local_text(opens, tz), "closes": local_text(closes, tz)}
    if action == "in":
        return Problem("code", _l("Check-in for this activity is open from %(opens)s to %(closes)s."), params)
    return Problem(
        "code",
        _l("Check-out for this activity is open until %(closes)s; ask the organizer to record your attendance."),
        params,
    )


def _toggle_attendance(activity, profile, actor, now, *, staff):
    """Check in, or check out and create the pending record (caller holds the account and activity locks)."""
    if activity.status != "published":
        raise Conflict(_l("This activity was cancelled."))
    signup = _signup_of(activity.id, profile.id)
    if signup is not None and signup.record_id is not None:
        raise Conflict(
            _l("Attendance of %(name)s is already recorded for this activity."), name=mask_name(profile.user.name)
        )
    if signup is None or signup.checked_in_at is None:
        problem = _window_problem(activity, now, "in")
        if problem:
            raise problem.error()
        if signup is None:
            # A walk-in: whoever is verified on the spot serves, whatever the capacity.
            signup = ActivitySignup(activity_id=activity.id, volunteer_id=profile.id, signed_up_at=now)
            db.session.add(signup)
        signup.status = "confirmed"
        signup.cancelled_at = None
        signup.checked_in_at = now
        signup.checked_in_by_id = actor.id
        db.session.flush()
        return Attendance(signup, "checked_in")
    problem = _window_problem(activity, now, "out")
    if problem and not staff:
        raise problem.error()
    started_at = max(signup.checked_in_at, activity.starts_at)
    ended_at = min(now, activity.ends_at)
    if whole_minutes(started_at, ended_at) < 1:
        raise Conflict(
            _l("Checked in at %(time)s; check out when the service is done."),
            time=local_text(signup.checked_in_at, activity.organization.timezone),
        )
    return Attendance(signup, "checked_out", _close_attendance(activity, signup, profile, actor, ended_at, now))


def _close_attendance(activity, signup, profile, actor, ended_at, now):
    started_at = max(signup.checked_in_at or activity.starts_at, activity.starts_at)
    staff_ids = [i for i in (signup.checked_in_by_id, actor.id) if i is not None and i != profile.user_id]
    record = _add_record(
        profile=profile,
        organization=activity.organization,
        category=activity.category,
        started_at=started_at,
        ended_at=ended_at,
        source="checkin",
        entered_by_id=staff_ids[0] if staff_ids else profile.user_id,
        now=now,
        activity_id=activity.id,
        urgent=activity.urgent,
    )
    if signup.checked_in_at is None:
        signup.checked_in_at = started_at
        signup.checked_in_by_id = actor.id
    signup.checked_out_at = max(now, signup.checked_in_at)
    signup.checked_out_by_id = actor.id
    signup.record_id = record.id
    signup.status = "confirmed"
    db.session.flush()
    return record


def check_in_with_code(user, activity_id, code, now=None):
    """The volunteer scanned the activity QR: the first scan checks in, the second checks out."""
    profile = _profile_of(user)
    now = _now(now)
    activity = get_activity(activity_id)
    if not checkin_code_is_valid(activity, code, now):
        raise ValidationError(
            _l("This check-in code has expired or is wrong; scan the code on the organizer's screen again."),
            details={"field": "code"},
        )
    with write_transaction():
        lock_accounts([profile.id])
        activity = lock_one(Activity, Activity.id == activity.id)
        return _toggle_attendance(activity, profile, user, now, staff=False)


def check_in_member(actor, activity_id, member_no, now=None):
    """The organizer scanned a volunteer's member QR: check in, or out on the second scan."""
    now = _now(now)
    activity = activity_for_staff(actor, activity_id)
    profile = volunteer_by_member_number(member_no)
    with write_transaction():
        lock_accounts([profile.id])
        activity = lock_one(Activity, Activity.id == activity.id)
        result = _toggle_attendance(activity, profile, actor, now, staff=True)
        _audit_attendance(actor, activity, [result])
    return result


def toggle_attendance(actor, activity_id, volunteer_ids, now=None):
    """Ticked names on the roster: check each in, or out when already in. All or nothing."""
    now = _now(now)
    activity = activity_for_staff(actor, activity_id)
    profiles = _roster_profiles(activity, volunteer_ids)
    with write_transaction():
        lock_accounts(p.id for p in profiles)
        activity = lock_one(Activity, Activity.id == activity.id)
        results = [_toggle_attendance(activity, profile, actor, now, staff=True) for profile in profiles]
        _audit_attendance(actor, activity, results)
    return results


def mark_present(actor, activity_id, volunteer_ids, now=None):
    """After the activity: ticked names served the whole activity (from their check-in, if any).

    Creates one pending record each (entered by the actor, so another person approves
    them); names that already have a record are left alone. All or nothing.
    """
    now = _now(now)
    activity = activity_for_staff(actor, activity_id)
    if now < activity.ends_at:
        raise ValidationError(
            _l("The activity has not ended yet; check volunteers in and out while it runs."),
            details={"field": "volunteers"},
        )
    profiles = _roster_profiles(activity, volunteer_ids)
    with write_transaction():
        lock_accounts(p.id for p in profiles)
        activity = lock_one(Activity, Activity.id == activity.id)
        results = []
        for profile in profiles:
            signup = _signup_of(activity.id, profile.id)
            if signup.record_id is not None:
                continue
            ended_at = min(signup.checked_out_at or activity.ends_at, activity.ends_at)
            try:
                record = _close_attendance(activity, signup, profile, actor, ended_at, now)
            except ValidationError as error:
                raise ValidationError(
                    _l("%(name)s: %(problem)s"),
                    name=mask_name(profile.user.name),
                    problem=error.render_message(),
                    details={**error.details, "volunteer_id": profile.id},
                ) from None
            results.append(Attendance(signup, "checked_out", record))
        _audit_attendance(actor, activity, results)
    return results


def _roster_profiles(activity, volunteer_ids):
    ids = sorted({_id(v) for v in volunteer_ids or ()})
    if not ids:
        raise ValidationError(_l("Tick at least one name on the roster."), details={"field": "volunteers"})
    profiles = (
        db.session.execute(
            select(VolunteerProfile)
            .join(ActivitySignup, ActivitySignup.volunteer_id == VolunteerProfile.id)
            .where(ActivitySignup.activity_id == activity.id, VolunteerProfile.id.in_(ids))
            .order_by(VolunteerProfile.id)
        )
        .scalars()
        .all()
    )
    if len(profiles) != len(ids):
        raise ValidationError(_l("Some ticked names are not on this roster; reload the page."))
    return profiles


def _audit_attendance(actor, activity, results):
    for result in results:
        record_audit(
            actor,
            f"attendance.{result.action}",
            "activity_signup",
            result.signup.id,
            organization_id=activity.organization_id,
            after={"record_id": result.record.id if result.record else None},
        )


@dataclass(frozen=True)
class RosterLine:
    signup: ActivitySignup
    record: ServiceRecord | None


def roster(actor, activity_id):
    """Everyone signed up (confirmed first, then waiting, then cancelled) with their record."""
    activity = activity_for_staff(actor, activity_id)
    order = case({"confirmed": 0, "waiting": 1}, value=ActivitySignup.status, else_=2)
    signups = (
        db.session.execute(
            select(ActivitySignup)
            .where(ActivitySignup.activity_id == activity.id)
            .order_by(order, ActivitySignup.signed_up_at, ActivitySignup.id)
        )
        .scalars()
        .all()
    )
    records = {
        r.id: r
        for r in db.session.execute(select(ServiceRecord).where(ServiceRecord.activity_id == activity.id))
        .scalars()
        .all()
    }
    return [RosterLine(s, records.get(s.record_id)) for s in signups]


def activity_records(actor, activity_id, status=None):
    activity = activity_for_staff(actor, activity_id, "record.approve")
    statement = select(ServiceRecord).where(ServiceRecord.activity_id == activity.id)
    if status:
        statement = statement.where(ServiceRecord.status == status)
    return db.session.execute(statement.order_by(ServiceRecord.started_at, ServiceRecord.id)).scalars().all()


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
    facts = []
    running = {}
    for row in rows:
        if row.organization_id not in organizations:
            organizations[row.organization_id] = db.session.get(Organization, row.organization_id)
        node = organizations[row.organization_id]
        day_key, _, month_key, _ = _local_day_bounds(row.started_at, node.timezone)
        state = running.setdefault(row.volunteer_id, {"minutes": 0, "count": 0, "day": {}, "month": {}})
        if row.started_at >= since and row.path.startswith(organization.path):
            history = rules.VolunteerHistory(
                lifetime_minutes=state["minutes"],
                approved_records=state["count"],
                points_same_day=state["day"].get(day_key, 0),
                points_same_month=state["month"].get(month_key, 0),
            )
            facts.append(
                rules.RecordFacts(
                    record_id=row.id,
                    volunteer_id=row.volunteer_id,
                    organization=node,
                    category=row.category,
                    started_at=row.started_at,
                    ended_at=row.ended_at,
                    urgent=row.urgent,
                    history=history,
                    current_points=row.points or 0,
                )
            )
        state["minutes"] += row.verified_minutes or 0
        state["count"] += 1
        state["day"][day_key] = state["day"].get(day_key, 0) + (row.points or 0)
        state["month"][month_key] = state["month"].get(month_key, 0) + (row.points or 0)
    return facts


def simulate_draft(actor, draft, months, now=None, top=10):
    """Run ``draft`` against the last ``months`` months of approved records of its subtree."""
    authz.require(actor, "rules.manage", draft.organization)
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 36:
        raise ValidationError(_l("Choose from 1 to 36 months."), details={"field": "months"})
    now = _now(now)
    facts = _approved_facts(draft.organization, now - timedelta(days=31 * months), now)
    return rules.simulate_rule_set(draft, facts, top=top)


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
        # Changes so far per volunteer, so later records see the new day and month totals and hours.
        shift = {}
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
            day_key, _, month_key, _ = _local_day_bounds(record.started_at, record.organization.timezone)
            day_key, month_key = ("day", day_key), ("month", month_key)
            moved = shift.setdefault(record.volunteer_id, {})
            history = rules.VolunteerHistory(
                lifetime_minutes=max(0, fact.history.lifetime_minutes + minutes_moved.get(record.volunteer_id, 0)),
                approved_records=fact.history.approved_records,
                points_same_day=max(0, fact.history.points_same_day + moved.get(day_key, 0)),
                points_same_month=max(0, fact.history.points_same_month + moved.get(month_key, 0)),
            )
            award = rules.rate_service(
                organization=record.organization,
                category=record.category,
                started_at=record.started_at,
                ended_at=record.ended_at,
                urgent=record.urgent,
                history=history,
                rule_set=rule_set,
                awarded_at=now,
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
            moved[day_key] = moved.get(day_key, 0) + delta
            moved[month_key] = moved.get(month_key, 0) + delta
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
