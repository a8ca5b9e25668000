"""Logs carry no personal data: not on registration, login, or a failing request."""

import logging

from sqlalchemy import text

from points_service.extensions import db

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
