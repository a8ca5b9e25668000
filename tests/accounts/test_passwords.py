"""Passwords: 10 characters or more, and not common or built from the person's own details."""

import pytest

from points_service.accounts import service as accounts
from points_service.demo import LOGINS, VOLUNTEER_PASSWORD
from points_service.errors import ValidationError
from tests.builders import PASSWORD


@pytest.mark.parametrize(
    "password",
    ["short-1", "password123", "1234567890", "qwertyuiop", "iloveyou12", "Password1!", "aaaaaaaaaaaa"],
)
def test_short_and_common_passwords_are_refused_naming_the_field(password):
    with pytest.raises(ValidationError) as refused:
        accounts.check_password_strength(password)
    assert refused.value.details == {"field": "password"}


def test_a_password_built_from_the_persons_own_name_and_number_is_refused():
    accounts.check_password_strength("WangWu13800001111")  # a stranger's details are not guessable
    with pytest.raises(ValidationError):
        accounts.check_password_strength("WangWu13800001111", ("Wang Wu", "13800001111"))


def test_the_demo_and_test_passwords_are_strong_enough():
    for username, password, _role, _level in LOGINS:
        accounts.check_password_strength(password, (username, username.title()))
    accounts.check_password_strength(VOLUNTEER_PASSWORD, ("volunteer",))
    accounts.check_password_strength(PASSWORD, ("counter1", "Counter 1"))


def test_the_weak_password_message_is_translated(app):
    from flask_babel import force_locale

    with pytest.raises(ValidationError) as refused:
        accounts.check_password_strength("password123")
    with force_locale("en"):
        english = refused.value.render_message()
    with force_locale("zh_CN"):
        chinese = refused.value.render_message()
    assert "too common" in english
    assert chinese != english and "密码" in chinese
