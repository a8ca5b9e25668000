"""Accounts, entries, lots and lot movements. See the package docstring."""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ..database import refuse_history_changes
from ..extensions import db
from ..timeutil import utcnow

ENTRY_KINDS = ("earn", "redeem", "reverse", "expire", "adjust")


class PointsAccount(db.Model):
    __tablename__ = "points_accounts"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("lifetime_earned >= 0", name="lifetime_earned_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer_profiles.id"), unique=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    lifetime_earned: Mapped[int] = mapped_column(BigInteger, default=0)
    lifetime_spent: Mapped[int] = mapped_column(BigInteger, default=0)
    lifetime_expired: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self):
        return f"<PointsAccount {self.id} balance={self.balance}>"


class LedgerEntry(db.Model):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("delta <> 0", name="delta_not_zero"),
        CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
        CheckConstraint("kind IN ('earn', 'redeem', 'reverse', 'expire', 'adjust')", name="kind_known"),
        Index("ix_ledger_entries_account_id_id", "account_id", "id"),
        Index("ix_ledger_entries_cause", "cause_type", "cause_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id"))
    kind: Mapped[str] = mapped_column(String(10))
    delta: Mapped[int]
    balance_after: Mapped[int] = mapped_column(BigInteger)
    # ``reason`` is a message id the server wrote (``N_``), translated when shown;
    # ``note`` is what a person typed (a void reason, a perk's name), shown as it is.
    reason: Mapped[str] = mapped_column(String(255), default="")
    note: Mapped[str | None] = mapped_column(String(255))
    cause_type: Mapped[str | None] = mapped_column(String(40))
    cause_id: Mapped[str | None] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    reverses_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)
    details: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self):
        return f"<LedgerEntry {self.id} {self.kind} {self.delta:+d}>"


class PointsLot(db.Model):
    __tablename__ = "points_lots"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("remaining >= 0 AND remaining <= amount", name="remaining_within_amount"),
        Index("ix_points_lots_open", "account_id", "expired_at", "earned_at"),
        Index("ix_points_lots_due", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)
    amount: Mapped[int]
    remaining: Mapped[int]
    earned_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    expired_at: Mapped[datetime | None]

    def __repr__(self):
        return f"<PointsLot {self.id} {self.remaining}/{self.amount}>"


class LotMovement(db.Model):
    """Points taken from (positive) or returned to (negative) a lot by an entry."""

    __tablename__ = "lot_movements"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        UniqueConstraint("entry_id", "lot_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("points_lots.id"), index=True)
    amount: Mapped[int]

    def __repr__(self):
        return f"<LotMovement entry={self.entry_id} lot={self.lot_id} {self.amount:+d}>"


class ReversalShortfall(db.Model):
    """Points a reversal could not take back because they were already spent.

    What is still open (``points - recovered_points - written_off_points``) is recovered
    from the volunteer's next earnings (one ``reverse`` entry per recovery, caused by the
    shortfall) or written off with a second person's approval; the row is settled when
    nothing is open. A reversal that wrote no entry leaves a row here even when nothing
    is owed (every point of the entry had expired): ``points`` 0, settled when created.
    """

    __tablename__ = "reversal_shortfalls"
    __table_args__ = (
        CheckConstraint("points >= 0", name="points_not_negative"),
        CheckConstraint(
            "recovered_points >= 0 AND written_off_points >= 0 AND recovered_points + written_off_points <= points",
            name="settled_within_points",
        ),
        # The staff work list reads the open ones only.
        Index(
            "ix_reversal_shortfalls_open",
            "id",
            postgresql_where=text("settled_at IS NULL"),
            sqlite_where=text("settled_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("points_accounts.id"), index=True)
    reversed_entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), unique=True)
    reverse_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"))
    points: Mapped[int]
    recovered_points: Mapped[int] = mapped_column(default=0, server_default="0")
    written_off_points: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    settled_at: Mapped[datetime | None]
    settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    settlement_note: Mapped[str | None] = mapped_column(String(255))

    @property
    def open_points(self):
        return self.points - self.recovered_points - self.written_off_points

    def __repr__(self):
        return f"<ReversalShortfall entry={self.reversed_entry_id} {self.open_points}/{self.points} open>"


# The database itself refuses to change history: entries and lot movements are never
# updated or deleted; a lot changes only in what remains of it and when it expired.
refuse_history_changes(LedgerEntry.__table__, "ledger entries")
refuse_history_changes(PointsLot.__table__, "points lots", updatable=("remaining", "expired_at"))
refuse_history_changes(LotMovement.__table__, "lot movements")
