"""Reversal shortfalls: recovered from the volunteer's next earnings, oldest first, in the
earning's own transaction; or written off; and ``check_shortfalls`` catches any disagreement."""

from datetime import datetime

import pytest
from sqlalchemy import select, text

from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.ledger.errors import ShortfallChanged, ShortfallSettled
from points_service.ledger.models import LedgerEntry, ReversalShortfall

from .helpers import lots_of

JAN_4 = datetime(2027, 1, 4, 2, 0)  # 10:00 in Asia/Shanghai
JAN_5 = datetime(2027, 1, 5, 2, 0)
JAN_6 = datetime(2027, 1, 6, 2, 0)
JAN_10 = datetime(2027, 1, 10, 2, 0)
JAN_20 = datetime(2027, 1, 20, 2, 0)


def _spent_and_reversed(account, earned=30, spent=25, day=JAN_4):
    """An earning mostly spent, then reversed: ``spent`` points become a shortfall."""
    earning = ledger.earn_points(account.id, earned, reason="fake hours", now=day)
    ledger.spend_points(account.id, spent, reason="bus pass", now=day)
    ledger.reverse_entry(earning.id, reason="hours were not real", now=day)
    return db.session.execute(
        select(ReversalShortfall).where(ReversalShortfall.reversed_entry_id == earning.id)
    ).scalar_one()


def _entries(account):
    return (
        db.session.execute(select(LedgerEntry).where(LedgerEntry.account_id == account.id).order_by(LedgerEntry.id))
        .scalars()
        .all()
    )


def _clean():
    return ledger.verify_ledger().discrepancies == [] and ledger.check_shortfalls() == []


def test_the_next_earnings_recover_an_open_shortfall_and_the_volunteer_sees_why(account):
    shortfall = _spent_and_reversed(account)
    assert (shortfall.points, shortfall.open_points, ledger.get_account(account.id).balance) == (25, 25, 0)

    ledger.earn_points(account.id, 10, reason="real hours", now=JAN_10)

    db.session.expire_all()
    *_, earning, recovery = _entries(account)
    assert (earning.kind, earning.delta) == ("earn", 10)
    assert (recovery.kind, recovery.delta, recovery.reason) == ("reverse", -10, ledger.RECOVERY_REASON)
    assert (recovery.cause_type, recovery.cause_id, recovery.created_at) == ("shortfall", str(shortfall.id), JAN_10)
    assert ledger.get_account(account.id).balance == 0
    assert (shortfall.recovered_points, shortfall.open_points, shortfall.settled_at) == (10, 15, None)
    assert _clean()

    ledger.earn_points(account.id, 40, reason="more real hours", now=JAN_20)

    db.session.expire_all()
    assert _entries(account)[-1].delta == -15
    assert ledger.get_account(account.id).balance == 25
    assert (shortfall.recovered_points, shortfall.open_points, shortfall.settled_at) == (25, 0, JAN_20)
    assert ledger.open_shortfalls(account.id) == []
    assert sum(lot[2] for lot in lots_of(account.id)) == 25
    assert _clean()


def test_two_shortfalls_are_recovered_oldest_first(account):
    first = ledger.earn_points(account.id, 20, reason="fake hours", now=JAN_4)
    second = ledger.earn_points(account.id, 30, reason="more fake hours", now=JAN_4)
    ledger.spend_points(account.id, 50, reason="bicycle", now=JAN_4)
    older = ledger.reverse_entry(first.id, reason="not real", now=JAN_5)
    newer = ledger.reverse_entry(second.id, reason="not real", now=JAN_6)
    assert (older.shortfall, newer.shortfall) == (20, 30)
    older, newer = ledger.open_shortfalls(account.id)

    ledger.earn_points(account.id, 25, reason="real hours", now=JAN_10)

    db.session.expire_all()
    assert [(s.recovered_points, s.open_points) for s in (older, newer)] == [(20, 0), (5, 25)]
    assert older.settled_at == JAN_10 and newer.settled_at is None
    assert [entry.delta for entry in _entries(account)[-2:]] == [-20, -5]
    assert ledger.get_account(account.id).balance == 0
    assert _clean()


def test_a_positive_adjustment_recovers_too_and_a_replayed_earning_recovers_nothing_twice(account):
    shortfall = _spent_and_reversed(account, earned=30, spent=30)
    ledger.adjust_points(account.id, 12, reason="correction", actor_id=None, now=JAN_6)
    for _ in range(2):
        ledger.earn_points(account.id, 8, reason="hours", idempotency_key="record-7", now=JAN_10)

    db.session.expire_all()
    assert (shortfall.recovered_points, shortfall.open_points) == (20, 10)
    assert ledger.get_account(account.id).balance == 0
    assert _clean()


def test_points_coming_back_from_a_void_are_not_taken_for_a_shortfall(account):
    earning = ledger.earn_points(account.id, 30, reason="fake hours", now=JAN_4)
    bus_pass = ledger.spend_points(account.id, 30, reason="bus pass", now=JAN_4)
    ledger.reverse_entry(earning.id, reason="hours were not real", now=JAN_5)  # 30 owed

    ledger.reverse_entry(bus_pass.id, reason="voided", now=JAN_6)  # 30 back to the same lot: not an earning

    db.session.expire_all()
    [shortfall] = ledger.open_shortfalls(account.id)
    assert (shortfall.open_points, ledger.get_account(account.id).balance) == (30, 30)
    assert _clean()


def test_writing_off_forgives_the_open_rest_once_and_only_as_asked(account):
    shortfall = _spent_and_reversed(account)
    ledger.earn_points(account.id, 5, reason="hours", now=JAN_5)  # 5 recovered, 20 open

    with pytest.raises(ShortfallChanged):
        ledger.write_off_shortfall(shortfall.id, expected_open=25, actor_id=None, note="moved away", now=JAN_6)
    ledger.write_off_shortfall(shortfall.id, expected_open=20, actor_id=None, note="moved away", now=JAN_6)
    with pytest.raises(ShortfallSettled):
        ledger.write_off_shortfall(shortfall.id, expected_open=0, actor_id=None, note="again", now=JAN_6)
    ledger.earn_points(account.id, 7, reason="hours", now=JAN_10)  # nothing is owed any more

    db.session.expire_all()
    assert (shortfall.recovered_points, shortfall.written_off_points, shortfall.open_points) == (5, 20, 0)
    assert (shortfall.settled_at, shortfall.settlement_note) == (JAN_6, "moved away")
    assert ledger.get_account(account.id).balance == 7
    assert _clean()


def _tamper(statement, **params):
    db.session.execute(text(statement), params)
    db.session.commit()


def test_verify_reports_recovered_points_that_disagree_with_the_recovery_entries(account):
    shortfall = _spent_and_reversed(account)
    ledger.earn_points(account.id, 10, reason="hours", now=JAN_10)
    _tamper("UPDATE reversal_shortfalls SET recovered_points = 12 WHERE id = :id", id=shortfall.id)

    problems = ledger.check_shortfalls()

    assert (account.id, f"shortfall {shortfall.id}: 12 points recovered, its recovery entries took 10") in problems


def test_verify_reports_a_shortfall_settled_with_points_open_or_open_with_nothing_left(account):
    shortfall = _spent_and_reversed(account)
    _tamper("UPDATE reversal_shortfalls SET settled_at = CURRENT_TIMESTAMP WHERE id = :id", id=shortfall.id)
    assert ledger.check_shortfalls() == [
        (account.id, f"shortfall {shortfall.id} of 25 points: 0 recovered + 0 written off + 25 open, marked settled")
    ]

    _tamper("UPDATE reversal_shortfalls SET settled_at = NULL, written_off_points = 25 WHERE id = :id", id=shortfall.id)
    assert ledger.check_shortfalls() == [
        (account.id, f"shortfall {shortfall.id} of 25 points: 0 recovered + 25 written off + 0 open, marked open")
    ]


def test_verify_reports_recovery_entries_of_an_unknown_shortfall(account):
    ledger.earn_points(account.id, 10, reason="hours", now=JAN_4)
    _tamper(
        "INSERT INTO ledger_entries (account_id, kind, delta, balance_after, reason, cause_type, cause_id, created_at)"
        " VALUES (:id, 'reverse', -3, 7, 'forged', 'shortfall', '999', CURRENT_TIMESTAMP)",
        id=account.id,
    )

    assert (account.id, "recovery entries took 3 points for unknown shortfall 999") in ledger.check_shortfalls()


def test_the_database_refuses_more_recovered_and_written_off_than_the_shortfall(account):
    from sqlalchemy.exc import IntegrityError

    shortfall = _spent_and_reversed(account)
    with pytest.raises(IntegrityError):
        _tamper(
            "UPDATE reversal_shortfalls SET recovered_points = 20, written_off_points = 6 WHERE id = :id",
            id=shortfall.id,
        )
    db.session.rollback()
