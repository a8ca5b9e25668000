"""Login by user name or mobile number and one message for every failure (backoff: test_login_throttle)."""

import pytest

from points_service.accounts import service as accounts
from points_service.errors import PermissionDenied, ValidationError
from tests.builders import PASSWORD


def test_login_by_mobile_number_or_user_name(build):
    volunteer = build.volunteer()
    staff = build.staff("organizer")
    assert accounts.authenticate(volunteer.mobile, PASSWORD).id == volunteer.id
    assert accounts.authenticate(staff.username, PASSWORD).id == staff.id


def test_wrong_password_and_unknown_user_get_the_same_message(build):
    volunteer = build.volunteer()
    with pytest.raises(ValidationError) as wrong:
        accounts.authenticate(volunteer.mobile, "not-the-password1")
    with pytest.raises(ValidationError) as unknown:
        accounts.authenticate("nobody", "not-the-password1")
    assert wrong.value.render_message() == unknown.value.render_message()


def test_each_login_rotates_the_session_token_and_ends_older_sessions(build):
    volunteer = build.volunteer()
    first = accounts.authenticate(volunteer.mobile, PASSWORD).get_id()
    second = accounts.authenticate(volunteer.mobile, PASSWORD).get_id()
    assert first != second
    assert accounts.load_session_user(first) is None
    assert accounts.load_session_user(second).id == volunteer.id


def test_disabled_users_cannot_log_in(build, app):
    from points_service.database import write_transaction
    from points_service.extensions import db

    volunteer = build.volunteer()
    with write_transaction():
        db.session.get(type(volunteer), volunteer.id).active = False
    with pytest.raises(PermissionDenied):
        accounts.authenticate(volunteer.mobile, PASSWORD)
