"""The database itself, not only the code, refuses to rewrite history or go negative."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.ledger.models import LedgerEntry, LotMovement, PointsLot
from tests.conftest import ON_POSTGRESQL

from .helpers import at, lots_of


@pytest.fixture
def entry(account):
    ledger.earn_points(account.id, 30, reason="earned", now=at(0))
    return ledger.spend_points(account.id, 10, reason="spent", now=at(1))


def refused_by_database(statement, **params):
    with pytest.raises(DBAPIError) as refused:
        db.session.execute(text(statement), params)
        db.session.flush()
    db.session.rollback()
    return str(refused.value.orig)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET delta = -1 WHERE id = :id",
        "UPDATE ledger_entries SET reason = 'rewritten' WHERE id = :id",
        "UPDATE ledger_entries SET balance_after = balance_after WHERE id = :id",
    ],
)
def test_an_update_of_a_ledger_entry_fails_at_the_database(entry, statement):
    message = refused_by_database(statement, id=entry.id)
    assert "append-only" in message
    assert db.session.get(LedgerEntry, entry.id).delta == -10


def test_a_delete_of_a_ledger_entry_fails_at_the_database(entry):
    message = refused_by_database("DELETE FROM ledger_entries WHERE id = :id", id=entry.id)
    assert "append-only" in message
    assert db.session.get(LedgerEntry, entry.id) is not None


def test_a_delete_of_every_ledger_entry_fails_at_the_database(entry):
    refused_by_database("DELETE FROM ledger_entries")
    assert len(ledger.list_entries(entry.account_id)) == 2


def test_an_entry_changed_through_the_orm_is_not_saved(entry):
    entry.reason = "rewritten"
    with pytest.raises(DBAPIError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(LedgerEntry, entry.id).reason == "spent"


def test_a_negative_balance_is_refused_by_a_check_constraint(account):
    refused_by_database("UPDATE points_accounts SET balance = -1 WHERE id = :id", id=account.id)
    assert ledger.get_account(account.id).balance == 0


@pytest.mark.parametrize(
    ("kind", "delta", "balance_after"),
    [("earn", 0, 0), ("redeem", -5, -5), ("gift", 5, 5)],
    ids=["zero delta", "negative balance after", "unknown kind"],
)
def test_an_impossible_entry_is_refused_by_a_check_constraint(account, kind, delta, balance_after):
    refused_by_database(
        "INSERT INTO ledger_entries (account_id, kind, delta, balance_after, reason, created_at) "
        "VALUES (:id, :kind, :delta, :balance_after, 'x', CURRENT_TIMESTAMP)",
        id=account.id,
        kind=kind,
        delta=delta,
        balance_after=balance_after,
    )


def test_a_lot_cannot_hold_more_than_it_was_given(account):
    ledger.earn_points(account.id, 30, reason="earned", now=at(0))
    refused_by_database("UPDATE points_lots SET remaining = 31 WHERE account_id = :id", id=account.id)
    refused_by_database("UPDATE points_lots SET remaining = -1 WHERE account_id = :id", id=account.id)


def test_a_lot_movement_can_be_neither_changed_nor_deleted(entry):
    movement = db.session.execute(select(LotMovement).where(LotMovement.entry_id == entry.id)).scalar_one()
    assert "append-only" in refused_by_database("UPDATE lot_movements SET amount = 1 WHERE id = :id", id=movement.id)
    assert "append-only" in refused_by_database("DELETE FROM lot_movements WHERE id = :id", id=movement.id)
    assert "append-only" in refused_by_database("DELETE FROM lot_movements")
    assert db.session.get(LotMovement, movement.id).amount == 10


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE points_lots SET amount = amount + 5 WHERE account_id = :id",
        "UPDATE points_lots SET account_id = account_id + 1 WHERE account_id = :id",
        "UPDATE points_lots SET entry_id = entry_id + 1 WHERE account_id = :id",
        "UPDATE points_lots SET earned_at = CURRENT_TIMESTAMP WHERE account_id = :id",
        "UPDATE points_lots SET expires_at = CURRENT_TIMESTAMP WHERE account_id = :id",
        "UPDATE points_lots SET id = id + 1000 WHERE account_id = :id",
        "UPDATE points_lots SET amount = amount + 5, remaining = remaining + 5 WHERE account_id = :id",
    ],
)
def test_a_lot_changes_only_in_what_remains_of_it_and_when_it_expired(entry, statement):
    before = lots_of(entry.account_id)
    assert "append-only" in refused_by_database(statement, id=entry.account_id)
    assert lots_of(entry.account_id) == before


def test_the_ledger_itself_still_moves_lots_and_expires_them(account):
    ledger.earn_points(account.id, 30, reason="earned", now=at(0), expires_at=at(2))
    spending = ledger.spend_points(account.id, 10, reason="spent", now=at(1))
    ledger.reverse_entry(spending.id, reason="voided", now=at(1))
    ledger.expire_account(account.id, now=at(3))

    [(_lot_id, amount, remaining, expired)] = lots_of(account.id)
    assert (amount, remaining, expired) == (30, 0, True)
    assert ledger.verify_ledger().discrepancies == []


def test_a_lot_cannot_be_deleted(entry):
    assert "append-only" in refused_by_database("DELETE FROM points_lots WHERE account_id = :id", id=entry.account_id)
    assert len(lots_of(entry.account_id)) == 1


@pytest.mark.postgresql_only
@pytest.mark.skipif(not ON_POSTGRESQL, reason="SQLite has no TRUNCATE")
@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE ledger_entries CASCADE",
        "TRUNCATE points_lots CASCADE",
        "TRUNCATE lot_movements",
        "TRUNCATE points_accounts CASCADE",
    ],
)
def test_truncating_a_ledger_table_fails_at_the_database_even_for_its_owner(entry, statement):
    message = refused_by_database(statement)
    assert "append-only: TRUNCATE refused" in message
    assert len(ledger.list_entries(entry.account_id)) == 2
    assert db.session.query(PointsLot).count() == 1
