"""Concurrent writers, each in its own thread with its own session, on SQLite and PostgreSQL."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.ledger.errors import DuplicateRequest, InsufficientPoints
from points_service.ledger.models import LedgerEntry

pytestmark = pytest.mark.slow


def run_concurrently(app, count, operation):
    """Run ``operation(index)`` in ``count`` threads released together; return results or exceptions."""
    barrier = threading.Barrier(count)

    def worker(index):
        with app.app_context():
            barrier.wait()
            try:
                return operation(index)
            except Exception as error:  # collected and asserted on by the test
                return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(worker, range(count)))


def test_64_concurrent_spends_succeed_exactly_as_often_as_the_balance_covers(app, build):
    covered = 23
    account_id = build.account(build.volunteer(points=covered * 10)).id
    db.session.commit()

    results = run_concurrently(app, 64, lambda index: ledger.spend_points(account_id, 10, reason="concurrent spend").id)

    succeeded = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    assert len(succeeded) == covered
    assert len(refused) == 64 - covered
    assert all(error.code == "insufficient_points" for error in refused)
    db.session.expire_all()
    assert ledger.get_account(account_id).balance == 0
    report = ledger.verify_ledger()
    assert report.discrepancies == []
    balances = db.session.execute(
        select(LedgerEntry.balance_after).where(LedgerEntry.account_id == account_id).order_by(LedgerEntry.id)
    ).scalars()
    assert min(balances) >= 0


def test_100_concurrent_repeats_of_one_idempotency_key_write_one_entry(app, build):
    account_id = build.account(build.volunteer(points=1000)).id
    db.session.commit()

    results = run_concurrently(
        app,
        100,
        lambda index: ledger.spend_points(account_id, 7, reason="one purchase", idempotency_key="purchase-42").id,
    )

    assert all(isinstance(r, int) for r in results), [r for r in results if not isinstance(r, int)][:3]
    assert len(set(results)) == 1
    db.session.expire_all()
    keyed = db.session.execute(
        select(func.count(LedgerEntry.id)).where(LedgerEntry.idempotency_key == "purchase-42")
    ).scalar_one()
    assert keyed == 1
    assert ledger.get_account(account_id).balance == 993
    assert ledger.verify_ledger().discrepancies == []


def test_concurrent_reuse_of_a_key_with_different_payloads_takes_effect_once(app, build):
    account_id = build.account(build.volunteer(points=1000)).id
    db.session.commit()

    results = run_concurrently(
        app,
        20,
        lambda index: ledger.spend_points(account_id, index + 1, reason="racing", idempotency_key="same-key").delta,
    )

    succeeded = {r for r in results if isinstance(r, int)}
    refused = [r for r in results if isinstance(r, DuplicateRequest)]
    assert len(succeeded) == 1
    assert len(refused) + sum(1 for r in results if isinstance(r, int)) == 20
    db.session.expire_all()
    assert ledger.get_account(account_id).balance == 1000 + succeeded.pop()
    assert ledger.verify_ledger().discrepancies == []


def test_concurrent_earnings_and_spends_on_one_account_keep_the_ledger_exact(app, build):
    account_id = build.account(build.volunteer(points=100)).id
    db.session.commit()

    def operation(index):
        if index % 2:
            return ledger.earn_points(account_id, 5, reason="earned", cause_type="test", cause_id=str(index)).delta
        return ledger.spend_points(account_id, 8, reason="spent").delta

    results = run_concurrently(app, 40, operation)

    deltas = [r for r in results if isinstance(r, int)]
    assert all(isinstance(r, int | InsufficientPoints) for r in results)
    db.session.expire_all()
    assert ledger.get_account(account_id).balance == 100 + sum(deltas)
    assert ledger.verify_ledger().discrepancies == []
