"""Login backoff and session rotation."""

from datetime import timedelta

import pytest

from points_service.accounts import service as accounts
from points_service.errors import PermissionDenied, ValidationError
from points_service.timeutil import utcnow
from tests.builders import PASSWORD


def test_logins_back_off_after_five_failures_and_the_lock_doubles(build):
    build.staff("counter", build.community, username="backoff")
    now = utcnow()
    for _ in range(accounts.LOCK_AFTER_FAILURES):
        with pytest.raises(ValidationError):
            accounts.authenticate("backoff", "wrong-password-1", now=now)
    with pytest.raises(PermissionDenied):
        accounts.authenticate("backoff", PASSWORD, now=now + timedelta(seconds=30))
    first_lock = accounts.find_user("backoff").locked_until - now
    with pytest.raises(ValidationError):
        accounts.authenticate("backoff", "wrong-password-1", now=now + first_lock + timedelta(seconds=1))
    second_lock = accounts.find_user("backoff").locked_until - (now + first_lock + timedelta(seconds=1))
    assert second_lock >= 2 * first_lock - timedelta(seconds=1)
    assert accounts.authenticate("backoff", PASSWORD, now=now + timedelta(days=1)).username == "backoff"


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
