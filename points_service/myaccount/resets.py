"""Password reset without e-mail or SMS: a staff member checks who the person is and hands
them a one-time code; the person sets a new password with it.

- Issuing needs ``password.reset`` on the volunteer's home community and a confirmation
  that the identity was checked; it is audited. A new code ends the older ones.
- A code is 8 characters from an alphabet without look-alikes, valid for 30 minutes,
  kept only as a hash. Five wrong tries end it. Every failure gives one answer, so the
  page tells nobody whether a mobile number is registered.
- Using it sets the password (checked like any new password), ends every session and
  the code, and is audited.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from ..accounts import service as accounts
from ..accounts.models import User, VolunteerProfile
from ..accounts.service import check_password_strength, hash_password, normalise_mobile
from ..audit.service import record_audit
from ..codes import is_valid_member_number, normalise_code, normalise_typed
from ..database import write_transaction
from ..errors import NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..timeutil import utcnow
from .models import PasswordResetCode

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
CODE_LENGTH = 8
CODE_LIFETIME = timedelta(minutes=30)
MAX_FAILED_ATTEMPTS = 5
_NO_MATCH = _l("That code does not match, has been used or has expired. Ask for a new one.")


def _hash(code):
    return hashlib.sha256(code.encode()).hexdigest()


def _plain_code(text):
    return "".join(ch for ch in normalise_typed(text or "").upper() if ch.isalnum())


def find_volunteers(actor, text):
    """Volunteers of ``actor``'s communities with this member number, mobile number or name, masked."""
    return accounts.find_volunteers(actor, text, permission="password.reset")


def issue_reset_code(actor, user_id, *, identity_checked, now=None):
    """A new one-time code for the volunteer ``user_id``; returns it (shown once, never stored)."""
    if identity_checked is not True:
        raise ValidationError(
            _l("Confirm that you checked the person's identity document."), details={"field": "identity_checked"}
        )
    now = now or utcnow()
    with write_transaction():
        user = db.session.get(User, user_id) if isinstance(user_id, int) else None
        if user is None or user.volunteer is None or user.deleted_at is not None:
            raise NotFound(_l("No volunteer of your communities has that number."))
        accounts.volunteer_for_staff(actor, user.volunteer.id, permission="password.reset")
        if user.id == actor.id:
            raise PermissionDenied(_l("Ask another staff member to reset your own password."))
        db.session.execute(
            update(PasswordResetCode)
            .where(PasswordResetCode.user_id == user.id, PasswordResetCode.used_at.is_(None))
            .values(used_at=now)
        )
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        db.session.add(
            PasswordResetCode(
                user_id=user.id,
                code_hash=_hash(code),
                issued_by_id=actor.id,
                created_at=now,
                expires_at=now + CODE_LIFETIME,
            )
        )
        record_audit(
            actor,
            "user.reset_code_issue",
            "user",
            user.id,
            organization_id=user.volunteer.home_organization_id,
            after={"expires_at": (now + CODE_LIFETIME).isoformat(timespec="minutes")},
        )
    return code


def reset_password(login, code, new_password, *, now=None):
    """Set a new password with a reset code; every session of the person ends. Returns the user."""
    now = now or utcnow()
    typed = normalise_typed(login or "")
    code = _plain_code(code)
    with write_transaction():
        user = None
        if is_valid_member_number(normalise_code(typed)):
            profile = db.session.execute(
                select(VolunteerProfile).where(VolunteerProfile.member_no == normalise_code(typed))
            ).scalar_one_or_none()
            user = profile.user if profile else None
        else:
            try:
                mobile = normalise_mobile(typed)
            except ValidationError:
                mobile = None
            user = (
                db.session.execute(select(User).where(User.mobile == mobile)).scalar_one_or_none() if mobile else None
            )
        pending = None
        if user is not None and user.deleted_at is None:
            pending = (
                db.session.execute(
                    select(PasswordResetCode)
                    .where(
                        PasswordResetCode.user_id == user.id,
                        PasswordResetCode.used_at.is_(None),
                        PasswordResetCode.expires_at > now,
                    )
                    .order_by(PasswordResetCode.id.desc())
                    .with_for_update()
                )
                .scalars()
                .first()
            )
        matched = pending is not None and hmac.compare_digest(pending.code_hash, _hash(code))
        if pending is not None and not matched:
            pending.failed_attempts += 1  # kept: the transaction commits, then the refusal is raised
            if pending.failed_attempts >= MAX_FAILED_ATTEMPTS:
                pending.used_at = now
        if matched:
            check_password_strength(new_password, (user.username, user.name, user.mobile))
            pending.used_at = now
            user.password_hash = hash_password(new_password)
            user.session_token = secrets.token_hex(16)
            record_audit(user, "user.password_reset", "user", user.id, after={"code_issued_by": pending.issued_by_id})
    if not matched:
        raise ValidationError(_NO_MATCH, details={"field": "code"})
    return user
