"""The scheduled jobs (deploy/cron and deploy/systemd run them) are idempotent and safe to
run twice at once: expiry, report figures, forgetting old idempotency records. Honor-roll
drafts: tests/honor/test_definitions.py::test_two_draft_due_runs_at_once_make_one_roll."""

from datetime import timedelta

from sqlalchemy import func, select

from points_service.api.idempotency import purge_idempotent_requests
from points_service.api.models import IdempotentRequest
from points_service.checks import run_all_checks, run_expiry_jobs
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.ledger.models import LedgerEntry
from points_service.reports.aggregates import MONTHLY_TABLES, rebuild_monthly_figures
from points_service.timeutil import utcnow
from tests.builders.threads import run_concurrently


def _expired_points():
    return -(db.session.scalar(select(func.sum(LedgerEntry.delta)).where(LedgerEntry.kind == "expire")) or 0)


def test_two_expiry_runs_at_once_expire_each_lot_once(app, build):
    past = utcnow() - timedelta(days=10)
    for points in (10, 20, 30):
        account = build.account(build.volunteer())
        ledger.earn_points(account.id, points, reason="due", now=past, expires_at=past + timedelta(days=1))
        ledger.earn_points(account.id, 5, reason="kept", now=past)
    db.session.commit()

    results = run_concurrently(app, [run_expiry_jobs, run_expiry_jobs])

    assert not [result for result in results if isinstance(result, Exception)], results
    db.session.expire_all()
    assert _expired_points() == 60
    assert run_all_checks().discrepancies == []


def _figures():
    return {
        model.__tablename__: sorted(
            tuple(getattr(row, column.key) for column in model.__table__.columns if column.key != "id")
            for row in db.session.execute(select(model)).scalars()
        )
        for model in MONTHLY_TABLES
    }


def test_two_report_rebuilds_at_once_leave_the_figures_of_one(app, build):
    for _ in range(3):
        build.approved_record(build.volunteer())
    rebuild_monthly_figures(None)
    once = _figures()

    results = run_concurrently(app, [lambda: rebuild_monthly_figures(None), lambda: rebuild_monthly_figures(None)])

    assert not [result for result in results if isinstance(result, Exception)], results
    db.session.expire_all()
    assert _figures() == once
    assert any(once.values())


def _stored_request(key, claimed_days_ago, completed=True):
    claimed = utcnow() - timedelta(days=claimed_days_ago)
    db.session.add(
        IdempotentRequest(
            principal="token:1",
            key=key,
            method_path="POST /api/v1/redemptions",
            request_hash="0" * 64,
            owner="test",
            claimed_at=claimed,
            status_code=201 if completed else None,
            response_body="{}" if completed else None,
            completed_at=claimed if completed else None,
        )
    )


def test_idempotency_purge_forgets_old_responses_and_dead_claims_once_even_run_twice_at_once(app):
    _stored_request("old-finished", 8)
    _stored_request("old-unfinished", 9, completed=False)
    _stored_request("recent-finished", 1)
    _stored_request("recent-unfinished", 0, completed=False)
    db.session.commit()

    results = run_concurrently(app, [purge_idempotent_requests, purge_idempotent_requests])

    assert sum(results) == 2
    db.session.expire_all()
    kept = db.session.execute(select(IdempotentRequest.key).order_by(IdempotentRequest.key)).scalars().all()
    assert kept == ["recent-finished", "recent-unfinished"]


def test_the_purge_command_says_how_many_it_forgot(app, runner):
    _stored_request("old-finished", 30)
    db.session.commit()
    result = runner.invoke(args=["points", "idempotency-purge"])
    assert result.exit_code == 0, result.output
    assert result.output == "forgot 1 stored responses to idempotency keys\n"
