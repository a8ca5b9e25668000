"""Error pages: HTML for pages, one JSON shape under /api/, in the request's language."""


def test_unknown_page_is_an_html_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert b"does not exist" in response.data


def test_unknown_api_path_is_a_json_404_in_the_error_shape(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    body = response.get_json()
    assert body["error"]["code"] == "not_found"
    assert body["error"]["message"]
    assert body["error"]["details"] == {}


def test_error_messages_follow_accept_language(client):
    response = client.get("/api/v1/no-such-thing", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert response.get_json()["error"]["message"] != "That page or record does not exist."


def test_wrong_method_is_405(client):
    assert client.delete("/login").status_code == 405


def test_server_errors_are_500_pages_that_leak_nothing(app, client):
    @app.route("/boom")
    def boom():
        raise RuntimeError("secret detail 13800001111")

    response = client.get("/boom")
    assert response.status_code == 500
    assert b"13800001111" not in response.data
    assert b"secret detail" not in response.data


def test_logout_needs_post_and_login_page_is_usable_without_javascript(client):
    assert client.get("/logout").status_code == 405
    page = client.get("/login").data
    assert b'name="login"' in page and b'name="password"' in page
