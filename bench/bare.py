"""What Flask alone does on this machine, served like the product (gunicorn, same workers,
same driver and pool) by ``make bench``:

- ``GET /bare/{member_no}``: one SELECT of the member's balance; the ceiling of a lookup;
- ``POST /bare-spend/{member_no}``: the naïve redemption, one transaction of one
  conditional UPDATE of a balance and one INSERT, with none of the product's guarantees
  (no token, idempotency, code, eligibility, lots, audit or figures). It says how much of
  pgbench any Flask endpoint that writes reaches here. It writes to two tables of its own
  (``bench_spend_balances``, a copy of the balances made at start, and
  ``bench_spends``), so the product's ledger stays as it was and ``verify`` stays clean.
"""

import os

from flask import Flask, jsonify
from sqlalchemy import create_engine, text

app = Flask(__name__)
engine = create_engine(os.environ["DATABASE_URL"], pool_pre_ping=True)
BALANCE = text(
    "SELECT a.balance FROM points_accounts a JOIN volunteer_profiles p ON p.id = a.volunteer_id"
    " WHERE p.member_no = :member_no"
)
SPEND = text(
    "UPDATE bench_spend_balances SET balance = balance - 1"
    " WHERE member_no = :member_no AND balance >= 1 RETURNING account_id, balance"
)
RECORD = text("INSERT INTO bench_spends (account_id, points, spent_at) VALUES (:account_id, 1, now())")

with engine.begin() as connection:
    connection.execute(text("SELECT pg_advisory_xact_lock(4242)"))  # the workers start at once
    connection.execute(
        text(
            "CREATE TABLE IF NOT EXISTS bench_spends"
            " (id bigserial PRIMARY KEY, account_id bigint NOT NULL, points int NOT NULL, spent_at timestamptz)"
        )
    )
    if connection.execute(text("SELECT to_regclass('bench_spend_balances')")).scalar() is None:
        connection.execute(
            text(
                "CREATE TABLE bench_spend_balances AS SELECT p.member_no, a.id AS account_id, a.balance"
                " FROM points_accounts a JOIN volunteer_profiles p ON p.id = a.volunteer_id"
            )
        )
        connection.execute(text("ALTER TABLE bench_spend_balances ADD PRIMARY KEY (member_no)"))


@app.get("/bare/<member_no>")
def balance(member_no):
    with engine.connect() as connection:
        found = connection.execute(BALANCE, {"member_no": member_no}).scalar_one_or_none()
    return jsonify({"member_no": member_no, "balance": found})


@app.post("/bare-spend/<member_no>")
def spend(member_no):
    with engine.begin() as connection:
        spent = connection.execute(SPEND, {"member_no": member_no}).one_or_none()
        if spent is None:
            return jsonify({"member_no": member_no, "spent": False}), 409
        connection.execute(RECORD, {"account_id": spent.account_id})
    return jsonify({"member_no": member_no, "spent": True, "balance": spent.balance}), 201
