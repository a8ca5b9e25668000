"""Perks, where they are honored, and redemptions.

A ``Perk`` is what points buy. It belongs to one organization (its owner, whose
volunteers may redeem it) and is honored at a set of organization nodes
(``PerkVenue``); a venue covers its whole subtree, so a perk honored at a district is
honored at every counter inside that district.

A ``Redemption`` is one purchase: ``reserved`` (online, with a voucher code) or
``fulfilled`` (handed over at a counter), later ``voided`` or ``expired``. It points
at the ledger entry that debited the points and, once undone, at the entry that
returned them. Money is integer minor units with a currency; points are integers.
"""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User, VolunteerProfile
from ..database import one_of
from ..extensions import db
from ..ledger.models import LedgerEntry
from ..organizations.models import Organization
from ..timeutil import utcnow

PERK_KINDS = ("parking_discount", "priority_service", "goods", "other")
LIMIT_PERIODS = ("day", "week", "month", "year")
CHANNELS = ("counter", "online")
REDEMPTION_STATUSES = ("reserved", "fulfilled", "voided", "expired")
# none: nothing to pay; pending: a card payment under way; paid: collected; failed: nothing
# charged (card declined or abandoned); refund_due: to hand back; refunded: handed back.
PAYMENT_STATUSES = ("none", "pending", "paid", "failed", "refund_due", "refunded")


class Perk(db.Model):
    __tablename__ = "perks"
    __table_args__ = (
        CheckConstraint(one_of("kind", PERK_KINDS), name="kind_known"),
        CheckConstraint("points_cost > 0", name="points_cost_positive"),
        CheckConstraint("copay_amount >= 0", name="copay_not_negative"),
        CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),
        CheckConstraint("min_stars >= 0 AND min_stars <= 10", name="min_stars_range"),
        CheckConstraint(
            "(limit_quantity IS NULL AND limit_period IS NULL) OR "
            f"(limit_quantity > 0 AND {one_of('limit_period', LIMIT_PERIODS)})",
            name="limit_complete",
        ),
        CheckConstraint(
            "valid_from IS NULL OR valid_until IS NULL OR valid_until > valid_from", name="validity_ordered"
        ),
        Index("ix_perks_organization_id_active", "organization_id", "active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(120))
    terms: Mapped[str] = mapped_column(Text, default="")
    picture: Mapped[str | None] = mapped_column(String(255))
    points_cost: Mapped[int]
    copay_amount: Mapped[int] = mapped_column(default=0)
    copay_currency: Mapped[str] = mapped_column(String(3), default="CNY")
    stock: Mapped[int | None]
    limit_quantity: Mapped[int | None]
    limit_period: Mapped[str | None] = mapped_column(String(5))
    min_stars: Mapped[int] = mapped_column(default=0)
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Raised by every edit of the perk's description (not by stock moving): an edit form
    # names the version it was opened at, so a second admin's stale save is refused.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    # Loaded by a second query, not a join: rows of this table are selected FOR UPDATE.
    organization: Mapped[Organization] = relationship(lazy="selectin")
    venues: Mapped[list["PerkVenue"]] = relationship(
        back_populates="perk", cascade="all, delete-orphan", lazy="selectin", order_by="PerkVenue.organization_id"
    )

    @property
    def venue_organizations(self):
        return [venue.organization for venue in self.venues]

    def is_honored_at(self, organization):
        """True when ``organization`` lies in the subtree of one of the perk's venues."""
        return any(venue.organization.contains(organization) for venue in self.venues)

    def __repr__(self):
        return f"<Perk {self.id} {self.kind} cost={self.points_cost} stock={self.stock}>"


class PerkVenue(db.Model):
    """An organization node (and its subtree) where a perk is honored."""

    __tablename__ = "perk_venues"
    __table_args__ = (UniqueConstraint("perk_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    perk_id: Mapped[int] = mapped_column(ForeignKey("perks.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)

    perk: Mapped[Perk] = relationship(back_populates="venues")
    organization: Mapped[Organization] = relationship(lazy="joined")

    def __repr__(self):
        return f"<PerkVenue perk={self.perk_id} at={self.organization_id}>"


class PerkStockAdjustment(db.Model):
    """A change of a perk's stock by a person (delivery, count, breakage), with its reason.

    Redemptions and voids move the stock too; they are recorded as redemptions. A stock
    of None is unlimited (no count kept).
    """

    __tablename__ = "perk_stock_adjustments"
    __table_args__ = (
        CheckConstraint("stock_before IS NULL OR stock_before >= 0", name="stock_before_not_negative"),
        CheckConstraint("stock_after IS NULL OR stock_after >= 0", name="stock_after_not_negative"),
        Index("ix_perk_stock_adjustments_perk", "perk_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    perk_id: Mapped[int] = mapped_column(ForeignKey("perks.id"))
    stock_before: Mapped[int | None]
    stock_after: Mapped[int | None]
    reason: Mapped[str] = mapped_column(String(255))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[User | None] = relationship(lazy="selectin")

    @property
    def change(self):
        """Items added (positive) or taken off (negative); None when counting starts or stops."""
        if self.stock_before is None or self.stock_after is None:
            return None
        return self.stock_after - self.stock_before

    def __repr__(self):
        return f"<PerkStockAdjustment {self.id} perk={self.perk_id} {self.stock_before}->{self.stock_after}>"


class Redemption(db.Model):
    __tablename__ = "redemptions"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("points > 0", name="points_positive"),
        CheckConstraint("copay_amount >= 0", name="copay_not_negative"),
        CheckConstraint(one_of("channel", CHANNELS), name="channel_known"),
        CheckConstraint(one_of("status", REDEMPTION_STATUSES), name="status_known"),
        CheckConstraint(one_of("payment_status", PAYMENT_STATUSES), name="payment_status_known"),
        CheckConstraint("channel = 'counter' OR voucher_code IS NOT NULL", name="online_has_voucher"),
        CheckConstraint(
            "payment_status <> 'refunded' OR (refunded_at IS NOT NULL AND refund_method IS NOT NULL)",
            name="refunded_has_date_and_method",
        ),
        Index("ix_redemptions_volunteer_perk", "volunteer_id", "perk_id", "created_at"),
        Index("ix_redemptions_reserved_due", "status", "voucher_expires_at"),
        Index("ix_redemptions_counter_day", "counter_organization_id", "fulfilled_at"),
        # Webhook events find their redemption by its PaymentIntent.
        Index("ix_redemptions_payment_reference", "payment_reference"),
        # The staff work list reads the refunds due only.
        Index(
            "ix_redemptions_refund_due",
            "id",
            postgresql_where=text("payment_status = 'refund_due'"),
            sqlite_where=text("payment_status = 'refund_due'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    perk_id: Mapped[int] = mapped_column(ForeignKey("perks.id"), index=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer_profiles.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id"), index=True)
    quantity: Mapped[int] = mapped_column(default=1)
    points: Mapped[int] = mapped_column(BigInteger)
    copay_amount: Mapped[int] = mapped_column(default=0)
    copay_currency: Mapped[str] = mapped_column(String(3), default="CNY")
    payment_status: Mapped[str] = mapped_column(String(12), default="none")
    payment_method: Mapped[str | None] = mapped_column(String(16))
    payment_reference: Mapped[str | None] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10))
    voucher_code: Mapped[str | None] = mapped_column(String(24), unique=True)
    voucher_expires_at: Mapped[datetime | None]
    counter_organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    redeem_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)
    return_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    fulfil_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    fulfilled_at: Mapped[datetime | None]
    fulfilled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    voided_at: Mapped[datetime | None]
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    void_reason: Mapped[str | None] = mapped_column(String(255))
    expired_at: Mapped[datetime | None]
    # A co-payment due for refund (``refund_due``) is handed back and recorded here (``refunded``).
    refund_method: Mapped[str | None] = mapped_column(String(16))
    refunded_at: Mapped[datetime | None]
    refunded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    refund_note: Mapped[str | None] = mapped_column(String(255))

    # Loaded by second queries, not joins: rows of this table are selected FOR UPDATE.
    perk: Mapped[Perk] = relationship(lazy="selectin")
    volunteer: Mapped[VolunteerProfile] = relationship(lazy="selectin")
    counter_organization: Mapped[Organization | None] = relationship(lazy="selectin")
    redeem_entry: Mapped[LedgerEntry | None] = relationship(foreign_keys=[redeem_entry_id])
    return_entry: Mapped[LedgerEntry | None] = relationship(foreign_keys=[return_entry_id])
    fulfilled_by: Mapped[User | None] = relationship(foreign_keys=[fulfilled_by_id])
    voided_by: Mapped[User | None] = relationship(foreign_keys=[voided_by_id])
    refunded_by: Mapped[User | None] = relationship(foreign_keys=[refunded_by_id])

    @property
    def receipt_number(self):
        return f"R{self.id:08d}"

    def __repr__(self):
        return f"<Redemption {self.id} perk={self.perk_id} {self.channel} {self.status}>"
