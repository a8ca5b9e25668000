"""Honor rolls: the most active volunteers of an organization subtree in one period.

A **definition** says which roll an organization publishes periodically (period kind,
metric, size, name style, active or not); each of its periods gets at most one roll
(unique definition x period start), computed on the desk or by ``honor-draft-due``.
An **exclusion** takes a volunteer off one draft with a reason the reviewer reads;
recomputing the draft keeps them off and closes the ranks up.

A roll is computed as a ``draft`` (its entries replaced on every recompute) and then
``published``: from then on the roll and its entries are an immutable snapshot, checked
here on every flush as well as by the service. The snapshot holds only what the public
may see (rank, the display name as the roll shows it, the value, the home community's
name) plus the volunteer profile id for internal use; it is never exposed publicly.
Values are integers: minutes for the ``hours`` metric, points for ``points``.
"""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, event, inspect, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..database import one_of
from ..extensions import db
from ..organizations.models import Organization
from ..timeutil import utcnow

PERIOD_KINDS = ("month", "quarter", "year")
METRICS = ("hours", "points")
ROLL_STATUSES = ("draft", "published")
NAME_STYLES = ("masked", "full")
MIN_SIZE, MAX_SIZE = 1, 100
MAX_EXCLUSION_REASON = 255


class HonorRollDefinition(db.Model):
    """A roll an organization publishes every period: what it ranks, how many, how names show."""

    __tablename__ = "honor_roll_definitions"
    __table_args__ = (
        CheckConstraint(one_of("period_kind", PERIOD_KINDS), name="period_kind_known"),
        CheckConstraint(one_of("metric", METRICS), name="metric_known"),
        CheckConstraint(one_of("name_style", NAME_STYLES), name="name_style_known"),
        CheckConstraint(f"size BETWEEN {MIN_SIZE} AND {MAX_SIZE}", name="size_in_range"),
        # Rolls are unique per subtree, period and metric: so are the definitions that make them.
        UniqueConstraint("organization_id", "period_kind", "metric"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    period_kind: Mapped[str] = mapped_column(String(8))
    metric: Mapped[str] = mapped_column(String(8))
    size: Mapped[int]
    name_style: Mapped[str] = mapped_column(String(8), default="masked")
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    organization: Mapped[Organization] = relationship(lazy="selectin")

    def __repr__(self):
        state = "active" if self.active else "inactive"
        return f"<HonorRollDefinition {self.id} org={self.organization_id} {self.period_kind} {self.metric} {state}>"


class HonorRoll(db.Model):
    """One roll: organization subtree x period x metric, at most ``size`` entries."""

    __tablename__ = "honor_rolls"
    __table_args__ = (
        CheckConstraint(one_of("period_kind", PERIOD_KINDS), name="period_kind_known"),
        CheckConstraint(one_of("metric", METRICS), name="metric_known"),
        CheckConstraint(one_of("status", ROLL_STATUSES), name="status_known"),
        CheckConstraint(one_of("name_style", NAME_STYLES), name="name_style_known"),
        CheckConstraint(f"size BETWEEN {MIN_SIZE} AND {MAX_SIZE}", name="size_in_range"),
        CheckConstraint("status <> 'published' OR published_at IS NOT NULL", name="published_has_date"),
        # One roll per subtree, period and metric: a recompute replaces the draft's entries.
        UniqueConstraint("organization_id", "period_kind", "period_start", "metric"),
        # One roll per definition and period: two ``honor-draft-due`` runs at once make one.
        UniqueConstraint("definition_id", "period_start"),
        Index("ix_honor_rolls_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    # The definition it was computed for; None for a roll computed by hand (``honor-compute``).
    definition_id: Mapped[int | None] = mapped_column(ForeignKey("honor_roll_definitions.id"))
    period_kind: Mapped[str] = mapped_column(String(8))
    # The first local day of the period in the organization's time zone.
    period_start: Mapped[date]
    metric: Mapped[str] = mapped_column(String(8))
    size: Mapped[int]
    name_style: Mapped[str] = mapped_column(String(8), default="masked")
    status: Mapped[str] = mapped_column(String(10), default="draft")
    # Raised by every recompute: a publication request names the version its reviewer saw.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organization: Mapped[Organization] = relationship(lazy="selectin")
    entries: Mapped[list["HonorRollEntry"]] = relationship(
        back_populates="roll",
        order_by="HonorRollEntry.rank",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    exclusions: Mapped[list["HonorRollExclusion"]] = relationship(
        back_populates="roll", order_by="HonorRollExclusion.id", lazy="selectin"
    )

    def __repr__(self):
        period = f"{self.period_kind} {self.period_start}"
        return f"<HonorRoll {self.id} org={self.organization_id} {period} {self.metric} {self.status}>"


class HonorRollEntry(db.Model):
    """One line of a roll's snapshot."""

    __tablename__ = "honor_roll_entries"
    __table_args__ = (
        UniqueConstraint("roll_id", "rank"),
        CheckConstraint(f"rank BETWEEN 1 AND {MAX_SIZE}", name="rank_in_range"),
        CheckConstraint("value > 0", name="value_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    roll_id: Mapped[int] = mapped_column(ForeignKey("honor_rolls.id"))
    rank: Mapped[int]
    # Internal only (who is on the roll); never shown on public pages or in the API.
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer_profiles.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(80))
    value: Mapped[int]
    home_community: Mapped[str] = mapped_column(String(120))

    roll: Mapped[HonorRoll] = relationship(back_populates="entries")

    def __repr__(self):
        return f"<HonorRollEntry roll={self.roll_id} #{self.rank} {self.value}>"


class HonorRollExclusion(db.Model):
    """A volunteer taken off one draft, with the reason the reviewer reads. Staff-only."""

    __tablename__ = "honor_roll_exclusions"
    __table_args__ = (UniqueConstraint("roll_id", "volunteer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    roll_id: Mapped[int] = mapped_column(ForeignKey("honor_rolls.id"))
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer_profiles.id"), index=True)
    # The line as it stood when the volunteer was taken off (name as the roll shows it).
    rank: Mapped[int]
    display_name: Mapped[str] = mapped_column(String(80))
    value: Mapped[int]
    reason: Mapped[str] = mapped_column(String(MAX_EXCLUSION_REASON))
    excluded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    excluded_at: Mapped[datetime] = mapped_column(default=utcnow)

    roll: Mapped[HonorRoll] = relationship(back_populates="exclusions")
    excluded_by: Mapped[User | None] = relationship(lazy="selectin")

    def __repr__(self):
        return f"<HonorRollExclusion roll={self.roll_id} was #{self.rank}>"


class PublishedHonorRollChanged(RuntimeError):
    """A programming error: something tried to change a published snapshot."""


_ROLL_SNAPSHOT_FIELDS = (
    "organization_id",
    "definition_id",
    "period_kind",
    "period_start",
    "metric",
    "size",
    "name_style",
    "status",
    "version",
    "computed_at",
    "published_at",
    "published_by_id",
)


@event.listens_for(HonorRoll, "before_update")
def _published_roll_is_immutable(mapper, connection, target):
    state = inspect(target)
    status_before = state.committed_state.get("status", target.status)
    if status_before != "published":
        return
    for name in _ROLL_SNAPSHOT_FIELDS:
        if name in state.committed_state and state.committed_state[name] != getattr(target, name):
            raise PublishedHonorRollChanged(f"honor roll {target.id}: {name} of a published roll cannot change")


@event.listens_for(HonorRoll, "before_delete")
def _published_roll_is_kept(mapper, connection, target):
    if inspect(target).committed_state.get("status", target.status) == "published":
        raise PublishedHonorRollChanged(f"honor roll {target.id}: a published roll cannot be deleted")


def _roll_is_published(connection, roll_id):
    table = HonorRoll.__table__
    status = connection.execute(table.select().with_only_columns(table.c.status).where(table.c.id == roll_id))
    return status.scalar() == "published"


@event.listens_for(HonorRollEntry, "before_update")
@event.listens_for(HonorRollEntry, "before_delete")
@event.listens_for(HonorRollEntry, "before_insert")
@event.listens_for(HonorRollExclusion, "before_update")
@event.listens_for(HonorRollExclusion, "before_delete")
@event.listens_for(HonorRollExclusion, "before_insert")
def _published_entries_are_immutable(mapper, connection, target):
    if target.roll_id is not None and _roll_is_published(connection, target.roll_id):
        raise PublishedHonorRollChanged(
            f"honor roll {target.roll_id}: the entries and exclusions of a published roll cannot change"
        )
