"""Flask-Limiter limits: login, registration, code lookups, and the API per token."""

import pytest

from tests.builders import PASSWORD


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": True, "API_RATELIMIT": "6 per minute", "CODE_LOOKUP_RATELIMIT": "3 per minute"}


def test_login_attempts_are_limited_per_address(client):
    # Another login name each time, so that the per-account throttle (test_login_throttle) stays out of it.
    statuses = [
        client.post("/login", data={"login": f"someone{n}", "password": "wrong-pass-1"}).status_code for n in range(11)
    ]
    assert 429 not in statuses[:10]
    assert statuses[10] == 429


def test_registrations_are_limited_per_address(client):
    statuses = [client.post("/register", data={"name": "x"}).status_code for _ in range(6)]
    assert 429 not in statuses[:5]
    assert statuses[5] == 429


def test_the_api_is_limited_per_token_in_the_one_error_shape(client, build):
    admin = build.staff("admin", build.tree()["city"])
    first, second = build.bearer(admin), build.bearer(admin)
    statuses = [client.get("/api/v1/perks", headers=first).status_code for _ in range(7)]
    assert statuses[:6] == [200] * 6
    limited = client.get("/api/v1/perks", headers=first)
    assert limited.status_code == 429
    assert limited.json["error"]["code"] == "rate_limited"
    assert "Retry-After" in limited.headers or "X-RateLimit-Reset" in limited.headers
    assert client.get("/api/v1/tokens", headers=first).status_code == 429  # one budget over the whole API
    assert client.get("/api/v1/perks", headers=second).status_code == 200


def test_member_number_lookups_have_a_stricter_limit(client, build):
    district = build.tree()["districts"][0]
    headers = build.bearer(build.counter_clerk(district), role="counter", organization=district)
    member_no = build.volunteer().volunteer.member_no
    statuses = [client.get(f"/api/v1/members/{member_no}", headers=headers).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_cookie_sessions_share_a_budget_per_user(client, build, auth):
    build.staff("admin", build.tree()["city"], username="limited-admin")
    auth.login("limited-admin", PASSWORD)
    statuses = [client.get("/api/v1/perks").status_code for _ in range(7)]
    assert statuses[-1] == 429
