"""Issuing, showing, verifying and revoking service certificates.

What a certificate shows follows the national rules for volunteer-service records and
certificates (志愿服务记录与证明出具办法, 2020): the volunteer (name, member number), the
service (verified hours, what kind of service, the period), the issuer (organization)
and the certificate itself (number, date, verification code). It is issued free on the
volunteer's request, for approved (verified) service only, and can be checked by anyone
holding its verification code, which shows the masked name and the figures and nothing
else. Hours are the minutes the rules credit (``verified_minutes``), as on the
volunteer's own pages.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from .. import authz
from ..accounts.service import mask_name
from ..activities.models import ServiceRecord
from ..audit.service import record_audit
from ..codes import is_valid_certificate_code, new_certificate_code, normalise_code
from ..database import lock_one, write_transaction
from ..errors import NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..timeutil import local_midnight_utc, to_local, utcnow
from .models import MAX_REVOKE_REASON, ServiceCertificate

EARLIEST_DAY = date(2000, 1, 1)
MAX_PERIOD = timedelta(days=366 * 10)
MAX_CERTIFICATES_PER_DAY = 20


class NoVerifiedService(ValidationError):
    code = "no_verified_service"
    default_message = _l("There is no verified service in this period, so there is nothing to certify.")


@dataclass(frozen=True)
class Verification:
    """What the public check shows: the figures and the masked name, nothing else."""

    certificate: ServiceCertificate
    masked_name: str
    revoked: bool


def _profile_of(user):
    profile = getattr(user, "volunteer", None)
    if profile is None:
        raise PermissionDenied(_l("Only registered volunteers can do that."))
    return profile


def _check_period(start, end, today):
    if not isinstance(start, date):
        raise ValidationError(_l("Enter the first day of the period."), details={"field": "period_start"})
    if not isinstance(end, date):
        raise ValidationError(_l("Enter the last day of the period."), details={"field": "period_end"})
    if start < EARLIEST_DAY:
        raise ValidationError(
            _l("The period cannot start before %(day)s."),
            day=EARLIEST_DAY.isoformat(),
            details={"field": "period_start"},
        )
    if end > today:
        raise ValidationError(_l("The period cannot end in the future."), details={"field": "period_end"})
    if end < start:
        raise ValidationError(_l("The last day must not be before the first day."), details={"field": "period_end"})
    if end - start > MAX_PERIOD:
        raise ValidationError(_l("A certificate covers at most ten years."), details={"field": "period_start"})


def _verified_service(profile, start_utc, end_utc):
    """[(category, minutes, records, first start, last start)] of approved records in [start, end)."""
    return db.session.execute(
        select(
            ServiceRecord.category,
            func.sum(ServiceRecord.verified_minutes),
            func.count(ServiceRecord.id),
            func.min(ServiceRecord.started_at),
            func.max(ServiceRecord.started_at),
        )
        .where(
            ServiceRecord.volunteer_id == profile.id,
            ServiceRecord.status == "approved",
            ServiceRecord.started_at >= start_utc,
            ServiceRecord.started_at < end_utc,
        )
        .group_by(ServiceRecord.category)
    ).all()


def issue_certificate(user, period_start, period_end, now=None):
    """Certify the volunteer's verified hours from ``period_start`` to ``period_end`` (local days).

    Asking again for the same period while the figures are the same gives back the
    certificate already issued rather than a second one.
    """
    profile = _profile_of(user)
    issuer = profile.home_organization
    now = now or utcnow()
    today = to_local(now, issuer.timezone).date()
    _check_period(period_start, period_end, today)
    start_utc = local_midnight_utc(period_start, issuer.timezone)
    end_utc = local_midnight_utc(period_end + timedelta(days=1), issuer.timezone)
    with write_transaction():
        rows = [row for row in _verified_service(profile, start_utc, end_utc) if row[1]]
        if not rows:
            raise NoVerifiedService(details={"field": "period_start"})
        categories = sorted(
            (
                {"category": category, "minutes": int(minutes), "records": int(count)}
                for category, minutes, count, *_ in rows
            ),
            key=lambda line: (-line["minutes"], line["category"]),
        )
        total = sum(line["minutes"] for line in categories)
        records = sum(line["records"] for line in categories)
        same = db.session.execute(
            select(ServiceCertificate).where(
                ServiceCertificate.volunteer_id == profile.id,
                ServiceCertificate.period_start == period_start,
                ServiceCertificate.period_end == period_end,
                ServiceCertificate.revoked_at.is_(None),
                ServiceCertificate.total_minutes == total,
                ServiceCertificate.record_count == records,
            )
        ).scalar_one_or_none()
        if same is not None:
            return same
        issued_today = db.session.execute(
            select(func.count(ServiceCertificate.id)).where(
                ServiceCertificate.volunteer_id == profile.id, ServiceCertificate.issued_at >= now - timedelta(days=1)
            )
        ).scalar_one()
        if issued_today >= MAX_CERTIFICATES_PER_DAY:
            raise ValidationError(
                _l("You have asked for many certificates today; please try again tomorrow."),
                details={"field": "period_start"},
            )
        certificate = ServiceCertificate(
            verification_code=new_certificate_code(),
            volunteer_id=profile.id,
            organization_id=issuer.id,
            period_start=period_start,
            period_end=period_end,
            first_service_on=to_local(min(row[3] for row in rows), issuer.timezone).date(),
            last_service_on=to_local(max(row[4] for row in rows), issuer.timezone).date(),
            total_minutes=total,
            record_count=records,
            categories=categories,
            issued_at=now,
        )
        db.session.add(certificate)
        db.session.flush()
        certificate.number = f"{to_local(now, issuer.timezone):%Y%m%d}-{certificate.id:06d}"
    return certificate


def list_my_certificates(user):
    profile = _profile_of(user)
    return (
        db.session.execute(
            select(ServiceCertificate)
            .where(ServiceCertificate.volunteer_id == profile.id)
            .order_by(ServiceCertificate.id.desc())
            .limit(100)
        )
        .scalars()
        .all()
    )


def my_certificate(user, certificate_id):
    profile = _profile_of(user)
    certificate = db.session.get(ServiceCertificate, certificate_id)
    if certificate is None or certificate.volunteer_id != profile.id:
        raise NotFound(_l("That certificate does not exist."))
    return certificate


def verify_certificate(code):
    """The public check by verification code; None when no certificate has this code."""
    text = normalise_code(code)[:64]
    if not is_valid_certificate_code(text):
        return None
    certificate = db.session.execute(
        select(ServiceCertificate).where(ServiceCertificate.verification_code == text)
    ).scalar_one_or_none()
    if certificate is None:
        return None
    return Verification(certificate, mask_name(certificate.volunteer.user.name), certificate.revoked_at is not None)


def find_certificate(actor, number):
    """A certificate by its printed number, for an administrator of its issuer's subtree."""
    text = normalise_code(number)[:32]
    certificate = db.session.execute(
        select(ServiceCertificate).where(ServiceCertificate.number == text[:8] + "-" + text[8:])
    ).scalar_one_or_none()
    if certificate is None or not authz.can(actor, "certificate.revoke", certificate.organization):
        raise NotFound(_l("No certificate has that number here."))
    return certificate


def revoke_certificate(actor, certificate_id, reason, now=None):
    """Withdraw a certificate (issued in error, or the hours were reversed); audited."""
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise ValidationError(_l("Give a reason."), details={"field": "reason"})
    if len(text) > MAX_REVOKE_REASON:
        raise ValidationError(
            _l("The reason can have at most %(n)s characters."), n=MAX_REVOKE_REASON, details={"field": "reason"}
        )
    now = now or utcnow()
    with write_transaction():
        certificate = lock_one(ServiceCertificate, ServiceCertificate.id == certificate_id)
        if certificate is None or not authz.can(actor, "certificate.revoke", certificate.organization):
            raise NotFound(_l("No certificate has that number here."))
        if certificate.revoked_at is not None:
            return certificate
        certificate.revoked_at = now
        certificate.revoked_by_id = actor.id
        certificate.revoke_reason = text
        record_audit(
            actor,
            "certificate.revoke",
            "service_certificate",
            certificate.id,
            certificate.organization_id,
            before={"number": certificate.number, "revoked": False},
            after={"number": certificate.number, "revoked": True, "reason": text},
        )
    return certificate
