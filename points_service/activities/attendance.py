"""Attendance: the rotating check-in code, check-in and check-out, the roster.

Checking out (or an organizer marking someone present) adds a pending service record
for the time really served; approval is in ``records``.
"""

import hashlib
import hmac
from base64 import b32encode
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, or_, select

from ..accounts.models import VolunteerProfile
from ..accounts.service import mask_name, volunteer_by_member_number
from ..audit.service import record_audit
from ..codes import normalise_typed
from ..database import lock_one, write_transaction
from ..errors import Conflict, ValidationError
from ..extensions import db
from ..organizations.models import Organization
from ..organizations.settings import largest_value
from .common import (
    Problem,
    _add_record,
    _id,
    _now,
    _profile_of,
    checkin_grace,
    local_text,
    lock_accounts,
    whole_minutes,
)
from .models import Activity, ActivitySignup, ServiceRecord
from .publishing import _neighbourhood, _signup_of, activity_for_staff, get_activity

CHECKIN_WINDOW = timedelta(seconds=60)
_EPOCH = datetime(1970, 1, 1)


# -- the rotating check-in code -------------------------------------------------------


TYPED_DIGITS = 6


@dataclass(frozen=True)
class CheckinCode:
    activity_id: int
    code: str  # in the QR's address
    typed: str  # the same minute's short code, for typing on a phone
    expires_at: datetime


def _window(now):
    return (now - _EPOCH) // CHECKIN_WINDOW


def _code(activity, window):
    digest = hmac.new(activity.checkin_secret.encode(), f"{activity.id}:{window}".encode(), hashlib.sha256).digest()
    return b32encode(digest[:5]).decode()


def _typed_code(activity, window):
    """Six digits a person types, from the activity's secret and the minute (apart from the QR's code)."""
    message = f"{activity.id}:{window}:typed".encode()
    digest = hmac.new(activity.checkin_secret.encode(), message, hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**TYPED_DIGITS:0{TYPED_DIGITS}d}"


def current_checkin_code(actor, activity_id, now=None):
    """The codes to show now (QR and typed); they change every minute and are accepted for two."""
    activity = activity_for_staff(actor, activity_id)
    now = _now(now)
    window = _window(now)
    return CheckinCode(
        activity.id, _code(activity, window), _typed_code(activity, window), _EPOCH + (window + 1) * CHECKIN_WINDOW
    )


def checkin_is_open(activity, now=None):
    """True while volunteers may check in or out: the activity window plus the grace time."""
    now = _now(now)
    grace = checkin_grace(activity.organization)
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
    grace = checkin_grace(activity.organization)
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
    return _attend(user, profile, activity, now)


def _attend(user, profile, activity, now):
    with write_transaction():
        lock_accounts([profile.id])
        activity = lock_one(Activity, Activity.id == activity.id)
        return _toggle_attendance(activity, profile, user, now, staff=False)


def _open_for_checkin(profile, now):
    """Activities whose check-in is open now that the volunteer may walk into or has signed up for."""
    grace = timedelta(minutes=largest_value("checkin_grace_minutes"))  # each activity's own grace below
    neighbourhood = _neighbourhood(profile.home_organization)
    signed_up = select(ActivitySignup.activity_id).where(ActivitySignup.volunteer_id == profile.id)
    candidates = db.session.execute(
        select(Activity)
        .join(Organization, Organization.id == Activity.organization_id)
        .where(
            Activity.status == "published",
            Activity.starts_at <= now + grace,
            Activity.ends_at >= now - grace,
            or_(Organization.path.startswith(neighbourhood.path), Activity.id.in_(signed_up)),
        )
        .order_by(Activity.starts_at, Activity.id)
    ).scalars()
    return [activity for activity in candidates if checkin_is_open(activity, now)]


def check_in_with_typed_code(user, code, now=None):
    """The volunteer typed the six digits on the organizer's screen: check in, or out the second time.

    The digits name no activity: the one whose code of this minute or the last matches,
    among the activities open for check-in now near the volunteer or signed up for.
    """
    profile = _profile_of(user)
    now = _now(now)
    digits = "".join(normalise_typed(code).split()) if isinstance(code, str) else ""
    if not (len(digits) == TYPED_DIGITS and digits.isascii() and digits.isdigit()):
        raise ValidationError(
            _l("Type the %(n)s digits shown under the check-in QR code."), n=TYPED_DIGITS, details={"field": "code"}
        )
    window = _window(now)
    for activity in _open_for_checkin(profile, now):
        if any(hmac.compare_digest(digits, _typed_code(activity, w)) for w in (window, window - 1)):
            return _attend(user, profile, activity, now)
    raise ValidationError(
        _l("This code is wrong or has expired; type the code on the organizer's screen now."),
        details={"field": "code"},
    )


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
