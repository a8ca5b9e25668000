"""Service certificates: proof of verified volunteer hours for a chosen period.

A certificate is a snapshot taken when it is issued (the hours per category of the
volunteer's approved records in the period) so that what it certifies never changes
afterwards; revoking it is the only later change. It carries an unguessable
verification code: the public check is by that code, never by name or ID number.
No name is stored here; the PDF reads the volunteer's current name when it is drawn.
"""

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import VolunteerProfile
from ..extensions import db
from ..organizations.models import Organization
from ..timeutil import utcnow

MAX_REVOKE_REASON = 255


class ServiceCertificate(db.Model):
    __tablename__ = "service_certificates"
    __table_args__ = (
        CheckConstraint("period_end >= period_start", name="period_in_order"),
        CheckConstraint("total_minutes > 0", name="total_minutes_positive"),
        CheckConstraint("record_count > 0", name="record_count_positive"),
        CheckConstraint(
            "(revoked_at IS NULL) = (revoke_reason IS NULL)",
            name="revoked_with_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Printed on the certificate: issue date and a sequence, e.g. 20261203-000042.
    number: Mapped[str | None] = mapped_column(String(24), unique=True)
    verification_code: Mapped[str] = mapped_column(String(20), unique=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer_profiles.id"), index=True)
    # The issuer: the volunteer's home organization when it was issued.
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    # Local dates (the issuer's time zone), both included.
    period_start: Mapped[date]
    period_end: Mapped[date]
    first_service_on: Mapped[date]
    last_service_on: Mapped[date]
    total_minutes: Mapped[int]
    record_count: Mapped[int]
    # [{"category": code, "minutes": n, "records": k}], largest first.
    categories: Mapped[list] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoke_reason: Mapped[str | None] = mapped_column(String(MAX_REVOKE_REASON))

    volunteer: Mapped[VolunteerProfile] = relationship(lazy="selectin")
    organization: Mapped[Organization] = relationship(lazy="selectin")

    def __repr__(self):
        return f"<ServiceCertificate {self.id} {self.number}>"
