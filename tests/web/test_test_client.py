"""The test client behaves like separate browsers: no request sees what another left behind."""

from tests.builders import PASSWORD


def test_a_second_client_without_a_session_is_not_logged_in(app, auth, build):
    user = build.volunteer()
    auth.login(user.mobile, PASSWORD)

    assert app.test_client().get("/me/").status_code == 302


def test_each_request_chooses_its_own_language(client):
    english = client.get("/api/v1/nothing", headers={"Accept-Language": "en"}).get_json()
    chinese = client.get("/api/v1/nothing", headers={"Accept-Language": "zh-CN"}).get_json()
    assert english["error"]["message"] != chinese["error"]["message"]
