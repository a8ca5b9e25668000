"""Cross-domain jobs the CLI runs: invariant checks and expiry. Each domain contributes
its own check or job; this module gathers them, and holds the one check that reads two
domains' tables side by side without belonging to either (a service record's points
against its ledger entries)."""

from sqlalchemy import String, cast, func, select

from .accounts.throttle import forget_stale_counts_job
from .activities.models import ServiceRecord
from .activities.service import check_service_records
from .extensions import db
from .ledger.models import LedgerEntry, PointsAccount
from .ledger.service import check_shortfalls, expire_due_lots, verify_ledger
from .perks.payments import check_refunds, settle_card_payments_job
from .perks.service import check_redemptions, expire_reservations_job


def check_service_record_points():
    """Each approved service record holds exactly the points of its ledger entries (its
    earn entry and any re-rate adjustments): ``[(account_id, problem)]``."""
    entries = (
        select(LedgerEntry.cause_id.label("cause_id"), func.sum(LedgerEntry.delta).label("points"))
        .where(LedgerEntry.cause_type == "service_record")
        .group_by(LedgerEntry.cause_id)
        .subquery()
    )
    held, credited = func.coalesce(ServiceRecord.points, 0), func.coalesce(entries.c.points, 0)
    rows = db.session.execute(
        select(PointsAccount.id, ServiceRecord.id, held, credited)
        .join(PointsAccount, PointsAccount.volunteer_id == ServiceRecord.volunteer_id)
        .outerjoin(entries, entries.c.cause_id == cast(ServiceRecord.id, String))
        .where(ServiceRecord.status == "approved", held != credited)
        .order_by(ServiceRecord.id)
    ).all()
    return [
        (account_id, f"service record {record_id} holds {points} points, its ledger entries {int(total)}")
        for account_id, record_id, points, total in rows
    ]


CHECKS = []  # callables returning a list of (account_id or None, problem)
EXPIRY_JOBS = []  # callables returning a line of text

CHECKS.append(check_redemptions)
CHECKS.append(check_service_records)
CHECKS.append(check_service_record_points)
# States with no next action of their own (the staff work list): reversal shortfalls and refunds due.
CHECKS.append(check_shortfalls)
CHECKS.append(check_refunds)
# Vouchers first: their points go back to lots that the ledger's job may then expire.
EXPIRY_JOBS.append(expire_reservations_job)
# Then the card payments those vouchers (and earlier voids) left to cancel or refund.
EXPIRY_JOBS.append(settle_card_payments_job)
EXPIRY_JOBS.append(forget_stale_counts_job)


def run_all_checks():
    report = verify_ledger()
    for check in CHECKS:
        report.discrepancies.extend(check())
    return report


def run_expiry_jobs():
    lines = []
    for job in EXPIRY_JOBS:
        lines.append(job())
    accounts, points = expire_due_lots()
    lines.append(f"expired {points} points in {accounts} accounts")
    return lines
