"""``/metrics``: protected from the public, labelled by endpoint (never by path), counting
redemptions, rolled-back ledger writes and the approval backlog."""

import pytest
from prometheus_client import REGISTRY

from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.ledger.models import LedgerEntry
from tests.builders.perks import spend_code

TOKEN = "metrics-test-token"


@pytest.fixture
def app_config():
    return {"METRICS_TOKEN": TOKEN}


def _scrape(client):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0


def test_metrics_are_404_when_no_token_is_configured(app, client):
    app.config["METRICS_TOKEN"] = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


def test_metrics_are_401_without_the_right_bearer_token(client):
    assert client.get("/metrics").status_code == 401
    response = client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_requests_are_counted_and_timed_by_endpoint_never_by_path(client, build):
    volunteer = build.volunteer(points=10)
    member_no = volunteer.volunteer.member_no
    before = _value("points_http_requests_total", endpoint="public.health", method="GET", status="200")
    client.get("/healthz")
    client.get(f"/api/v1/members/{member_no}")  # 401 without a token: counted by its endpoint
    text = _scrape(client)
    assert _value("points_http_requests_total", endpoint="public.health", method="GET", status="200") == before + 1
    assert 'points_http_request_duration_seconds_bucket{endpoint="public.health",le="0.005",method="GET"}' in text
    assert member_no not in text
    assert "/api/v1/members" not in text


def test_committed_redemptions_are_counted_by_channel(client, build):
    volunteer = build.volunteer(points=50)
    district = build.tree()["districts"][0]
    clerk = build.counter_clerk(district)
    perk = build.perk(points_cost=15)
    before = _value("points_redemptions_total", channel="counter")
    response = client.post(
        "/api/v1/redemptions",
        json={
            "member_no": volunteer.volunteer.member_no,
            "member_code": spend_code(volunteer.volunteer.member_no),
            "perk_id": perk.id,
            "quantity": 1,
        },
        headers=build.bearer(clerk, role="counter", organization=district, **{"Idempotency-Key": "metrics-key-1"}),
    )
    assert response.status_code == 201, response.json
    assert _value("points_redemptions_total", channel="counter") == before + 1
    assert 'points_redemptions_total{channel="counter"}' in _scrape(client)


def test_a_rolled_back_ledger_write_is_counted_as_a_failure(app, build):
    volunteer = build.volunteer(points=5)
    account = build.account(volunteer)
    before = _value("points_ledger_write_failures_total")
    db.session.add(LedgerEntry(account_id=account.id, delta=1, balance_after=6, kind="earn", reason="half-written"))
    db.session.flush()
    db.session.rollback()
    assert _value("points_ledger_write_failures_total") == before + 1
    ledger.earn_points(account.id, 3, reason="committed", cause_type="test", cause_id="m1")
    assert _value("points_ledger_write_failures_total") == before + 1


def test_the_approval_backlog_counts_pending_records_and_change_requests(client, build):
    build.record(build.volunteer())
    build.record(build.volunteer())
    text = _scrape(client)
    assert 'points_approval_backlog{kind="service_record"} 2.0' in text
    assert 'points_approval_backlog{kind="change_request"} 0.0' in text
