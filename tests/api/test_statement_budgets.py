"""How many SQL statements the counter's hot paths send, counted at the driver.

A redemption and a member lookup are what every counter does all day: each statement is
a round trip to the database and, for a redemption, time the account's lock is held. The
counts are taken over a whole HTTP request with a real API token (or a logged-in clerk
for the counter page), in a fresh session as in production, and must stay within the
budgets below. Transaction control (BEGIN, COMMIT) is not counted: SQLite sends BEGIN
as a statement, PostgreSQL's driver does not.

What a redemption of a perk without stock or limit sends (12; 42 before they were first
counted, then 15): the token with its holder's roles; the member, their account
(locked), the perk, the member's code secret, the id of the redemption to write and the
stamp of the published rule sets (the star thresholds are kept per process while it holds)
in one query; the account's open lots; then the writes: the ledger entry, the account, the
lot movement, the lot, the redemption (naming its entry), the audit event, the stored
response of the Idempotency-Key, the monthly report figures (one table, both sides) and
the points held by the member's home organization (the dashboard's points outstanding),
all in one transaction. Nothing is read to find a replay: the key's unique index refuses
a second redemption, and a refused retry looks for the first one then.

What a member lookup sends (3; 4 before the perks were read as rows): the token with its
holder's roles; the member with their spendable balance and the rule sets' stamp; the perks
honored at the counter, each with the quantity of it the member had in its current period
when it has a limit. The open vouchers are read only by the counter page, which shows them.
On PostgreSQL a request that only read then asks whether its transaction wrote anything
and, as it did not, ends it with COMMIT rather than ROLLBACK: psycopg drops every prepared
statement of a connection that rolls back, so each lookup's statements were parsed and
planned anew (about 0.8 ms each at the driver against 0.2 ms prepared).
"""

import re
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from points_service.database import end_read_transaction
from points_service.extensions import db
from tests.builders import PASSWORD
from tests.builders.perks import phone_scan
from tests.conftest import ON_POSTGRESQL

REDEMPTION_BUDGET = 12
STOCKED_REDEMPTION_BUDGET = REDEMPTION_BUDGET + 1  # the conditional UPDATE of the stock
# + 1 on PostgreSQL: the check that a request which only read wrote nothing (it then ends
# with COMMIT, which keeps the connection's prepared statements; see end_read_transaction)
READ_END = 1 if ON_POSTGRESQL else 0
LOOKUP_BUDGET = 3 + READ_END
COUNTER_PAGE_LOOKUP_BUDGET = 9 + READ_END

_TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.IGNORECASE)


@contextmanager
def counted_statements():
    """The SQL statements sent inside the block (transaction control left out)."""
    statements = []

    def count(connection, cursor, statement, parameters, context, executemany):
        if not _TRANSACTION_CONTROL.match(statement):
            statements.append(" ".join(statement.split()))

    db.session.remove()  # each request starts with an empty session, as in production
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
        end_read_transaction()  # what the end of the request's application context sends
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
        db.session.remove()


def _within(statements, budget):
    listing = "\n".join(f"{number:2}. {text[:160]}" for number, text in enumerate(statements, 1))
    assert len(statements) <= budget, f"{len(statements)} statements, budget {budget}:\n{listing}"


@pytest.fixture
def member(build):
    volunteer = build.volunteer(points=500)
    return volunteer.volunteer.member_no


def _redeem(client, headers, member_no, perk_id, key):
    return client.post(
        "/api/v1/redemptions",
        json={"member_no": member_no, "perk_id": perk_id},
        headers={**headers, "Idempotency-Key": key},
    )


def test_a_redemption_of_a_perk_without_stock_stays_within_its_statement_budget(client, build, headers, member):
    perk_id = build.perk(points_cost=15).id
    build.perk(points_cost=20, stock=5)
    build.perk(points_cost=20, limit_quantity=2, limit_period="month")
    # the token's first use is recorded once, and the member's code secret made
    _redeem(client, headers, phone_scan(member), perk_id, build.idempotency_key())

    scan = phone_scan(member)  # what the counter scans on the volunteer's phone
    with counted_statements() as statements:
        response = _redeem(client, headers, scan, perk_id, build.idempotency_key())

    assert response.status_code == 201, response.json
    assert response.json["balance_after"] == 470
    _within(statements, REDEMPTION_BUDGET)
    assert not any(text.startswith("UPDATE perks") for text in statements)  # no perk row is touched


def test_a_redemption_of_a_perk_with_stock_and_a_limit_adds_only_the_stock_update(client, build, headers, member):
    perk_id = build.perk(points_cost=15, stock=5, limit_quantity=3, limit_period="day").id
    _redeem(client, headers, phone_scan(member), perk_id, build.idempotency_key())

    scan = phone_scan(member)  # what the counter scans on the volunteer's phone
    with counted_statements() as statements:
        response = _redeem(client, headers, scan, perk_id, build.idempotency_key())

    assert response.status_code == 201, response.json
    _within(statements, STOCKED_REDEMPTION_BUDGET + 1)  # + the redemptions of the limit's period
    assert sum(text.startswith("UPDATE perks") for text in statements) == 1
    # the perk's row is locked by the last write of the work: only the report figures,
    # written as the transaction commits, come after it
    after = statements[[text.startswith("UPDATE perks") for text in statements].index(True) + 1 :]
    assert all(re.match(r"INSERT INTO report_\w+ ", text) for text in after), after


def test_a_member_lookup_stays_within_its_statement_budget_however_many_perks(client, build, headers, member):
    for cost in range(10, 30):
        build.perk(points_cost=cost)
    build.perk(points_cost=5, stock=5)
    build.perk(points_cost=6, limit_quantity=2, limit_period="week")
    client.get(f"/api/v1/members/{member}", headers=headers)

    with counted_statements() as statements:
        response = client.get(f"/api/v1/members/{member}", headers=headers)

    assert response.status_code == 200
    assert len(response.json["eligible_perks"]) == 22
    _within(statements, LOOKUP_BUDGET)


def test_the_counter_page_lookup_stays_within_its_statement_budget(client, build, auth, district, member):
    for cost in range(10, 30):
        build.perk(points_cost=cost)
    build.counter_clerk(district, username="clerk")
    auth.login("clerk", PASSWORD)
    client.post("/counter/scan", data={"code": member})

    with counted_statements() as statements:
        page = client.post("/counter/scan", data={"code": member})

    assert page.status_code == 200
    _within(statements, COUNTER_PAGE_LOOKUP_BUDGET)
