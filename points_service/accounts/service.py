"""Registering volunteers, creating staff users, granting roles, logging in.

Passwords are hashed with Argon2id. Login failures back off: after 5 failures in a
row an account is locked for a period that doubles with each further failure.
"""

import contextlib
import re
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from .. import authz
from ..audit.service import record_audit
from ..codes import is_valid_member_number, new_member_number, normalise_code
from ..database import write_transaction
from ..errors import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..i18n import N_
from ..ledger import service as ledger
from ..ledger.errors import InvalidReason
from ..organizations.models import Organization
from ..timeutil import utcnow
from .models import ROLES, RoleMembership, User, VolunteerProfile

_hasher = PasswordHasher()
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
MIN_PASSWORD_LENGTH = 8
LOCK_AFTER_FAILURES = 5
# A hash to verify against when the user does not exist, so timing does not tell.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def configure_password_hashing(time_cost=None, memory_cost=None):
    """Set the Argon2id cost (create_app passes the config; tests use a cheap one)."""
    global _hasher, _DUMMY_HASH
    defaults = PasswordHasher()
    _hasher = PasswordHasher(time_cost=time_cost or defaults.time_cost, memory_cost=memory_cost or defaults.memory_cost)
    _DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


def hash_password(password):
    return _hasher.hash(password)


def check_password_strength(password):
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            _l("The password needs at least %(n)s characters."), n=MIN_PASSWORD_LENGTH, details={"field": "password"}
        )
    if len(password) > 128:
        raise ValidationError(_l("The password can have at most 128 characters."), details={"field": "password"})
    if password.isdigit() or password.isalpha():
        raise ValidationError(
            _l("The password needs both letters and digits (or other characters)."), details={"field": "password"}
        )


def normalise_mobile(mobile):
    text = re.sub(r"[\s\-]", "", str(mobile or ""))
    if text.startswith("+86"):
        text = text[3:]
    if not _MOBILE_RE.match(text):
        raise ValidationError(
            _l("Enter an 11-digit mainland mobile number starting with 1."), details={"field": "mobile"}
        )
    return text


def mask_mobile(mobile):
    return f"{mobile[:3]}****{mobile[-4:]}" if mobile and len(mobile) >= 7 else "****"


def mask_name(name):
    """Keep the first character (the family name in Chinese): 张三丰 -> 张**."""
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def _check_name(name):
    text = (name or "").strip() if isinstance(name, str) else ""
    if not 1 <= len(text) <= 80:
        raise ValidationError(_l("Enter a name of 1 to 80 characters."), details={"field": "name"})
    return text


def register_volunteer(*, name, mobile, home_organization_id, password, consent, consent_version, username=None):
    """Self-registration: a user, a volunteer role on the home community, a profile and an account."""
    name = _check_name(name)
    mobile = normalise_mobile(mobile)
    check_password_strength(password)
    if consent is not True:
        raise ValidationError(
            _l("Please read and accept the privacy notice to register."), details={"field": "consent"}
        )
    home = db.session.get(Organization, home_organization_id) if isinstance(home_organization_id, int) else None
    if home is None or home.kind != "community":
        raise ValidationError(_l("Choose your home community from the list."), details={"field": "community"})
    return create_volunteer(
        name=name,
        mobile=mobile,
        home=home,
        password_hash=hash_password(password),
        consent_version=consent_version,
        username=username,
    )


def create_volunteer(*, name, mobile, home, password_hash, consent_version, username=None):
    """Write a validated volunteer: user, volunteer role, profile with member number, account."""
    try:
        with write_transaction() as session:
            if session.execute(select(User.id).where(User.mobile == mobile)).first():
                raise Conflict(
                    _l("This mobile number is already registered; log in instead."), details={"field": "mobile"}
                )
            user = User(
                name=name,
                mobile=mobile,
                username=username,
                password_hash=password_hash,
                session_token=secrets.token_hex(16),
            )
            session.add(user)
            session.flush()
            session.add(RoleMembership(user_id=user.id, organization_id=home.id, role="volunteer"))
            profile = _new_profile(user, home, consent_version)
            ledger.open_account(profile.id)
    except IntegrityError:
        raise Conflict(
            _l("This mobile number is already registered; log in instead."), details={"field": "mobile"}
        ) from None
    return user


def _new_profile(user, home, consent_version):
    for _attempt in range(5):
        member_no = new_member_number()
        if not db.session.execute(select(VolunteerProfile.id).where(VolunteerProfile.member_no == member_no)).first():
            break
    profile = VolunteerProfile(
        user_id=user.id,
        member_no=member_no,
        home_organization_id=home.id,
        consent_version=consent_version,
        consent_at=utcnow(),
    )
    db.session.add(profile)
    db.session.flush()
    return profile


def create_user(*, username, name, password, mobile=None, actor=None):
    """A staff user (no role yet); roles are granted separately."""
    if not isinstance(username, str) or not _USERNAME_RE.match(username):
        raise ValidationError(
            _l("A user name has 3 to 64 letters, digits, dots, dashes or underscores."), details={"field": "username"}
        )
    name = _check_name(name)
    check_password_strength(password)
    mobile = normalise_mobile(mobile) if mobile else None
    try:
        with write_transaction() as session:
            if session.execute(select(User.id).where(User.username == username)).first():
                raise Conflict(
                    _l("The user name %(username)s is taken."), username=username, details={"field": "username"}
                )
            user = User(
                username=username,
                name=name,
                mobile=mobile,
                password_hash=hash_password(password),
                session_token=secrets.token_hex(16),
            )
            session.add(user)
            session.flush()
            record_audit(actor, "user.create", "user", user.id, after={"username": username})
    except IntegrityError:
        raise Conflict(_l("That user name or mobile number is already in use.")) from None
    return user


def grant_role(user, role, organization, actor=None):
    """Grant ``role`` on ``organization``'s subtree. Granting a held role changes nothing."""
    if role not in ROLES:
        raise ValidationError(_l("Unknown role %(role)s; use one of volunteer, organizer, counter, admin."), role=role)
    if organization is None:
        raise NotFound(_l("That organization does not exist."))
    if actor is not None and not authz.can(actor, "user.manage", organization):
        raise PermissionDenied()
    with write_transaction() as session:
        existing = session.execute(
            select(RoleMembership).where(
                RoleMembership.user_id == user.id,
                RoleMembership.organization_id == organization.id,
                RoleMembership.role == role,
            )
        ).scalar_one_or_none()
        if existing:
            return existing
        membership = RoleMembership(
            user_id=user.id, organization_id=organization.id, role=role, granted_by_id=getattr(actor, "id", None)
        )
        session.add(membership)
        session.flush()
        record_audit(actor, "role.grant", "user", user.id, organization_id=organization.id, after={"role": role})
        if role == "volunteer" and user.volunteer is None and organization.kind == "community":
            profile = _new_profile(user, organization, "staff-created")
            ledger.open_account(profile.id)
    db.session.refresh(user)
    return membership


def find_user(login):
    login = (login or "").strip()
    if not login:
        return None
    return db.session.execute(
        select(User).where(or_(User.username == login, User.mobile == login))
    ).scalar_one_or_none()


def authenticate(login, password, now=None):
    """Return the user for a correct login, or raise with one message for every failure."""
    now = now or utcnow()
    failure = ValidationError(_l("Wrong user name, mobile number or password."))
    if not isinstance(login, str) or not isinstance(password, str) or len(password) > 128:
        raise failure
    user = find_user(login)
    if user is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        raise failure
    if user.locked_until and user.locked_until > now:
        raise PermissionDenied(_l("Too many failed logins; try again in a few minutes."))
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        with write_transaction():
            fresh = db.session.get(User, user.id)
            fresh.failed_logins += 1
            if fresh.failed_logins >= LOCK_AFTER_FAILURES:
                minutes = 2 ** min(fresh.failed_logins - LOCK_AFTER_FAILURES, 10)
                fresh.locked_until = now + timedelta(minutes=minutes)
        raise failure from None
    if not user.active:
        raise PermissionDenied(_l("This account is disabled; contact your community office."))
    with write_transaction():
        fresh = db.session.get(User, user.id)
        fresh.failed_logins = 0
        fresh.locked_until = None
        fresh.last_login_at = now
        fresh.session_token = secrets.token_hex(16)  # rotate: a new session on every login
        if _hasher.check_needs_rehash(fresh.password_hash):
            fresh.password_hash = hash_password(password)
    return db.session.get(User, user.id)


def load_session_user(identifier):
    """Flask-Login's loader: ``"<id>:<session token>"``; a stale token logs out."""
    user_id, _, token = str(identifier).partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not secrets.compare_digest(user.session_token or "", token):
        return None
    return user


def volunteer_by_member_number(member_no):
    """Look up a volunteer by scanned or typed member number (check digit verified first)."""
    code = normalise_code(member_no)
    if not is_valid_member_number(code):
        raise ValidationError(
            _l("That member number is not valid; check the digits and scan again."), details={"field": "member_no"}
        )
    profile = db.session.execute(
        select(VolunteerProfile).where(VolunteerProfile.member_no == code)
    ).scalar_one_or_none()
    if profile is None:
        raise NotFound(_l("No volunteer has that member number."))
    return profile


def set_locale(user, locale):
    if locale not in ("zh_CN", "en"):
        raise ValidationError(_l("Unknown language."))
    with write_transaction():
        db.session.get(User, user.id).locale = locale


def _adjustment_reason(reason):
    """The administrator's own words for an adjustment: required, at most 255 characters."""
    text = reason.strip() if isinstance(reason, str) else ""
    if not 1 <= len(text) <= 255:
        raise InvalidReason()
    return text


def adjust_volunteer_points(actor, profile, delta, reason, idempotency_key=None):
    """An administrator's points correction, authorized and audited in one unit of work."""
    authz.require(actor, "ledger.adjust", profile.home_organization)
    with write_transaction():
        account = ledger.account_of_volunteer(profile.id)
        before = account.balance
        entry = ledger.adjust_points(
            account.id,
            delta,
            reason=N_("Adjusted by an administrator"),
            note=_adjustment_reason(reason),
            actor_id=actor.id,
            idempotency_key=idempotency_key,
            cause_type="admin",
        )
        record_audit(
            actor,
            "ledger.adjust",
            "points_account",
            account.id,
            organization_id=profile.home_organization_id,
            before={"balance": before},
            after={"balance": entry.balance_after, "delta": delta, "reason": entry.note},
        )
    return entry
