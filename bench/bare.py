"""The ceiling for a lookup: a bare Flask endpoint that runs one SELECT and returns JSON.

Served like the product (gunicorn, same workers, same driver and pool) by ``make bench``;
``GET /bare/{member_no}`` reads the member's balance by member number.
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


@app.get("/bare/<member_no>")
def balance(member_no):
    with engine.connect() as connection:
        found = connection.execute(BALANCE, {"member_no": member_no}).scalar_one_or_none()
    return jsonify({"member_no": member_no, "balance": found})
