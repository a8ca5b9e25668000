"""Looking a volunteer up by a scanned or typed member number."""

import pytest

from points_service.accounts.service import volunteer_by_member_number
from points_service.codes import damm_digit
from points_service.errors import NotFound, ValidationError


def test_a_member_number_finds_its_volunteer_however_it_is_typed(build):
    user = build.volunteer()
    number = user.volunteer.member_no
    for typed in (number, f" {number[:4]} {number[4:8]} {number[8:]} ", f"{number[:6]}-{number[6:]}"):
        assert volunteer_by_member_number(typed).id == user.volunteer.id


def test_a_mistyped_member_number_is_refused_before_any_lookup(build):
    number = build.volunteer().volunteer.member_no
    typo = number[:5] + str((int(number[5]) + 1) % 10) + number[6:]
    with pytest.raises(ValidationError) as refused:
        volunteer_by_member_number(typo)
    assert refused.value.details == {"field": "member_no"}
    assert "not valid" in refused.value.render_message()


@pytest.mark.parametrize("typed", ["", "abc", "12345", None, "1234567890123"])
def test_something_that_is_no_member_number_is_refused(app, typed):
    with pytest.raises(ValidationError):
        volunteer_by_member_number(typed)


def test_a_well_formed_number_nobody_has_is_not_found(app):
    body = "12345678901"
    with pytest.raises(NotFound) as refused:
        volunteer_by_member_number(body + damm_digit(body))
    assert refused.value.render_message() == "No volunteer has that member number."
