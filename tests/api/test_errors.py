"""One error shape everywhere under /api/v1, in the language of Accept-Language."""

import pytest


def _shape_of(response):
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert isinstance(error["code"], str) and isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    return error


@pytest.fixture
def headers(build):
    return build.bearer(build.staff("admin", build.tree()["city"]))


def test_input_validation_errors_have_the_one_shape_with_field_details(client, headers):
    response = client.post("/api/v1/tokens", json={"name": "", "organization_id": "x", "bogus": 1}, headers=headers)
    assert response.status_code == 422
    error = _shape_of(response)
    assert error["code"] == "invalid"
    fields = error["details"]["fields"]["json"]
    assert {"user", "name", "organization_id", "bogus"} <= set(fields)


def test_malformed_json_is_a_400_in_the_one_shape(client, headers):
    response = client.post("/api/v1/tokens", data="{not json", headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 400
    _shape_of(response)


def test_unknown_path_and_wrong_method_have_the_one_shape(client, headers):
    assert _shape_of(client.get("/api/v1/nothing-here", headers=headers))["code"] == "not_found"
    wrong = client.delete("/api/v1/tokens", headers=headers)
    assert wrong.status_code == 405
    assert _shape_of(wrong)["code"] == "method_not_allowed"


def test_authentication_and_domain_errors_have_the_one_shape(client, build, headers):
    assert _shape_of(client.get("/api/v1/tokens"))["code"] == "unauthorized"
    volunteer = build.volunteer()
    response = client.get(f"/api/v1/members/{volunteer.volunteer.member_no}", headers=build.bearer(volunteer))
    assert response.status_code == 403
    assert _shape_of(response)["code"] == "forbidden"


@pytest.mark.parametrize("accept, language", [("zh-CN,zh;q=0.9", "zh-CN"), ("en-US,en;q=0.8", "en")])
def test_messages_follow_accept_language(client, headers, accept, language):
    response = client.get("/api/v1/members/123", headers={**headers, "Accept-Language": accept})
    _shape_of(response)
    assert response.headers["Content-Language"] == language


def test_a_server_error_has_the_one_shape_and_logs_no_request_data(app, client, headers, monkeypatch, caplog):
    from points_service.accounts import tokens

    def broken(*args, **kwargs):
        raise RuntimeError("boom 13800000000")

    monkeypatch.setattr(tokens, "list_api_tokens", broken)
    response = client.get("/api/v1/tokens", headers=headers)
    assert response.status_code == 500
    assert _shape_of(response)["code"] == "server_error"
    assert "13800000000" not in response.get_data(as_text=True)


def test_a_multipart_part_without_a_name_is_a_422_not_a_crash(client, build):
    headers = build.bearer(build.organizer())
    body = (
        b'--b\r\nContent-Disposition: form-data; filename="x.csv"\r\n\r\na,b\r\n'
        b'--b\r\nContent-Disposition: form-data; name=""\r\n\r\nx\r\n--b--\r\n'
    )
    response = client.post(
        "/api/v1/imports", data=body, headers={**headers, "Content-Type": "multipart/form-data; boundary=b"}
    )
    assert response.status_code == 422
    assert "" in _shape_of(response)["details"]["fields"]["multipart"]


def test_error_messages_are_translated_for_chinese_callers(client):
    english = client.get("/api/v1/tokens", headers={"Accept-Language": "en"}).json["error"]["message"]
    chinese = client.get("/api/v1/tokens", headers={"Accept-Language": "zh-CN"}).json["error"]["message"]
    assert chinese != english
    assert any("\u4e00" <= character <= "\u9fff" for character in chinese)
