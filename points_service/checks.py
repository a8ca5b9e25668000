"""Cross-domain jobs the CLI runs: invariant checks and expiry. Each domain contributes
its own check or job; this module only gathers them."""

from .activities.service import check_service_records
from .ledger.service import check_shortfalls, expire_due_lots, verify_ledger
from .perks.payments import check_refunds
from .perks.service import check_redemptions, expire_reservations_job

CHECKS = []  # callables returning a list of (account_id or None, problem)
EXPIRY_JOBS = []  # callables returning a line of text

CHECKS.append(check_redemptions)
CHECKS.append(check_service_records)
# States with no next action of their own (the staff work list): reversal shortfalls and refunds due.
CHECKS.append(check_shortfalls)
CHECKS.append(check_refunds)
# Vouchers first: their points go back to lots that the ledger's job may then expire.
EXPIRY_JOBS.append(expire_reservations_job)


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
