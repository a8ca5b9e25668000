"""Logs carry no personal data: not on registration, login, or a failing request."""

import io
import json
import logging

import pytest
from sqlalchemy import text

from points_service.extensions import db
from points_service.logs import JsonFormatter
from tests.builders import PASSWORD as VOLUNTEER_PASSWORD
from tests.builders.perks import spend_code

MOBILE = "13912345678"
NAME = "Ouyang Xiu"
PASSWORD = "secret-pass-1"


def test_registration_and_logins_log_no_personal_data(client, build, caplog):
    caplog.set_level(logging.DEBUG)
    community = build.community
    client.post(
        "/register",
        data={"name": NAME, "mobile": MOBILE, "community": community.id, "password": PASSWORD, "consent": "y"},
    )
    client.post("/logout")
    client.post("/login", data={"login": MOBILE, "password": "wrong-pass-2"})
    client.post("/login", data={"login": MOBILE, "password": PASSWORD})
    client.get("/me/")

    for secret in (MOBILE, NAME, PASSWORD, "wrong-pass-2"):
        assert secret not in caplog.text


def test_a_failing_statement_logs_neither_its_parameters_nor_the_request_data(app, client, caplog):
    def view():
        db.session.execute(text("SELECT * FROM no_such_table WHERE mobile = :mobile"), {"mobile": MOBILE})

    app.add_url_rule("/broken", "broken", view, methods=["POST"])
    caplog.set_level(logging.DEBUG)

    response = client.post("/broken?who=" + MOBILE, data={"name": NAME})

    assert response.status_code == 500
    assert "unhandled" in caplog.text  # the failure is logged ...
    assert MOBILE not in caplog.text  # ... without the data
    assert NAME not in caplog.text


def _json_lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.fixture
def json_log():
    """What the app's JSON log handler writes during the test (every level)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def test_json_log_lines_of_a_login_and_a_redemption_carry_the_request_id_and_no_personal_data(client, build, json_log):
    volunteer = build.volunteer(points=50, name=NAME, mobile=MOBILE)
    member_no = volunteer.volunteer.member_no
    member_code = spend_code(member_no)
    district = build.tree()["districts"][0]
    clerk = build.counter_clerk(district)
    perk = build.perk(points_cost=15)
    headers = build.bearer(clerk, role="counter", organization=district)

    client.post("/login", data={"login": MOBILE, "password": "wrong-pass-2"})
    client.post("/login", data={"login": MOBILE, "password": VOLUNTEER_PASSWORD})
    redeemed = client.post(
        "/api/v1/redemptions",
        json={"member_no": member_no, "member_code": member_code, "perk_id": perk.id, "quantity": 1},
        headers={**headers, "Idempotency-Key": "log-test-key-1", "X-Request-Id": "redeem-request-0001"},
    )
    client.get(f"/api/v1/members/{member_no}", headers=headers)

    assert redeemed.status_code == 201, redeemed.json
    lines = _json_lines(json_log)
    requests = [line for line in lines if line["logger"] == "points_service.requests"]
    assert [line["endpoint"] for line in requests] == [
        "auth.login",
        "auth.login",
        "api_redemptions.create_redemption",
        "api_members.get_member",
    ]
    redemption_line = requests[2]
    assert redemption_line["request_id"] == "redeem-request-0001"
    assert redemption_line["status"] == 201 and redemption_line["method"] == "POST"
    assert all(line["request_id"] for line in requests)
    text = json_log.getvalue()
    for secret in (NAME, MOBILE, member_no, member_code, VOLUNTEER_PASSWORD, "wrong-pass-2"):
        assert secret not in text
