"""Monthly figures kept per organization, so a report reads a few small rows instead of
every record, redemption and ledger entry.

Each row is a running total for one organization and one month, changed by the same
unit of work as the change it counts (see ``aggregates``); ``flask points
reports-rebuild`` recomputes them from the raw tables. The figures the dashboard shows
are kept for a node's whole subtree: a change is filed at the place it belongs to and at
every node above it, up to the root, so the dashboard of any node reads that node's own
rows, never its descendants'. The month is that of the place the change belongs to, in
that place's time zone (``month`` is the first day of it), at every level alike, so a
node's row adds up exactly what its descendants' rows say. Where each figure is filed:

- service (minutes, points, records): the record's organization and every node above
  it, in the month the service started;
- active volunteers: the volunteer's home organization and every node above it, in the
  month the service started (a volunteer has one home, so a district counts a volunteer
  who served in two of its communities once); ``VolunteerMonth``, which tells when a
  volunteer becomes active, stays at the home only;
- redemptions by perk: the volunteer's home organization and every node above it, in
  the month of the purchase. Rows above the home are split into ``STRIPES`` stripes by
  the volunteer (``volunteer_id % STRIPES``; the home's own row is stripe 0) and a
  reader adds the stripes up: a city-wide perk redeemed at many counters at once then
  changes sixteen rows at each level above the communities instead of one that every
  redemption of the city would wait on;
- redemptions by counter: the counter that handed the perk over only (stripe 0), in
  the month it did: the dashboard lists counters, so it reads the counters' rows;
- expired points: the volunteer's home organization and every node above it, in the
  month they expired in the home's time zone;
- a volunteer's service for the honor rolls: every organization above the record's, up
  to the root (the record's own included), in the month the service started in that
  organization's time zone; an honor roll of a subtree ranks that subtree's rows.

A figure counts what stands now: a reversed record or an undone redemption is taken
out of the month it was counted in. When a node moves to another parent, its own rows
(its subtree's figures) are taken out of the levels it leaves and added to those it
joins, in the unit of work of the move (``aggregates``).
"""

from datetime import date

from sqlalchemy import BigInteger, ForeignKey, Index, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

# Rows of redemptions above a volunteer's home are split this many ways (see above).
STRIPES = 16


class ServiceMonth(db.Model):
    """Approved service in an organization's subtree in a month, by category."""

    __tablename__ = "report_service_months"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    month: Mapped[date] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    records: Mapped[int] = mapped_column(default=0)
    minutes: Mapped[int] = mapped_column(BigInteger, default=0)
    points: Mapped[int] = mapped_column(BigInteger, default=0)

    def __repr__(self):
        return f"<ServiceMonth {self.organization_id} {self.month} {self.category} {self.minutes}min>"


class VolunteerMonth(db.Model):
    """How many approved records a volunteer has in a month (filed under the volunteer's
    home organization): the volunteer is active that month while it is above zero."""

    __tablename__ = "report_volunteer_months"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    month: Mapped[date] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer_profiles.id"), primary_key=True)
    records: Mapped[int] = mapped_column(default=0)

    def __repr__(self):
        return f"<VolunteerMonth {self.organization_id} {self.month} volunteer={self.volunteer_id} {self.records}>"


class ActiveMonth(db.Model):
    """Volunteers whose home lies in an organization's subtree with approved service in a
    month: the rows of ``VolunteerMonth`` above zero, counted as they cross it, at the
    home and every node above it."""

    __tablename__ = "report_active_months"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    month: Mapped[date] = mapped_column(primary_key=True)
    volunteers: Mapped[int] = mapped_column(default=0)

    def __repr__(self):
        return f"<ActiveMonth {self.organization_id} {self.month} {self.volunteers}>"


class RedemptionMonth(db.Model):
    """Redemptions of a perk in a month, not undone, counted from two sides: by volunteers
    whose home lies in the organization's subtree, in the month they were made
    (``redemptions``, ``points``, split into stripes above the home), and handed over at
    the organization's own counter in the month they were (``counter_redemptions``,
    ``counter_points``, stripe 0). A redemption at a counter changes all its rows with
    one statement. The counters' rows have an index of their own, so listing a subtree's
    counters reads their rows only."""

    __tablename__ = "report_redemption_months"
    __table_args__ = (
        Index(
            "ix_report_redemption_months_counters",
            "month",
            "organization_id",
            postgresql_where=text("counter_redemptions <> 0"),
            sqlite_where=text("counter_redemptions <> 0"),
        ),
    )

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    month: Mapped[date] = mapped_column(primary_key=True)
    perk_id: Mapped[int] = mapped_column(ForeignKey("perks.id"), primary_key=True)
    stripe: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=0)
    redemptions: Mapped[int] = mapped_column(default=0)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    counter_redemptions: Mapped[int] = mapped_column(default=0)
    counter_points: Mapped[int] = mapped_column(BigInteger, default=0)

    def __repr__(self):
        return (
            f"<RedemptionMonth {self.organization_id} {self.month} perk={self.perk_id} stripe={self.stripe}"
            f" {self.redemptions} made, {self.counter_redemptions} at the counter>"
        )


class ExpiryMonth(db.Model):
    """Points of volunteers whose home lies in an organization's subtree that expired in a month."""

    __tablename__ = "report_expiry_months"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    month: Mapped[date] = mapped_column(primary_key=True)
    points: Mapped[int] = mapped_column(BigInteger, default=0)

    def __repr__(self):
        return f"<ExpiryMonth {self.organization_id} {self.month} {self.points}>"


class HonorMonth(db.Model):
    """A volunteer's approved minutes and points in a month, in an organization's subtree.

    One row per organization above the record's place (so the city, its district, the
    street and the community each have one), which is what lets an honor roll of any
    subtree read its best volunteers off an index instead of adding up a month of records.
    """

    __tablename__ = "report_honor_months"
    __table_args__ = (
        Index("ix_report_honor_months_minutes", "organization_id", "month", "minutes"),
        Index("ix_report_honor_months_points", "organization_id", "month", "points"),
    )

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    month: Mapped[date] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer_profiles.id"), primary_key=True)
    minutes: Mapped[int] = mapped_column(BigInteger, default=0)
    points: Mapped[int] = mapped_column(BigInteger, default=0)

    def __repr__(self):
        return f"<HonorMonth {self.organization_id} {self.month} volunteer={self.volunteer_id} {self.minutes}min>"


# The tables of monthly figures, in the order their rows are locked when changed.
MONTHLY_TABLES = (ServiceMonth, VolunteerMonth, ActiveMonth, RedemptionMonth, ExpiryMonth, HonorMonth)


class OrganizationBalance(db.Model):
    """Points the volunteers whose home is an organization hold now: the sum of their
    accounts' balances, changed in the unit of work that changes a balance (``balances``),
    so points outstanding add up one row per organization instead of every account."""

    __tablename__ = "report_organization_balances"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    points: Mapped[int] = mapped_column(BigInteger, default=0)

    def __repr__(self):
        return f"<OrganizationBalance {self.organization_id} {self.points}>"
