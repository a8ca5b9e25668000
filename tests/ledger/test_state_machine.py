"""Random sequences of ledger operations keep invariants 1-3 of DESIGN.md after every step,
and every reversal shortfall agrees with the recovery entries that settle it."""

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.ledger.errors import AlreadyReversed, InsufficientPoints, NotReversible
from points_service.ledger.models import LedgerEntry, PointsLot

from .helpers import T0, movements_of

pytestmark = pytest.mark.slow


def make_machine(build):
    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.account_id = build.account(build.volunteer()).id
            self.now = T0
            self.history = {}  # entry id -> the columns it had when first seen
            self.reversed = set()

        # -- what the database says ---------------------------------------------------

        def entries(self):
            return (
                db.session.execute(
                    select(LedgerEntry).where(LedgerEntry.account_id == self.account_id).order_by(LedgerEntry.id)
                )
                .scalars()
                .all()
            )

        def spendable_lots(self):
            """Open lots not yet due, in spending order: soonest expiry first, then oldest, never-expiring last."""
            lots = db.session.execute(
                select(PointsLot).where(PointsLot.account_id == self.account_id, PointsLot.expired_at.is_(None))
            ).scalars()
            lots = sorted(
                lots, key=lambda lot: (lot.expires_at is None, lot.expires_at or lot.earned_at, lot.earned_at, lot.id)
            )
            return [
                (lot.id, lot.remaining)
                for lot in lots
                if lot.remaining and (lot.expires_at is None or lot.expires_at > self.now)
            ]

        def owed(self):
            """Points of reversals still to recover from the next earnings."""
            return sum(shortfall.open_points for shortfall in ledger.open_shortfalls(self.account_id))

        def balance(self):
            db.session.expire_all()
            return ledger.get_account(self.account_id).balance

        def entry_count(self):
            db.session.rollback()
            return db.session.execute(
                select(func.count(LedgerEntry.id)).where(LedgerEntry.account_id == self.account_id)
            ).scalar_one()

        # -- operations ------------------------------------------------------------------

        @rule(points=st.integers(1, 200), days=st.none() | st.integers(1, 60))
        def earn(self, points, days):
            available = sum(points for _, points in self.spendable_lots())
            owed = self.owed()
            expires_at = None if days is None else self.now + timedelta(days=days)
            ledger.earn_points(self.account_id, points, reason="earn", now=self.now, expires_at=expires_at)
            assert self.balance() == available + points - min(owed, points)
            assert self.owed() == owed - min(owed, points)

        @rule(points=st.integers(1, 300))
        def spend(self, points):
            self.take(points, lambda: ledger.spend_points(self.account_id, points, reason="spend", now=self.now))

        @rule(delta=st.integers(-200, 200).filter(bool), days=st.none() | st.integers(1, 60))
        def adjust(self, delta, days):
            expires_at = None if days is None else self.now + timedelta(days=days)

            def operation():
                return ledger.adjust_points(
                    self.account_id, delta, reason="adjust", actor_id=None, now=self.now, expires_at=expires_at
                )

            if delta < 0:
                self.take(-delta, operation)
            else:
                available = sum(points for _, points in self.spendable_lots())
                owed = self.owed()
                operation()
                assert self.balance() == available + delta - min(owed, delta)

        def take(self, points, operation):
            lots = self.spendable_lots()
            available = sum(remaining for _, remaining in lots)
            count = self.entry_count()
            if points > available:
                with pytest.raises(InsufficientPoints):
                    operation()
                assert self.entry_count() == count, "a refused operation wrote something"
                return
            entry = operation()
            expected, left = {}, points
            for lot_id, remaining in lots:  # in spending order
                if left == 0:
                    break
                expected[lot_id] = min(remaining, left)
                left -= expected[lot_id]
            assert movements_of(entry) == expected
            assert self.balance() == available - points

        @rule(pick=st.integers(0, 10_000))
        def reverse(self, pick):
            entries = self.entries()
            if not entries:
                return
            original = entries[pick % len(entries)]
            taken = movements_of(original)
            if original.kind in ("expire", "reverse"):
                with pytest.raises(NotReversible):
                    ledger.reverse_entry(original.id, reason="reverse", now=self.now)
            elif original.id in self.reversed:
                with pytest.raises(AlreadyReversed):
                    ledger.reverse_entry(original.id, reason="reverse", now=self.now)
            else:
                result = ledger.reverse_entry(original.id, reason="reverse", now=self.now)
                self.reversed.add(original.id)
                if original.delta < 0:
                    assert result.restored_lots == taken
                    assert result.entry.delta == -original.delta

        @rule(days=st.integers(1, 40))
        def let_time_pass(self, days):
            self.now += timedelta(days=days)

        @rule()
        def expire(self):
            available = sum(points for _, points in self.spendable_lots())
            ledger.expire_account(self.account_id, now=self.now)
            assert self.balance() == available

        # -- invariants ----------------------------------------------------------------------

        @invariant()
        def balance_equals_entries_and_open_lots(self):
            db.session.expire_all()
            account = ledger.get_account(self.account_id)
            entry_total = db.session.execute(
                select(func.coalesce(func.sum(LedgerEntry.delta), 0)).where(LedgerEntry.account_id == account.id)
            ).scalar_one()
            lot_total = db.session.execute(
                select(func.coalesce(func.sum(PointsLot.remaining), 0)).where(
                    PointsLot.account_id == account.id, PointsLot.expired_at.is_(None)
                )
            ).scalar_one()
            assert account.balance == entry_total == lot_total
            mine = [problem for where, problem in ledger.verify_ledger().discrepancies if where == account.id]
            assert mine == []
            assert [problem for where, problem in ledger.check_shortfalls() if where == account.id] == []

        @invariant()
        def no_balance_is_ever_negative(self):
            entries = self.entries()
            assert ledger.get_account(self.account_id).balance >= 0
            assert all(entry.balance_after >= 0 for entry in entries)

        @invariant()
        def entries_are_never_changed_or_removed(self):
            current = {
                entry.id: (entry.kind, entry.delta, entry.balance_after, entry.reason, entry.created_at)
                for entry in self.entries()
            }
            for entry_id, columns in self.history.items():
                assert current.get(entry_id) == columns
            self.history = current

    return LedgerMachine


def test_random_ledger_operations_keep_the_invariants(build):
    run_state_machine_as_test(
        make_machine(build),
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
