"""Sessions end on the server: at login elsewhere, at logout, at a password change.
(Login backoff: tests/accounts/test_login_throttle.py.)"""

import pytest

from points_service.accounts import service as accounts
from points_service.errors import ValidationError
from tests.builders import PASSWORD

NEW_PASSWORD = "lantern-orchard-58"


def test_unknown_and_wrong_logins_fail_with_the_same_message(build):
    build.staff("counter", build.community, username="same-message")
    with pytest.raises(ValidationError) as unknown:
        accounts.authenticate("nobody-here", "wrong-password-1")
    with pytest.raises(ValidationError) as wrong:
        accounts.authenticate("same-message", "wrong-password-1")
    assert unknown.value.render_message() == wrong.value.render_message()


def test_login_starts_a_new_session_and_ends_the_users_other_sessions(app, build):
    volunteer = build.volunteer()
    first, second = app.test_client(), app.test_client()
    with first.session_transaction() as session:
        session["planted"] = "by an attacker"
    assert first.post("/login", data={"login": volunteer.mobile, "password": PASSWORD}).status_code == 302
    with first.session_transaction() as session:
        assert "planted" not in session
    assert first.get("/me/").status_code == 200
    assert second.post("/login", data={"login": volunteer.mobile, "password": PASSWORD}).status_code == 302
    assert second.get("/me/").status_code == 200
    assert first.get("/me/").status_code == 302  # the earlier session ended


def _copy_session(source, target):
    target.set_cookie("session", source.get_cookie("session").value)


def test_a_session_cookie_copied_before_logout_no_longer_works_after_it(app, build):
    volunteer = build.volunteer()
    browser, thief = app.test_client(), app.test_client()
    browser.post("/login", data={"login": volunteer.mobile, "password": PASSWORD})
    _copy_session(browser, thief)
    assert thief.get("/me/").status_code == 200

    browser.post("/logout")

    assert thief.get("/me/").status_code == 302
    assert browser.get("/me/").status_code == 302


def test_a_password_change_ends_every_other_session_and_keeps_this_one(app, build):
    volunteer = build.volunteer()
    browser, copy = app.test_client(), app.test_client()
    browser.post("/login", data={"login": volunteer.mobile, "password": PASSWORD})
    _copy_session(browser, copy)

    response = browser.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert browser.get("/me/").status_code == 200
    assert copy.get("/me/").status_code == 302
    assert accounts.authenticate(volunteer.mobile, NEW_PASSWORD).id == volunteer.id
    with pytest.raises(ValidationError):
        accounts.authenticate(volunteer.mobile, PASSWORD)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"current_password": "not-my-password-9", "new_password": NEW_PASSWORD}, "The current password is not right."),
        ({"current_password": PASSWORD, "new_password": "1234567890"}, "too common or too easy to guess"),
        ({"current_password": PASSWORD, "new_password": "short-9"}, "at least 10 characters"),
        ({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": "other-lantern-58"}, "not the same"),
    ],
    ids=["wrong current", "common", "short", "not confirmed"],
)
def test_a_refused_password_change_says_why_and_changes_nothing(client, auth, build, form, message):
    volunteer = build.volunteer()
    auth.login(volunteer.mobile, PASSWORD)
    before = accounts.find_user(volunteer.mobile)
    hash_before, token_before = before.password_hash, before.session_token

    response = client.post("/account/password", data={"confirm": form["new_password"], **form})

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    after = accounts.find_user(volunteer.mobile)
    assert (after.password_hash, after.session_token) == (hash_before, token_before)
    assert client.get("/me/").status_code == 200
