"""What Flask alone does on this machine, served like the product (gunicorn, same workers,
same driver and pool) by ``make bench``:

- ``GET /bare/{member_no}``: one SELECT of the member's balance; the ceiling of a lookup;
- ``GET /bare-lookup/{member_no}``: the naïve lookup, what any Flask endpoint that
  authenticates its caller and answers a counter reaches here: three SELECTs (the API
  token by its hash, not revoked or expired, with its organization; the member's balance;
  the perks honored at that organization) and the JSON of the three, with none of the
  product's checks (no role, scope, code, star level, validity, stock or limit, no request
  log, metrics or headers);
- ``POST /bare-spend/{member_no}``: the naïve redemption, one transaction of one
  conditional UPDATE of a balance and one INSERT, with none of the product's guarantees
  (no token, idempotency, code, eligibility, lots, audit or figures). It says how much of
  pgbench any Flask endpoint that writes reaches here. It writes to two tables of its own
  (``bench_spend_balances``, a copy of the balances made at start, and
  ``bench_spends``), so the product's ledger stays as it was and ``verify`` stays clean.
"""

import hashlib
import os

from flask import Flask, jsonify, request
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
TOKEN = text(
    "SELECT t.organization_id FROM api_tokens t JOIN users u ON u.id = t.user_id"
    " WHERE t.token_hash = :digest AND t.revoked_at IS NULL AND t.expires_at > now() AND u.active"
)
MEMBER = text(
    "SELECT p.id, a.balance FROM points_accounts a JOIN volunteer_profiles p ON p.id = a.volunteer_id"
    " WHERE p.member_no = :member_no"
)
PERKS = text(
    "SELECT k.id, k.name, k.points_cost FROM perks k JOIN perk_venues v ON v.perk_id = k.id"
    " WHERE v.organization_id = :place AND k.active ORDER BY k.id"
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


@app.get("/bare-lookup/<member_no>")
def lookup(member_no):
    bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
    digest = hashlib.sha256(bearer.encode()).hexdigest()
    with engine.connect() as connection:
        token = connection.execute(TOKEN, {"digest": digest}).one_or_none()
        if token is None:
            return jsonify({"error": "unauthorized"}), 401
        member = connection.execute(MEMBER, {"member_no": member_no}).one_or_none()
        if member is None:
            return jsonify({"error": "not found"}), 404
        perks = connection.execute(PERKS, {"place": token.organization_id}).all()
    balance = member.balance
    options = [{"id": perk, "name": name, "points": cost, "eligible": balance >= cost} for perk, name, cost in perks]
    return jsonify({"member_no": member_no, "balance": balance, "perks": options})


@app.post("/bare-spend/<member_no>")
def spend(member_no):
    with engine.begin() as connection:
        spent = connection.execute(SPEND, {"member_no": member_no}).one_or_none()
        if spent is None:
            return jsonify({"member_no": member_no, "spent": False}), 409
        connection.execute(RECORD, {"account_id": spent.account_id})
    return jsonify({"member_no": member_no, "spent": True, "balance": spent.balance}), 201
