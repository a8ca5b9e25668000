"""CSRF: every cookie-authenticated write needs the token; bearer-token API calls do not."""

import re

import pytest

from tests.builders import PASSWORD


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def _csrf_from(html):
    match = re.search(r'name="csrf[-_]token"\s+(?:value|content)="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def _log_in(client, username):
    token = _csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"login": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302


def test_login_form_without_the_token_is_refused(client, build):
    build.staff("admin", build.tree()["city"], username="csrf-admin")
    response = client.post("/login", data={"login": "csrf-admin", "password": PASSWORD})
    assert response.status_code == 400


def test_cookie_authenticated_api_write_needs_the_csrf_header(client, build):
    admin = build.staff("admin", build.tree()["city"], username="csrf-admin")
    from points_service.accounts.tokens import issue_api_token

    token, _plaintext = issue_api_token(admin, name="to revoke", actor=admin)
    _log_in(client, "csrf-admin")
    refused = client.post(f"/api/v1/tokens/{token.id}/revoke")
    assert refused.status_code == 400
    assert refused.json["error"]["code"] == "csrf_failed"
    csrf = _csrf_from(client.get("/api/v1/docs").get_data(as_text=True))
    accepted = client.post(f"/api/v1/tokens/{token.id}/revoke", headers={"X-CSRFToken": csrf})
    assert accepted.status_code == 200


def test_cookie_authenticated_api_reads_need_no_csrf_header(client, build):
    build.staff("admin", build.tree()["city"], username="csrf-admin")
    _log_in(client, "csrf-admin")
    assert client.get("/api/v1/tokens").status_code == 200


def test_bearer_token_api_writes_need_no_csrf_token(client, build):
    admin = build.staff("admin", build.tree()["city"])
    from points_service.accounts.tokens import issue_api_token

    token, _plaintext = issue_api_token(admin, name="to revoke", actor=admin)
    response = client.post(f"/api/v1/tokens/{token.id}/revoke", headers=build.bearer(admin))
    assert response.status_code == 200
