"""Activities, sign-ups, service records and spreadsheet imports.

A ``ServiceRecord`` is one stretch of service by one volunteer. It starts ``pending``
and becomes ``approved`` (with exactly one earn entry in the ledger when its award is
more than zero points) or ``rejected`` (with a reason the volunteer sees); an approved
record may later be ``reversed``. Pending and approved records of one volunteer never
overlap in time. All datetimes are naive UTC.
"""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User, VolunteerProfile
from ..database import one_of
from ..extensions import db
from ..organizations.models import Organization
from ..timeutil import utcnow

ACTIVITY_STATUSES = ("published", "cancelled")
SIGNUP_STATUSES = ("confirmed", "waiting", "cancelled")
RECORD_SOURCES = ("checkin", "organizer", "self_report", "import")
RECORD_STATUSES = ("pending", "approved", "rejected", "reversed")
# Statuses that hold their time slot: a new record may not overlap them.
ACTIVE_RECORD_STATUSES = ("pending", "approved")


class Activity(db.Model):
    """A published piece of volunteer work with a time window, a place and a capacity."""

    __tablename__ = "activities"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint(one_of("status", ACTIVITY_STATUSES), name="status_known"),
        Index("ix_activities_organization_id_starts_at", "organization_id", "starts_at"),
        Index("ix_activities_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    title: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(40))
    place: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    capacity: Mapped[int]
    urgent: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="published")
    organizer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The per-activity key of the rotating check-in code; never shown.
    checkin_secret: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization: Mapped[Organization] = relationship(lazy="selectin")
    organizer: Mapped[User] = relationship()

    def __repr__(self):
        return f"<Activity {self.id} {self.status}>"


class ActivitySignup(db.Model):
    """A volunteer's place on an activity: confirmed, on the waiting list, or cancelled.

    Check-in and check-out times live here until check-out turns them into a record.
    """

    __tablename__ = "activity_signups"
    __table_args__ = (
        UniqueConstraint("activity_id", "volunteer_id"),
        CheckConstraint(one_of("status", SIGNUP_STATUSES), name="status_known"),
        CheckConstraint(
            "checked_out_at IS NULL OR (checked_in_at IS NOT NULL AND checked_out_at >= checked_in_at)",
            name="checkout_after_checkin",
        ),
        Index("ix_activity_signups_activity_id_status", "activity_id", "status", "signed_up_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer_profiles.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    signed_up_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]
    checked_in_at: Mapped[datetime | None]
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_out_at: Mapped[datetime | None]
    checked_out_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    record_id: Mapped[int | None] = mapped_column(ForeignKey("service_records.id"), unique=True)

    activity: Mapped[Activity] = relationship()
    volunteer: Mapped[VolunteerProfile] = relationship(lazy="selectin")

    def __repr__(self):
        return f"<ActivitySignup {self.id} activity={self.activity_id} {self.status}>"


class ImportBatch(db.Model):
    """One applied spreadsheet; its content hash makes a re-upload recognisable."""

    __tablename__ = "import_batches"
    __table_args__ = (CheckConstraint("row_count > 0", name="row_count_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    row_count: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization: Mapped[Organization] = relationship(lazy="selectin")

    def __repr__(self):
        return f"<ImportBatch {self.id} rows={self.row_count}>"


class ServiceRecord(db.Model):
    """One stretch of service by one volunteer, and what it was awarded."""

    __tablename__ = "service_records"
    __table_args__ = (
        CheckConstraint("ended_at > started_at", name="ends_after_start"),
        CheckConstraint("minutes > 0", name="minutes_positive"),
        CheckConstraint(one_of("source", RECORD_SOURCES), name="source_known"),
        CheckConstraint(one_of("status", RECORD_STATUSES), name="status_known"),
        CheckConstraint(
            "status NOT IN ('approved', 'reversed')"
            " OR (approved_at IS NOT NULL AND awarded_points IS NOT NULL AND verified_minutes IS NOT NULL)",
            name="approved_has_award",
        ),
        CheckConstraint("status <> 'rejected' OR rejection_reason IS NOT NULL", name="rejected_has_reason"),
        CheckConstraint("awarded_points IS NULL OR awarded_points >= 0", name="awarded_points_not_negative"),
        CheckConstraint("verified_minutes IS NULL OR verified_minutes >= 0", name="verified_minutes_not_negative"),
        Index("ix_service_records_volunteer_id_started_at", "volunteer_id", "started_at"),
        Index("ix_service_records_organization_id_status", "organization_id", "status"),
        Index("ix_service_records_status_started_at", "status", "started_at"),
        # The desk's approvals backlog: pending records, longest waiting first.
        Index("ix_service_records_status_created_at", "status", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer_profiles.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"), index=True)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    minutes: Mapped[int]
    urgent: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    evidence: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(String(255))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    rejected_at: Mapped[datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(String(255))
    reversed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reversed_at: Mapped[datetime | None]
    reversal_reason: Mapped[str | None] = mapped_column(String(255))
    # Minutes the rules credit (their rounding); they count toward the volunteer's hours.
    verified_minutes: Mapped[int | None]
    # The award at approval (immutable) and the points the record holds now (after re-rates).
    awarded_points: Mapped[int | None]
    points: Mapped[int | None]
    breakdown: Mapped[list | None] = mapped_column(JSON)
    rule_set_id: Mapped[int | None] = mapped_column(ForeignKey("rule_sets.id"))
    rule_set_version: Mapped[int | None]
    earn_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    volunteer: Mapped[VolunteerProfile] = relationship(lazy="selectin")
    organization: Mapped[Organization] = relationship(lazy="selectin")
    activity: Mapped[Activity | None] = relationship()

    def __repr__(self):
        return f"<ServiceRecord {self.id} {self.source} {self.status} {self.minutes}min>"
