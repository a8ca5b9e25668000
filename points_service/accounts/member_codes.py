"""The rotating member code and the PIN: what it takes to spend points at a counter.

The 12 printed digits of a member number find a volunteer. They are on a card, in a
photo, on a sign-up sheet, so they are not enough to spend that volunteer's points.
Spending at a counter also needs one of:

- **the rotating code** on the volunteer's phone: six digits that change every 30
  seconds (TOTP, RFC 6238, HMAC-SHA1, from a per-member secret). A code is accepted in
  the step it was made and the next one, so it lives about a minute. The phone's QR
  code carries the member number and the code together (18 digits), so one scan is
  enough; the clerk can also type the six digits shown under it;
- **the PIN** the volunteer chose (4 to 6 digits; not one digit repeated, not a run such
  as 1234, not a repeated pair, not the end of their mobile or member number), for a
  volunteer with a card and no phone.

The per-member secret is derived from a random nonce kept in ``member_credentials`` and
the application's secret key, so a copy of the database alone cannot make codes, and
the secret never leaves the server: the phone shows what the server made.

An expired code is told apart from a wrong one (it matches a code of the last ten
minutes), so the counter can say "refresh the code". Wrong codes and PINs are counted
in the database, where every app process sees them; five in a row lock spending for
that member for 15 minutes, and a right one resets the count.
"""

import base64
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, timedelta

import pyotp
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from ..audit.service import record_audit
from ..codes import normalise_typed
from ..database import lock_one, write_transaction
from ..errors import PermissionDenied, ValidationError
from ..extensions import db
from ..timeutil import utcnow
from .models import MemberCredential
from .service import hash_matches, hash_password

STEP_SECONDS = 30
CODE_DIGITS = 6
ACCEPTED_STEPS = 2  # the step a code was made in and the next one: about a minute
RECENT_STEPS = 20  # a code of the last ten minutes is "expired", not "wrong"
MAX_FAILURES = 5
LOCK_TIME = timedelta(minutes=15)
PIN_MIN, PIN_MAX = 4, 6


class SpendCodeRequired(ValidationError):
    code = "spend_code_required"
    default_message = _l(
        "The printed member number finds the volunteer but cannot spend points: type the code "
        "shown on the volunteer's phone, or their PIN."
    )


class SpendCodeExpired(PermissionDenied):
    code = "spend_code_expired"
    default_message = _l(
        "This code has expired. Ask the volunteer to refresh the code on their phone, then scan "
        "or type the new one. Nothing was spent."
    )


class SpendCodeWrong(PermissionDenied):
    code = "spend_code_wrong"
    default_message = _l("That code or PIN is not right. Nothing was spent.")


class SpendLocked(PermissionDenied):
    code = "spend_locked"
    default_message = _l(
        "Too many wrong codes or PINs for this member: spending is locked, try again in %(minutes)s min. "
        "Nothing was spent."
    )


def _field(error_class, message=None, **params):
    return error_class(message, details={"field": "member_code"}, **params)


def _epoch(moment):
    """Seconds since the epoch of a naive UTC datetime (pyotp reads naive ones as local time)."""
    return int(moment.replace(tzinfo=UTC).timestamp())


def totp_of(secret_key, nonce):
    """The TOTP generator of the member whose nonce is ``nonce``, under ``secret_key``."""
    digest = hmac.new(str(secret_key).encode(), b"member-code|" + nonce.encode(), hashlib.sha256).digest()
    return pyotp.TOTP(base64.b32encode(digest).decode(), digits=CODE_DIGITS, interval=STEP_SECONDS)


def _totp(nonce):
    return totp_of(current_app.config["SECRET_KEY"], nonce)


def credential_row(volunteer_id):
    return db.session.execute(
        select(MemberCredential).where(MemberCredential.volunteer_id == volunteer_id)
    ).scalar_one_or_none()


def _credential_of(volunteer_id):
    """The member's credential row, made on first use (two first uses at once make one)."""
    row = credential_row(volunteer_id)
    if row is not None:
        return row
    try:
        with write_transaction():
            db.session.add(MemberCredential(volunteer_id=volunteer_id, code_nonce=secrets.token_hex(16)))
    except IntegrityError:
        pass  # made by a request beside this one
    return credential_row(volunteer_id)


def _locked(volunteer_id):
    return lock_one(MemberCredential, MemberCredential.volunteer_id == volunteer_id)


@dataclass(frozen=True)
class RotatingCode:
    """What the volunteer's phone shows: the six digits, and the QR payload with the member number."""

    member_no: str
    digits: str
    seconds_left: int

    @property
    def scan(self):
        return self.member_no + self.digits

    @property
    def grouped(self):
        return f"{self.digits[:3]} {self.digits[3:]}"


def rotating_code(profile, now=None):
    """The member's code for this moment and how many seconds it has before the next one."""
    now = now or utcnow()
    seconds = _epoch(now)
    row = _credential_of(profile.id)
    return RotatingCode(
        member_no=profile.member_no,
        digits=_totp(row.code_nonce).at(seconds),
        seconds_left=STEP_SECONDS - seconds % STEP_SECONDS,
    )


def split_scan(member_no_or_scan):
    """``(member number, code or None)`` from a scan: the phone's QR carries 12 + 6 digits."""
    text = "".join(ch for ch in normalise_typed(member_no_or_scan or "") if not ch.isspace() and ch != "-")
    if len(text) == 12 + CODE_DIGITS and text.isdigit():
        return text[:12], text[12:]
    return member_no_or_scan, None


def parse_credential(text):
    """The code or PIN as typed (full-width digits and spaces allowed), or None when empty."""
    typed = "".join(ch for ch in normalise_typed(text or "") if not ch.isspace())
    if not typed:
        return None
    if not (typed.isascii() and typed.isdigit() and PIN_MIN <= len(typed) <= CODE_DIGITS):
        raise _field(
            ValidationError,
            _l("Type the 6-digit code from the volunteer's phone, or their PIN of 4 to 6 digits."),
        )
    return typed


def _judge(row, credential, seconds):
    """``"ok"``, ``"expired"`` or ``"wrong"`` for a typed code or PIN."""
    totp = _totp(row.code_nonce) if len(credential) == CODE_DIGITS else None

    def made(steps_back):
        return any(hmac.compare_digest(totp.at(seconds - back * STEP_SECONDS), credential) for back in steps_back)

    # The usual case first: a current code costs two HMACs; the older ones only when that fails.
    if totp is not None and made(range(ACCEPTED_STEPS)):
        return "ok"
    if row.pin_hash is not None and hash_matches(row.pin_hash, credential):
        return "ok"
    if totp is not None and made(range(ACCEPTED_STEPS, RECENT_STEPS)):
        return "expired"
    return "wrong"


class WrongCredential(Exception):
    """A wrong code or PIN found inside a spending unit of work: the caller rolls it back,
    then ``refuse_wrong`` counts the try in a unit of work of its own."""

    def __init__(self, volunteer_id):
        super().__init__(volunteer_id)
        self.volunteer_id = volunteer_id


def check_spend(profile, row, credential, now):
    """Inside the spending unit of work: return when ``credential`` (a rotating code or the
    PIN) lets the counter spend ``profile``'s points; raise ``SpendCodeRequired``,
    ``SpendLocked`` or ``SpendCodeExpired`` (nothing counted), or ``WrongCredential``.
    ``row`` is the member's ``MemberCredential`` (None before its first use)."""
    if not credential:
        raise _field(SpendCodeRequired)
    if row is not None and row.locked_until is not None and row.locked_until > now:
        raise _field(SpendLocked, minutes=max(1, math.ceil((row.locked_until - now).total_seconds() / 60)))
    verdict = _judge(row, credential, _epoch(now)) if row is not None else "wrong"
    if verdict == "expired":
        raise _field(SpendCodeExpired)
    if verdict == "wrong":
        raise WrongCredential(profile.id)
    if row.failed_attempts:
        row.failed_attempts = 0


def refuse_wrong(volunteer_id, now):
    """Count a wrong code or PIN (committed at once) and refuse: five in a row lock spending."""
    _credential_of(volunteer_id)
    with write_transaction():
        locked = _locked(volunteer_id)
        if locked.locked_until is not None and locked.locked_until > now:
            raise_lock = True  # locked by a wrong guess beside this one: not counted again
        elif locked.failed_attempts + 1 >= MAX_FAILURES:
            locked.failed_attempts = 0
            locked.locked_until = now + LOCK_TIME
            raise_lock = True
        else:
            locked.failed_attempts += 1
            raise_lock = False
    if raise_lock:
        raise _field(SpendLocked, minutes=math.ceil(LOCK_TIME.total_seconds() / 60))
    raise _field(SpendCodeWrong)


def authorise_spend(profile, credential, now=None):
    """Raise unless ``credential`` lets the counter spend ``profile``'s points (outside a
    spending unit of work; see ``check_spend``)."""
    now = now or utcnow()
    try:
        with write_transaction():
            check_spend(profile, _locked(profile.id), credential, now)
    except WrongCredential:
        refuse_wrong(profile.id, now)


# -- the PIN --------------------------------------------------------------------------


def _is_weak_pin(pin, profile):
    digits = [int(ch) for ch in pin]
    steps = {b - a for a, b in zip(digits, digits[1:], strict=False)}
    if len(set(digits)) == 1 or steps in ({1}, {-1}):
        return True
    for size in (2, 3):
        if len(pin) % size == 0 and len(pin) > size and pin == pin[:size] * (len(pin) // size):
            return True
    mobile = "".join(ch for ch in (profile.user.mobile or "") if ch.isdigit())
    return pin in (mobile[-len(pin) :], profile.member_no[-len(pin) :], profile.member_no[: len(pin)])


def has_pin(profile):
    row = credential_row(profile.id)
    return row is not None and row.pin_hash is not None


def set_pin(actor, profile, pin, repeated, now=None):
    """Set the volunteer's counter PIN (the caller checked their password)."""
    now = now or utcnow()
    typed = "".join(ch for ch in normalise_typed(pin or "") if not ch.isspace())
    if not (typed.isascii() and typed.isdigit() and PIN_MIN <= len(typed) <= PIN_MAX):
        raise ValidationError(_l("The PIN is 4 to 6 digits."), details={"field": "pin"})
    if typed != "".join(ch for ch in normalise_typed(repeated or "") if not ch.isspace()):
        raise ValidationError(_l("The two PINs are not the same."), details={"field": "pin_again"})
    if _is_weak_pin(typed, profile):
        raise ValidationError(
            _l(
                "That PIN is too easy to guess: avoid one digit repeated, runs like 1234, "
                "repeated pairs and the end of your mobile or member number."
            ),
            details={"field": "pin"},
        )
    _credential_of(profile.id)
    with write_transaction():
        row = _locked(profile.id)
        row.pin_hash = hash_password(typed)
        row.pin_set_at = now
        row.failed_attempts = 0
        row.locked_until = None
        record_audit(actor, "member.pin_set", "volunteer", profile.id)


def remove_pin(actor, profile):
    """Remove the counter PIN: only the rotating code can then spend."""
    with write_transaction():
        row = _locked(profile.id)
        if row is not None and row.pin_hash is not None:
            row.pin_hash = None
            row.pin_set_at = None
            record_audit(actor, "member.pin_remove", "volunteer", profile.id)


def forget(profile):
    """Drop the member's code secret and PIN (the account is being deleted)."""
    db.session.execute(delete(MemberCredential).where(MemberCredential.volunteer_id == profile.id))
