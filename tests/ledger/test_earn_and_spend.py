from datetime import datetime

import pytest
from sqlalchemy import func, select

from points_service.errors import PointsError
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.ledger.errors import (
    AccountNotFound,
    InsufficientPoints,
    InvalidExpiry,
    InvalidPoints,
    InvalidReason,
    LedgerError,
)
from points_service.ledger.models import LedgerEntry, PointsLot

from .helpers import at, lots_of, movements_of


def count_rows(model):
    db.session.rollback()
    return db.session.execute(select(func.count(model.id))).scalar_one()


def test_earning_credits_the_balance_and_opens_a_lot_with_its_expiry(account):
    entry = ledger.earn_points(
        account.id, 30, reason="Park clean-up", cause_type="record", cause_id=7, now=at(), expires_at=at(days=365)
    )

    assert (entry.kind, entry.delta, entry.balance_after) == ("earn", 30, 30)
    assert (entry.cause_type, entry.cause_id, entry.reason) == ("record", "7", "Park clean-up")
    assert ledger.get_account(account.id).balance == 30
    assert ledger.get_account(account.id).lifetime_earned == 30
    lot = db.session.execute(select(PointsLot).where(PointsLot.entry_id == entry.id)).scalar_one()
    assert (lot.amount, lot.remaining, lot.expires_at) == (30, 30, at(days=365))


def test_each_entry_records_the_balance_it_left(account):
    ledger.earn_points(account.id, 50, reason="a", now=at())
    ledger.spend_points(account.id, 20, reason="b", now=at(1))
    ledger.earn_points(account.id, 5, reason="c", now=at(2))

    entries = list(reversed(ledger.list_entries(account.id)))
    assert [(e.delta, e.balance_after) for e in entries] == [(50, 50), (-20, 30), (5, 35)]


def test_spending_takes_the_oldest_lots_first_and_records_what_it_took(account):
    first = ledger.earn_points(account.id, 10, reason="first", now=at(0))
    second = ledger.earn_points(account.id, 20, reason="second", now=at(1))
    third = ledger.earn_points(account.id, 30, reason="third", now=at(2))

    spend = ledger.spend_points(account.id, 25, reason="Bus pass", now=at(3))

    assert (spend.kind, spend.delta, spend.balance_after) == ("redeem", -25, 35)
    lots = {entry_id: lot for entry_id, lot in zip([first.id, second.id, third.id], lots_of(account.id), strict=True)}
    assert [lot[2] for lot in lots.values()] == [0, 5, 30]
    assert sorted(movements_of(spend).values()) == [10, 15]
    assert ledger.get_account(account.id).lifetime_spent == 25


def test_spending_more_than_the_balance_is_refused_and_writes_nothing(account):
    ledger.earn_points(account.id, 40, reason="earned", now=at())
    entries_before = count_rows(LedgerEntry)

    with pytest.raises(InsufficientPoints) as refused:
        ledger.spend_points(account.id, 41, reason="too much", now=at(1))

    assert refused.value.status == 409
    assert refused.value.render_message() == "Insufficient points: 41 needed, 40 available."
    assert count_rows(LedgerEntry) == entries_before
    assert ledger.get_account(account.id).balance == 40
    assert [lot[2] for lot in lots_of(account.id)] == [40]


def test_spending_the_whole_balance_leaves_zero(account):
    ledger.earn_points(account.id, 40, reason="earned", now=at())
    ledger.spend_points(account.id, 40, reason="all of it", now=at(1))
    assert ledger.get_account(account.id).balance == 0
    assert ledger.verify_ledger().discrepancies == []


@pytest.mark.parametrize(
    "points", [0, -5, 10_000_001, 2**63, 1.5, 10.0, "10", None, True, [10], float("nan")], ids=repr
)
@pytest.mark.parametrize("operation", ["earn", "spend"])
def test_points_that_are_not_a_whole_number_in_range_are_refused_and_nothing_is_written(account, operation, points):
    ledger.earn_points(account.id, 100, reason="start", now=at())
    entries_before = count_rows(LedgerEntry)
    do = ledger.earn_points if operation == "earn" else ledger.spend_points

    with pytest.raises(InvalidPoints) as refused:
        do(account.id, points, reason="bad amount", now=at(1))

    assert refused.value.status == 422
    assert "whole number from 1 to 10000000" in refused.value.render_message()
    assert count_rows(LedgerEntry) == entries_before
    assert ledger.get_account(account.id).balance == 100


@pytest.mark.parametrize("reason", ["", "   ", None, 42, "x" * 256], ids=["empty", "blank", "none", "number", "long"])
def test_an_operation_without_a_reason_is_refused(account, reason):
    with pytest.raises(InvalidReason):
        ledger.earn_points(account.id, 5, reason=reason)
    assert count_rows(LedgerEntry) == 0


@pytest.mark.parametrize("account_id", [999_999, -1, "1", None, 1.0, True], ids=repr)
def test_an_unknown_account_is_refused_with_not_found(app, account_id):
    with pytest.raises(AccountNotFound) as refused:
        ledger.spend_points(account_id, 5, reason="nobody")
    assert refused.value.status == 404
    assert refused.value.render_message() == "That points account does not exist."
    with pytest.raises(AccountNotFound):
        ledger.earn_points(account_id, 5, reason="nobody")
    with pytest.raises(AccountNotFound):
        ledger.get_account(account_id)


@pytest.mark.parametrize(
    "expires_at", ["2027-01-01", 1767225600, datetime(2027, 1, 1).date()], ids=["text", "number", "date"]
)
def test_an_expiry_that_is_not_a_datetime_is_refused(account, expires_at):
    with pytest.raises(InvalidExpiry) as refused:
        ledger.earn_points(account.id, 5, reason="bad expiry", expires_at=expires_at)
    assert refused.value.status == 422
    assert count_rows(LedgerEntry) == 0


def test_every_ledger_error_is_a_points_error_with_a_status_and_a_code():
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    errors = list(subclasses(LedgerError))
    assert len(errors) >= 8
    assert issubclass(LedgerError, PointsError)
    for error in errors:
        assert error.status in (404, 409, 422)
        assert error.code != LedgerError.code
        assert str(error.default_message)


def test_the_volunteer_account_is_found_by_profile(build):
    user = build.volunteer(points=12)
    assert ledger.account_of_volunteer(user.volunteer.id).balance == 12
    with pytest.raises(AccountNotFound):
        ledger.account_of_volunteer(987_654)


def test_entries_are_listed_newest_first_in_pages(account):
    for day in range(5):
        ledger.earn_points(account.id, day + 1, reason=f"day {day}", now=at(day))

    first_page = ledger.list_entries(account.id, limit=2)
    second_page = ledger.list_entries(account.id, before_id=first_page[-1].id, limit=2)
    last_page = ledger.list_entries(account.id, before_id=second_page[-1].id, limit=2)

    assert [e.delta for e in first_page + second_page + last_page] == [5, 4, 3, 2, 1]


def test_expiring_points_lists_open_lots_due_before_a_date(account):
    ledger.earn_points(account.id, 10, reason="a", now=at(0), expires_at=at(30))
    ledger.earn_points(account.id, 20, reason="b", now=at(1), expires_at=at(30))
    ledger.earn_points(account.id, 40, reason="c", now=at(2), expires_at=at(90))
    ledger.earn_points(account.id, 80, reason="d", now=at(3))
    ledger.spend_points(account.id, 15, reason="spent", now=at(4))

    assert ledger.expiring_points(account.id, before=at(60), now=at(5)) == [(at(30), 15)]
    assert ledger.expiring_points(account.id, before=at(100), now=at(5)) == [(at(30), 15), (at(90), 40)]
