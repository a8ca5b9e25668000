import pytest
from sqlalchemy import text

from points_service.extensions import db
from points_service.ledger import service as ledger

from .helpers import at, rewrite_history


def tamper(statement, **params):
    db.session.execute(text(statement), params)
    db.session.commit()


def history(build):
    user = build.volunteer(points=50)
    account_id = build.account(user).id
    ledger.spend_points(account_id, 20, reason="spent", now=at(1))
    ledger.earn_points(account_id, 5, reason="earned", now=at(2), expires_at=at(3))
    ledger.expire_account(account_id, now=at(4))
    return account_id


def test_a_consistent_ledger_has_no_discrepancies(build):
    history(build)
    history(build)
    build.volunteer()

    report = ledger.verify_ledger()

    assert (report.accounts, report.entries, report.discrepancies) == (3, 8, [])
    assert report.ok


def test_a_balance_that_differs_from_the_entries_is_reported(build):
    account_id = history(build)
    tamper("UPDATE points_accounts SET balance = balance + 1 WHERE id = :id", id=account_id)

    [(where, problem)] = ledger.verify_ledger().discrepancies

    assert where == account_id
    assert problem == "balance 31, sum of entries 30, sum of open lots 30"


def test_a_lot_whose_remaining_points_were_changed_is_reported(build):
    account_id = history(build)
    tamper("UPDATE points_lots SET remaining = remaining - 1 WHERE account_id = :id AND remaining > 0", id=account_id)

    problems = [problem for _, problem in ledger.verify_ledger().discrepancies]

    assert "balance 30, sum of entries 30, sum of open lots 29" in problems
    assert any(problem.startswith("lot ") and "moved != 29 remaining" in problem for problem in problems)


def test_an_entry_whose_balance_after_does_not_chain_is_reported(build):
    account_id = history(build)
    tamper(
        "INSERT INTO ledger_entries (account_id, kind, delta, balance_after, reason, created_at) "
        "VALUES (:id, 'adjust', 5, 99, 'forged', CURRENT_TIMESTAMP)",
        id=account_id,
    )

    problems = [problem for _, problem in ledger.verify_ledger().discrepancies]

    assert any(problem.endswith("30 +5 does not give 99") for problem in problems)
    assert "balance 30, sum of entries 35, sum of open lots 30" in problems


@pytest.mark.parametrize(
    ("statement", "totals"),
    [
        ("UPDATE points_accounts SET lifetime_earned = 58 WHERE id = :id", "58, spent 20, expired 5"),
        ("UPDATE points_accounts SET lifetime_spent = 23 WHERE id = :id", "55, spent 23, expired 5"),
        ("UPDATE points_accounts SET lifetime_expired = 8 WHERE id = :id", "55, spent 20, expired 8"),
    ],
)
def test_a_lifetime_total_that_differs_from_the_entries_is_reported(build, statement, totals):
    account_id = history(build)
    tamper(statement, id=account_id)

    assert ledger.verify_ledger().discrepancies == [
        (account_id, f"lifetime earned {totals}; the entries give 55, 20, 5")
    ]


def test_lifetime_totals_leave_out_reversed_entries_whole_even_with_a_shortfall(build):
    user = build.volunteer(points=10)
    account_id = build.account(user).id
    earning = ledger.earn_points(account_id, 30, reason="earned", now=at(1))
    spending = ledger.spend_points(account_id, 35, reason="spent", now=at(2))
    ledger.reverse_entry(spending.id, reason="voided", now=at(3))
    ledger.spend_points(account_id, 25, reason="spent again", now=at(4))
    reversal = ledger.reverse_entry(earning.id, reason="not real", now=at(5))

    account = ledger.get_account(account_id)
    assert reversal.shortfall == 15
    assert (account.lifetime_earned, account.lifetime_spent, account.lifetime_expired) == (10, 25, 0)
    assert ledger.verify_ledger().discrepancies == []


def test_an_entry_rewritten_behind_the_databases_back_is_reported_in_the_lifetime_totals(build):
    account_id = history(build)
    rewrite_history(
        "UPDATE ledger_entries SET delta = 60, balance_after = 60 WHERE account_id = :id AND kind = 'earn' "
        "AND delta = 50",
        id=account_id,
    )

    problems = [problem for _, problem in ledger.verify_ledger().discrepancies]

    assert "lifetime earned 55, spent 20, expired 5; the entries give 65, 20, 5" in problems


def test_the_verify_command_reports_success_on_its_last_line(build, runner):
    history(build)

    result = runner.invoke(args=["points", "verify"])

    assert result.exit_code == 0
    assert result.output.strip().splitlines()[-1] == "checked 1 accounts, 4 entries: 0 discrepancies"


def test_the_verify_command_lists_each_discrepancy_and_exits_1(build, runner):
    first, second = history(build), history(build)
    tamper("UPDATE points_accounts SET balance = 0 WHERE id IN (:a, :b)", a=first, b=second)

    result = runner.invoke(args=["points", "verify"])

    lines = result.output.strip().splitlines()
    assert result.exit_code == 1
    assert lines[-1] == "checked 2 accounts, 8 entries: 2 discrepancies"
    assert lines[:-1] == [
        f"account {first}: balance 0, sum of entries 30, sum of open lots 30",
        f"account {second}: balance 0, sum of entries 30, sum of open lots 30",
    ]


def test_the_verify_command_reports_a_wrong_lifetime_total_and_exits_1(build, runner):
    account_id = history(build)
    tamper("UPDATE points_accounts SET lifetime_spent = 0 WHERE id = :id", id=account_id)

    result = runner.invoke(args=["points", "verify"])

    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"account {account_id}: lifetime earned 55, spent 0, expired 5; the entries give 55, 20, 5",
        "checked 1 accounts, 4 entries: 1 discrepancies",
    ]
