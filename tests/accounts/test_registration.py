"""Volunteers register themselves; every bad input is refused and writes nothing."""

import pytest

from points_service.accounts import service as accounts
from points_service.accounts.models import User, VolunteerProfile
from points_service.codes import is_valid_member_number
from points_service.errors import ValidationError
from points_service.ledger.models import PointsAccount


def _register(build, **changes):
    data = {
        "name": "Wang Wu",
        "mobile": "13800001111",
        "home_organization_id": build.community.id,
        "password": "good-pass-99",
        "consent": True,
        "consent_version": "2026-11",
    }
    data.update(changes)
    return accounts.register_volunteer(**data)


def test_registration_creates_profile_member_number_and_empty_account(build):
    user = _register(build)
    assert is_valid_member_number(user.volunteer.member_no)
    assert user.volunteer.home_organization_id == build.community.id
    assert PointsAccount.query.filter_by(volunteer_id=user.volunteer.id).one().balance == 0
    assert user.password_hash.startswith("$argon2id$")
    assert [m.role for m in user.memberships] == ["volunteer"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"mobile": "12345"}, "mobile"),
        ({"mobile": "23800001111"}, "mobile"),
        ({"password": "short1"}, "password"),
        ({"password": "onlyletters"}, "password"),
        ({"password": "password123"}, "password"),
        ({"password": "WangWu13800001111"}, "password"),
        ({"consent": False}, "consent"),
        ({"home_organization_id": 99999}, "community"),
        ({"home_organization_id": "1"}, "community"),
    ],
)
def test_bad_registration_is_refused_with_the_field_and_writes_nothing(build, changes, field):
    build.tree()
    with pytest.raises(ValidationError) as refused:
        _register(build, **changes)
    assert refused.value.details["field"] == field
    assert refused.value.render_message()
    assert User.query.count() == 0
    assert VolunteerProfile.query.count() == 0


def test_a_district_is_not_a_home_community(build):
    with pytest.raises(ValidationError):
        _register(build, home_organization_id=build.tree()["districts"][0].id)


def test_a_mobile_number_registers_once_and_the_second_try_writes_nothing(build):
    first = _register(build)
    assert _register(build, name="Someone Else", mobile="138 0000 1111", password="other-pass-77") is None
    assert User.query.count() == 1
    assert accounts.authenticate("13800001111", "good-pass-99").id == first.id


def test_mobile_numbers_are_masked_for_staff():
    assert accounts.mask_mobile("13812345678") == "138****5678"
    assert accounts.mask_name("张三丰") == "张**"
    assert accounts.mask_name("Li") == "L*"
