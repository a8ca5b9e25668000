"""Registering volunteers, creating staff users and service accounts, granting roles,
logging in and out, changing passwords.

Passwords are hashed with Argon2id and must be hard to guess (10 characters or more,
and not common: zxcvbn). Failed logins back off per account and per source address,
counted in the database (``throttle``). Every answer to an anonymous caller is the
same whether or not a login name or mobile number exists.

A session is valid while the user's ``session_token`` is the one in its cookie: logging
in, logging out and changing the password replace the token, which ends every other
session (and a copy of the cookie) on the server side.
"""

import contextlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from zxcvbn import zxcvbn

from .. import authz
from ..audit.service import record_audit
from ..changes import service as changes
from ..codes import is_valid_member_number, new_member_number, normalise_code, normalise_typed
from ..database import write_transaction
from ..errors import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..i18n import N_
from ..idempotency_keys import require_client_key
from ..ledger import service as ledger
from ..ledger.errors import InsufficientPoints, InvalidReason
from ..organizations.models import Organization
from ..timeutil import utcnow
from . import throttle
from .models import ROLES, RoleMembership, User, VolunteerProfile

_hasher = PasswordHasher()
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")
# The phone's QR code carries the member number and the six-digit rotating code.
PHONE_SCAN_LENGTH = 18
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128
# zxcvbn's score: 3 means "safely unguessable" (about 10^8 guesses or more).
MIN_PASSWORD_SCORE = 3
# Stored as the hash of a service account, which never logs in: no password verifies.
NO_PASSWORD = "!"  # noqa: S105  # nosec B105
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


def hash_matches(stored_hash, text):
    """True when ``text`` is what ``stored_hash`` (an Argon2 hash) was made from."""
    try:
        return _hasher.verify(stored_hash, text)
    except (VerificationError, InvalidHashError):
        return False


def check_password_strength(password, personal=()):
    """Refuse a short or guessable password; ``personal`` (name, user name, mobile) count as guessable."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            _l("The password needs at least %(n)s characters."), n=MIN_PASSWORD_LENGTH, details={"field": "password"}
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(_l("The password can have at most 128 characters."), details={"field": "password"})
    inputs = []
    for text in personal:
        if isinstance(text, str) and text:
            inputs += [text, "".join(text.split()), *text.split()]  # "Wang Wu": also WangWu, Wang, Wu
    if zxcvbn(password, user_inputs=inputs, max_length=MAX_PASSWORD_LENGTH)["score"] < MIN_PASSWORD_SCORE:
        raise ValidationError(
            _l(
                "This password is too common or too easy to guess. Use a longer one, for example "
                "three or four unrelated words with a digit or a sign between them."
            ),
            details={"field": "password"},
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


def mask_member_number(member_no):
    """Only the last four digits: ********0042."""
    return "*" * max(0, len(member_no) - 4) + member_no[-4:] if member_no else ""


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
    """Self-registration: a user, a volunteer role on the home community, a profile and an account.

    Returns the new user, or None when the mobile number is registered already (then
    nothing is written). An anonymous caller must get the same answer either way, so
    that registration does not tell whether a number is registered.
    """
    name = _check_name(name)
    mobile = normalise_mobile(mobile)
    check_password_strength(password, (name, mobile, username))
    if consent is not True:
        raise ValidationError(
            _l("Please read and accept the privacy notice to register."), details={"field": "consent"}
        )
    home = db.session.get(Organization, home_organization_id) if isinstance(home_organization_id, int) else None
    if home is None or home.kind != "community":
        raise ValidationError(_l("Choose your home community from the list."), details={"field": "community"})
    try:
        return create_volunteer(
            name=name,
            mobile=mobile,
            home=home,
            password_hash=hash_password(password),
            consent_version=consent_version,
            username=username,
        )
    except Conflict:
        return None


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
    mobile = normalise_mobile(mobile) if mobile else None
    check_password_strength(password, (username, name, mobile))
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


def create_service_account(*, username, name, created_by, actor=None):
    """A service account: a named integration that acts only through API tokens.

    ``created_by`` is the administrator who answers for it; every audit row the account
    writes names both. ``actor`` is who creates it here (None: the command line, whose
    operator the audit row names); a face passes the administrator as both.
    """
    if not isinstance(username, str) or not _USERNAME_RE.match(username):
        raise ValidationError(
            _l("A user name has 3 to 64 letters, digits, dots, dashes or underscores."), details={"field": "username"}
        )
    name = _check_name(name)
    if (
        created_by is None
        or created_by.is_service_account
        or not authz.can(created_by, "user.manage", None)
        or (actor is not None and actor.id != created_by.id)
    ):
        raise ValidationError(
            _l("A service account is created by an administrator, who answers for it."),
            details={"field": "created_by"},
        )
    try:
        with write_transaction() as session:
            if session.execute(select(User.id).where(User.username == username)).first():
                raise Conflict(
                    _l("The user name %(username)s is taken."), username=username, details={"field": "username"}
                )
            account = User(
                username=username,
                name=name,
                password_hash=NO_PASSWORD,
                is_service_account=True,
                created_by_id=created_by.id,
                session_token=secrets.token_hex(16),
            )
            session.add(account)
            session.flush()
            record_audit(
                actor,
                "user.create",
                "user",
                account.id,
                after={"username": username, "service_account": True, "created_by": created_by.username},
            )
    except IntegrityError:
        raise Conflict(_l("The user name %(username)s is taken."), username=username) from None
    return account


class SecondAdministratorRequired(PermissionDenied):
    code = "second_person_required"
    default_message = _l("Granting the admin role needs a second administrator: ask for it, and another one approves.")


def grant_role(user, role, organization, actor=None, *, approved_request=None):
    """Grant ``role`` on ``organization``'s subtree. Granting a held role changes nothing.

    A person grants ``admin`` only by a change request another administrator approved
    (``people.grant_staff_role``; ``approved_request`` is that request); the command
    line (``actor`` None) grants it directly."""
    if role not in ROLES:
        raise ValidationError(_l("Unknown role %(role)s; use one of volunteer, organizer, counter, admin."), role=role)
    if organization is None:
        raise NotFound(_l("That organization does not exist."))
    if actor is not None and not authz.can(actor, "user.manage", organization):
        raise PermissionDenied()
    if role == "admin" and actor is not None and (approved_request is None or approved_request.author_id == actor.id):
        raise SecondAdministratorRequired()
    if role == "volunteer" and user.is_service_account:
        raise ValidationError(_l("A service account cannot be a volunteer."), details={"field": "role"})
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
        after = {"role": role}
        if approved_request is not None:
            after["requested_by"] = approved_request.author_id
        record_audit(actor, "role.grant", "user", user.id, organization_id=organization.id, before=None, after=after)
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


def authenticate(login, password, *, source=None, now=None):
    """Return the user for a correct login, or raise with one message for every failure.

    ``source`` is the client's address. Attempts are throttled per login name and per
    source (``throttle``) before the password is checked, the same for names that
    exist and names that do not.
    """
    now = now or utcnow()
    failure = ValidationError(_l("Wrong user name, mobile number or password."))
    if not isinstance(login, str) or not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        raise failure
    attempt = throttle.start_attempt(login, source, now)
    user = find_user(login)
    if user is None or user.is_service_account:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        raise failure
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise failure from None
    throttle.attempt_succeeded(attempt, now)
    if not user.active:
        raise PermissionDenied(_l("This account is disabled; contact your community office."))
    with write_transaction():
        fresh = db.session.get(User, user.id)
        fresh.last_login_at = now
        fresh.session_token = secrets.token_hex(16)  # rotate: a new session on every login
        if _hasher.check_needs_rehash(fresh.password_hash):
            fresh.password_hash = hash_password(password)
    return db.session.get(User, user.id)


def end_session(user):
    """Log out on the server side: the session's token stops being valid, copies of it too."""
    with write_transaction():
        db.session.get(User, user.id).session_token = secrets.token_hex(16)


def verify_current_password(user, password, *, source=None, now=None):
    """Check the signed-in person's password before a change that needs it, throttled like a login."""
    now = now or utcnow()
    wrong = ValidationError(_l("The current password is not right."), details={"field": "current_password"})
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        raise wrong
    attempt = throttle.start_attempt(user.username or user.mobile or str(user.id), source, now)
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise wrong from None
    throttle.attempt_succeeded(attempt, now)


def change_password(user, current_password, new_password, *, source=None, now=None):
    """Set a new password after checking the current one; every other session of the user ends.

    The current password is checked under the same throttle as a login. Returns the
    user with the new session token, which the caller's own session takes over.
    """
    verify_current_password(user, current_password, source=source, now=now)
    check_password_strength(new_password, (user.username, user.name, user.mobile))
    with write_transaction():
        fresh = db.session.get(User, user.id)
        fresh.password_hash = hash_password(new_password)
        fresh.session_token = secrets.token_hex(16)
        record_audit(user, "user.password_change", "user", user.id)
    return db.session.get(User, user.id)


def load_session_user(identifier):
    """Flask-Login's loader: ``"<id>:<session token>"``; a stale token or a disabled user logs out."""
    user_id, _, token = str(identifier).partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.is_service_account or not user.active:
        return None
    if not secrets.compare_digest(user.session_token or "", token):
        return None
    return user


def volunteer_by_member_number(member_no):
    """Look up a volunteer by scanned or typed member number (check digit verified first).

    The number of a profile merged into another resolves to that other profile."""
    code = normalise_code(member_no)
    if len(code) == PHONE_SCAN_LENGTH and code.isdigit():
        code = code[:12]  # the phone's QR: the member number, then the rotating code (not needed to find)
    if not is_valid_member_number(code):
        raise ValidationError(
            _l("That member number is not valid; check the digits and scan again."), details={"field": "member_no"}
        )
    profile = db.session.execute(
        select(VolunteerProfile).where(VolunteerProfile.member_no == code)
    ).scalar_one_or_none()
    if profile is not None and profile.merged_into_id is not None:
        profile = db.session.get(VolunteerProfile, profile.merged_into_id)
    if profile is None or profile.user.deleted_at is not None:  # a deleted account is nobody's number
        raise NotFound(_l("No volunteer has that member number."))
    return profile


def set_locale(user, locale):
    if locale not in ("zh_CN", "en"):
        raise ValidationError(_l("Unknown language."))
    with write_transaction():
        db.session.get(User, user.id).locale = locale


# -- manual adjustments of points --------------------------------------------------------

ADJUSTMENT_CATEGORIES = ("correction", "goodwill", "recovery")
ADJUST_KIND = "points.adjust"
ADJUSTMENT_REASON = N_("Adjusted by an administrator")
MAX_FOUND = 20


class AdjustmentWouldOverdraw(InsufficientPoints):
    default_message = _l(
        "This debit would take the balance below zero: %(needed)s points asked, %(available)s available. "
        "Nothing was changed."
    )


class AdjustmentNeedsApproval(PermissionDenied):
    code = "second_person_required"
    default_message = _l("An adjustment of more than %(threshold)s points needs a second administrator's approval.")


@dataclass(frozen=True)
class FoundVolunteer:
    """A volunteer as a staff search shows one: masked."""

    profile: VolunteerProfile
    name: str
    mobile: str
    member_no: str
    organization: str


def find_volunteers(actor, text, permission="ledger.adjust"):
    """Volunteers whose home is in the subtrees where ``actor`` holds ``permission``, found by
    member number, mobile number or (part of) name; at most ``MAX_FOUND``, masked.

    The text is personal data: faces take it from a form body, never from a URL."""
    query = normalise_typed(text) if isinstance(text, str) else ""
    if not 1 <= len(query) <= 80:
        raise ValidationError(
            _l("Enter a member number, a mobile number or a name (up to 80 characters)."), details={"field": "query"}
        )
    statement = (
        select(VolunteerProfile, User, Organization)
        .join(User, User.id == VolunteerProfile.user_id)
        .join(Organization, Organization.id == VolunteerProfile.home_organization_id)
        .where(authz.scope_filter(actor, permission, Organization.path))
    )
    code = normalise_code(query)
    if is_valid_member_number(code):
        statement = statement.where(VolunteerProfile.member_no == code)
    elif _MOBILE_RE.match(re.sub(r"[\s\-]", "", query).removeprefix("+86")):
        statement = statement.where(User.mobile == normalise_mobile(query))
    else:
        statement = statement.where(User.name.contains(text.strip(), autoescape=True))
    rows = db.session.execute(statement.order_by(VolunteerProfile.id).limit(MAX_FOUND)).all()
    return [
        FoundVolunteer(
            profile, mask_name(user.name), mask_mobile(user.mobile), mask_member_number(profile.member_no), home.name
        )
        for profile, user, home in rows
    ]


def volunteer_for_staff(actor, profile_id, permission="ledger.adjust"):
    """The volunteer profile ``profile_id`` when its home is in ``actor``'s subtree for
    ``permission``; otherwise it is not found (another community's volunteer does not exist)."""
    profile = db.session.get(VolunteerProfile, profile_id) if isinstance(profile_id, int) else None
    if profile is None or not authz.can(actor, permission, profile.home_organization):
        raise NotFound(_l("No volunteer with that number is in your area."))
    return profile


def adjustment_threshold():
    """Adjustments of more points than this (either way) need a second administrator."""
    return int(current_app.config["ADJUSTMENT_APPROVAL_THRESHOLD"])


def _adjustment_reason(reason):
    """The administrator's own words for an adjustment: required, at most 255 characters."""
    text = reason.strip() if isinstance(reason, str) else ""
    if not 1 <= len(text) <= 255:
        raise InvalidReason(details={"field": "reason"})
    return text


def _adjustment_category(category):
    if category not in ADJUSTMENT_CATEGORIES:
        raise ValidationError(_l("Choose a category: correction, goodwill or recovery."), details={"field": "category"})
    return category


def _adjustment_points(delta):
    maximum = ledger.MAX_POINTS_PER_ENTRY
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0 or abs(delta) > maximum:
        raise ValidationError(
            _l("Enter a whole number of points from 1 to %(n)s."), n=maximum, details={"field": "points"}
        )
    return delta


def _write_adjustment(actor, profile, delta, reason, category, key, *, requested_by=None, now=None):
    """Write one adjustment and its audit row (the caller has checked everything else);
    a request key seen before returns its entry (the ledger refuses another payload)."""
    with write_transaction():
        account = ledger.account_of_volunteer(profile.id)
        replayed = ledger.entry_for_key(key) is not None
        before = account.balance
        details = {"category": category}
        if requested_by is not None:
            details["requested_by"] = requested_by
        try:
            entry = ledger.adjust_points(
                account.id,
                delta,
                reason=ADJUSTMENT_REASON,
                note=reason,
                actor_id=actor.id,
                idempotency_key=key,
                cause_type="admin",
                details=details,
                now=now,
            )
        except InsufficientPoints as error:
            raise AdjustmentWouldOverdraw(**error.params) from None
        if not replayed:
            record_audit(
                actor,
                "ledger.adjust",
                "points_account",
                account.id,
                organization_id=profile.home_organization_id,
                before={"balance": before},
                after={"balance": entry.balance_after, "delta": delta, "reason": entry.note, **details},
            )
    return entry


def adjust_volunteer_points(actor, profile, delta, reason, *, category="correction", idempotency_key=None):
    """An administrator's points correction, authorized and audited in one unit of work.

    Up to ``adjustment_threshold()`` points either way; a larger one goes through
    ``request_points_adjustment`` (a second administrator approves). A debit never
    overdraws: the ledger refuses it and nothing changes.
    """
    authz.require(actor, "ledger.adjust", profile.home_organization)
    delta = _adjustment_points(delta)
    reason = _adjustment_reason(reason)
    category = _adjustment_category(category)
    if abs(delta) > adjustment_threshold() and ledger.entry_for_key(idempotency_key) is None:
        raise AdjustmentNeedsApproval(threshold=adjustment_threshold())
    return _write_adjustment(actor, profile, delta, reason, category, idempotency_key)


@dataclass(frozen=True)
class AdjustmentOutcome:
    """What asking for an adjustment did: applied now (``entry``) or waiting (``request``)."""

    entry: object = None
    request: object = None


def request_points_adjustment(actor, profile, delta, reason, *, category, idempotency_key):
    """Credit (``delta`` > 0) or debit a volunteer's points with a reason and a category.

    Up to the threshold it is applied at once; above it a change request (kind
    ``points.adjust``) waits for a second administrator, who sees the volunteer (masked),
    the points, the category, the reason and the balance. The form's request key (a
    ``client_key`` derivation) makes a repeated submission return what the first did.
    """
    authz.require(actor, "ledger.adjust", profile.home_organization)
    delta = _adjustment_points(delta)
    reason = _adjustment_reason(reason)
    category = _adjustment_category(category)
    key = require_client_key(idempotency_key)
    if abs(delta) <= adjustment_threshold() or ledger.entry_for_key(key) is not None:
        return AdjustmentOutcome(entry=_write_adjustment(actor, profile, delta, reason, category, key))
    account = ledger.account_of_volunteer(profile.id)
    target = f"{account.id}:{key[-16:]}"
    waiting = changes.pending_request_for(ADJUST_KIND, "points_adjustment", target)
    if waiting is not None:
        return AdjustmentOutcome(request=waiting)
    if delta < 0 and -delta > account.balance:
        raise AdjustmentWouldOverdraw(needed=-delta, available=account.balance)
    volunteer = f"{mask_name(profile.user.name)} ({mask_member_number(profile.member_no)})"
    request = changes.request_change(
        actor,
        ADJUST_KIND,
        profile.home_organization,
        target_type="points_adjustment",
        target_id=target,
        payload={"volunteer_id": profile.id, "points": delta, "category": category, "reason": reason, "key": key},
        diff=[
            {"field": "volunteer", "before": None, "after": volunteer},
            {"field": "points", "before": None, "after": f"{delta:+d}"},
            {"field": "category", "before": None, "after": category},
            {"field": "reason", "before": None, "after": reason},
            {"field": "balance", "before": account.balance, "after": account.balance + delta},
        ],
    )
    return AdjustmentOutcome(request=request)


def _apply_adjustment(reviewer, request, now):
    payload = request.payload
    profile = db.session.get(VolunteerProfile, payload["volunteer_id"])
    if profile is None:
        raise NotFound(_l("That volunteer does not exist."))
    entry = _write_adjustment(
        reviewer,
        profile,
        payload["points"],
        payload["reason"],
        payload["category"],
        payload["key"],
        requested_by=request.author_id,
        now=now,
    )
    return {"entry_id": entry.id, "balance_after": entry.balance_after}


changes.register_change_kind(
    ADJUST_KIND, permission="ledger.adjust", label=_l("Adjust a volunteer's points"), apply=_apply_adjustment
)
