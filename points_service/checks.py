"""Cross-domain jobs the CLI runs: invariant checks and expiry. Each domain contributes
its own check or job; this module only gathers them."""

from .ledger.service import expire_due_lots, verify_ledger

CHECKS = []  # callables returning a list of (account_id or None, problem)
EXPIRY_JOBS = []  # callables returning a line of text


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
