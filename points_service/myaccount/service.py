"""What a volunteer does with their own account.

- Change the mobile number (with the password; the number is the login).
- Stay off public honor rolls (the privacy notice's promise).
- Download everything the service keeps about them (``my_data``: one dictionary, shown as
  JSON and as a readable page).
- Delete the account: name, mobile number and login are erased and the login ends; the
  ledger, service records and redemptions stay under the member's anonymous id, because
  the scheme's books must add up; the remaining points are given up with a ledger entry
  of their own. Not while a voucher or a payment is open.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from ..accounts import member_codes
from ..accounts.models import ApiToken, User, VolunteerProfile
from ..accounts.service import normalise_mobile, verify_current_password
from ..activities import service as activities
from ..activities.models import Activity, ActivitySignup, ServiceRecord
from ..audit.service import record_audit
from ..authz import STAFF_ROLES
from ..certificates.models import ServiceCertificate as Certificate
from ..codes import normalise_typed
from ..database import write_transaction
from ..errors import Conflict, PermissionDenied
from ..extensions import db
from ..i18n import N_, stored_text
from ..ledger import service as ledger
from ..ledger.models import LedgerEntry
from ..notices.models import Notice
from ..organizations.settings import setting
from ..perks.models import Redemption
from ..timeutil import utcnow

# Not an argon2 hash, so no password ever verifies against it (the check fails closed).
UNUSABLE_PASSWORD_HASH = "!account-deleted"  # noqa: S105
FORFEIT_REASON = N_("Points given up when the account was deleted")


def _profile(user):
    if user.volunteer is None:
        raise PermissionDenied(_l("Only a volunteer's own account has this page."))
    return user.volunteer


def change_mobile(user, password, new_mobile, *, source=None, now=None):
    """Log in with a new mobile number from now on; the password confirms it is the owner."""
    verify_current_password(user, password, source=source, now=now)
    mobile = normalise_mobile(normalise_typed(new_mobile))
    if mobile == user.mobile:
        return user
    with write_transaction():
        taken = db.session.execute(select(User.id).where(User.mobile == mobile, User.id != user.id)).first()
        if taken:
            raise Conflict(_l("Another account uses that mobile number."), details={"field": "mobile"})
        fresh = db.session.get(User, user.id)
        fresh.mobile = mobile
        record_audit(user, "account.mobile_change", "user", user.id)
    return db.session.get(User, user.id)


def set_counter_pin(user, password, pin, pin_again, *, source=None, now=None):
    """Set the PIN a counter accepts with the member number (for a card); the password confirms the owner."""
    profile = _profile(user)
    verify_current_password(user, password, source=source, now=now)
    member_codes.set_pin(user, profile, pin, pin_again, now)


def remove_counter_pin(user, password, *, source=None, now=None):
    """Remove the counter PIN: from then on only the code on the phone spends points."""
    profile = _profile(user)
    verify_current_password(user, password, source=source, now=now)
    member_codes.remove_pin(user, profile)


def set_public_listing(user, listed):
    """Appear on public honor rolls (``listed``) or not; rolls published earlier leave the name out too."""
    profile = _profile(user)
    with write_transaction():
        fresh = db.session.get(VolunteerProfile, profile.id)
        before = not fresh.public_listing_opt_out
        fresh.public_listing_opt_out = not listed
        if before != bool(listed):
            record_audit(
                user,
                "account.public_listing",
                "volunteer",
                profile.id,
                organization_id=profile.home_organization_id,
                before={"listed": before},
                after={"listed": bool(listed)},
            )
    return fresh


def expiring_soon(profile, now=None):
    """The volunteer's points that expire within their community's warning period: ``[(when, points)]``.

    Shown wherever the balance is (home page, perks, the counter's lookup).
    """
    days = setting(profile.home_organization, "expiry_warning_days")
    if not days:
        return []
    now = now or utcnow()
    account = ledger.account_of_volunteer(profile.id)
    return ledger.expiring_points(account.id, before=now + timedelta(days=days), now=now)


# -- a copy of my data -------------------------------------------------------------------


def _moment(value):
    return value.isoformat(timespec="seconds") + "Z" if value is not None else None


def my_data(user, now=None):
    """Everything the service keeps about the volunteer, as plain values (times in UTC)."""
    profile = _profile(user)
    account = ledger.account_of_volunteer(profile.id)
    entries = db.session.execute(
        select(LedgerEntry).where(LedgerEntry.account_id == account.id).order_by(LedgerEntry.id)
    ).scalars()
    records = db.session.execute(
        select(ServiceRecord).where(ServiceRecord.volunteer_id == profile.id).order_by(ServiceRecord.id)
    ).scalars()
    signups = db.session.execute(
        select(ActivitySignup, Activity)
        .join(Activity, Activity.id == ActivitySignup.activity_id)
        .where(ActivitySignup.volunteer_id == profile.id)
        .order_by(ActivitySignup.id)
    ).all()
    redemptions = db.session.execute(
        select(Redemption).where(Redemption.volunteer_id == profile.id).order_by(Redemption.id)
    ).scalars()
    certificates = db.session.execute(
        select(Certificate).where(Certificate.volunteer_id == profile.id).order_by(Certificate.id)
    ).scalars()
    notices = db.session.execute(select(Notice).where(Notice.user_id == user.id).order_by(Notice.id)).scalars()
    return {
        "exported_at": _moment(now or utcnow()),
        "account": {
            "name": user.name,
            "mobile": user.mobile,
            "username": user.username,
            "language": user.locale,
            "created_at": _moment(user.created_at),
            "last_login_at": _moment(user.last_login_at),
        },
        "volunteer": {
            "member_no": profile.member_no,
            "home_organization": profile.home_organization.name,
            "consent_version": profile.consent_version,
            "on_public_honor_rolls": not profile.public_listing_opt_out,
            "verified_minutes": profile.verified_minutes,
            "created_at": _moment(profile.created_at),
        },
        "points": {
            "balance": account.balance,
            "earned": account.lifetime_earned,
            "spent": account.lifetime_spent,
            "expired": account.lifetime_expired,
        },
        "ledger": [
            {
                "id": entry.id,
                "at": _moment(entry.created_at),
                "kind": entry.kind,
                "points": entry.delta,
                "balance_after": entry.balance_after,
                "reason": stored_text(entry.reason),
                "note": entry.note,
            }
            for entry in entries
        ],
        "service_records": [
            {
                "id": record.id,
                "activity_id": record.activity_id,
                "category": record.category,
                "started_at": _moment(record.started_at),
                "ended_at": _moment(record.ended_at),
                "minutes": record.minutes,
                "status": record.status,
                "points": record.points,
                "source": record.source,
                "evidence": record.evidence,
                "note": record.note,
                "rejection_reason": record.rejection_reason,
            }
            for record in records
        ],
        "sign_ups": [
            {
                "activity": activity.title,
                "starts_at": _moment(activity.starts_at),
                "status": signup.status,
                "signed_up_at": _moment(signup.signed_up_at),
                "checked_in_at": _moment(signup.checked_in_at),
                "checked_out_at": _moment(signup.checked_out_at),
            }
            for signup, activity in signups
        ],
        "redemptions": [
            {
                "id": redemption.id,
                "perk": redemption.perk.name,
                "quantity": redemption.quantity,
                "points": redemption.points,
                "cash_part_minor_units": redemption.copay_amount,
                "currency": redemption.copay_currency,
                "status": redemption.status,
                "channel": redemption.channel,
                "created_at": _moment(redemption.created_at),
            }
            for redemption in redemptions
        ],
        "certificates": [
            {
                "number": certificate.number,
                "verification_code": certificate.verification_code,
                "issued_at": _moment(certificate.issued_at),
                "revoked": certificate.revoked_at is not None,
            }
            for certificate in certificates
        ],
        "notices": [
            {"kind": notice.kind, "facts": notice.params, "at": _moment(notice.created_at)} for notice in notices
        ],
    }


# -- deleting the account ------------------------------------------------------------------


@dataclass(frozen=True)
class DeletionCheck:
    """What deleting would do now, or why it cannot be done yet."""

    points_given_up: int
    blockers: list  # translated reasons; empty when deletion may go ahead


def deletion_check(user):
    profile = _profile(user)
    blockers = []
    if any(m.role in STAFF_ROLES for m in user.memberships):
        blockers.append(_l("Your account also has staff roles; an administrator closes staff accounts."))
    open_redemptions = db.session.execute(
        select(Redemption.id).where(
            Redemption.volunteer_id == profile.id,
            or_(Redemption.status == "reserved", Redemption.payment_status.in_(("pending", "refund_due"))),
        )
    ).first()
    if open_redemptions:
        blockers.append(
            _l("You have a voucher or a payment that is still open; use it, let it expire or have it voided first.")
        )
    checked_in = db.session.execute(
        select(ActivitySignup.id).where(
            ActivitySignup.volunteer_id == profile.id,
            ActivitySignup.checked_in_at.is_not(None),
            ActivitySignup.checked_out_at.is_(None),
            ActivitySignup.status == "confirmed",
        )
    ).first()
    if checked_in:
        blockers.append(_l("You are checked in at an activity; check out first."))
    balance = ledger.account_of_volunteer(profile.id).balance
    return DeletionCheck(points_given_up=max(balance, 0), blockers=[str(b) for b in blockers])


def delete_account(user, password, *, source=None, now=None):
    """Erase the volunteer's personal data and end their login; the books keep an anonymous member."""
    verify_current_password(user, password, source=source, now=now)
    now = now or utcnow()
    check = deletion_check(user)
    if check.blockers:
        raise Conflict(check.blockers[0])
    profile = user.volunteer
    for signup in activities.list_my_signups(user, now=now):
        activities.cancel_signup(user, signup.activity_id, now=now)
    account = ledger.account_of_volunteer(profile.id)
    with write_transaction():
        if account.balance > 0:
            ledger.adjust_points(
                account.id,
                -account.balance,
                reason=FORFEIT_REASON,
                actor_id=user.id,
                idempotency_key=f"account-deleted:{user.id}",
                cause_type="user",
                cause_id=user.id,
                now=now,
            )
        fresh = db.session.get(User, user.id)
        fresh.name = ""
        fresh.mobile = None
        fresh.username = None
        fresh.locale = None
        fresh.password_hash = UNUSABLE_PASSWORD_HASH
        fresh.session_token = secrets.token_hex(16)
        fresh.active = False
        fresh.deleted_at = now
        db.session.get(VolunteerProfile, profile.id).public_listing_opt_out = True
        member_codes.forget(profile)
        for token in db.session.execute(select(ApiToken).where(ApiToken.user_id == user.id)).scalars():
            token.revoked_at = token.revoked_at or now
        record_audit(
            fresh,
            "account.delete",
            "volunteer",
            profile.id,
            organization_id=profile.home_organization_id,
            after={"points_given_up": check.points_given_up},
        )
    return check.points_given_up
