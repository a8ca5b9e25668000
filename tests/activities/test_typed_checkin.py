"""Check-in by typing the six digits on the organizer's screen, and the limits of a code."""

import re
from datetime import timedelta

import pytest

from points_service.activities import service as activities
from points_service.errors import ValidationError
from points_service.extensions import db
from points_service.timeutil import utcnow
from tests.builders import PASSWORD

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.fixture
def running(build):
    """An activity of the volunteers' neighbourhood that started 30 minutes ago and ends in 90."""
    starts = (utcnow() - timedelta(minutes=30)).replace(microsecond=0)
    return build.activity(starts_at=starts, minutes=120)


def typed_at(build, activity, moment):
    return activities.current_checkin_code(build.organizer(), activity.id, now=moment).typed


def test_the_typed_code_checks_in_then_out_and_the_record_is_pending(build, running):
    volunteer = build.volunteer()
    now = utcnow()
    code = typed_at(build, running, now)
    assert re.fullmatch(r"\d{6}", code)

    assert activities.check_in_with_typed_code(volunteer, code, now=now).action == "checked_in"
    later = now + timedelta(minutes=45)
    result = activities.check_in_with_typed_code(volunteer, typed_at(build, running, later), now=later)
    assert result.action == "checked_out" and result.record.status == "pending"
    assert result.record.activity_id == running.id


def test_last_minutes_code_works_an_older_one_is_refused_and_nothing_changes(build, running):
    volunteer = build.volunteer()
    now = utcnow()
    shown = typed_at(build, running, now)
    assert activities.check_in_with_typed_code(volunteer, shown, now=now + timedelta(seconds=60)).action == "checked_in"
    other = build.volunteer(name="Li Si", mobile="13900001111")
    with pytest.raises(ValidationError, match="wrong or has expired") as refused:
        activities.check_in_with_typed_code(other, shown, now=now + timedelta(seconds=130))
    assert refused.value.details["field"] == "code"
    assert activities.list_my_signups(other) == []


def test_full_width_digits_and_spaces_as_a_phone_types_them_are_accepted(build, running):
    volunteer = build.volunteer()
    now = utcnow()
    code = typed_at(build, running, now)
    spaced = f"{code[:3]}\u3000{code[3:]}".translate(FULL_WIDTH)
    assert activities.check_in_with_typed_code(volunteer, spaced, now=now).action == "checked_in"


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "12a456", None, "١٢٣٤٥٦"])
def test_anything_but_six_digits_is_refused_naming_the_field(build, running, typed):
    with pytest.raises(ValidationError) as refused:
        activities.check_in_with_typed_code(build.volunteer(), typed)
    assert refused.value.details["field"] == "code"


def test_a_code_is_only_good_inside_the_activity_window_and_grace(build):
    later = build.activity(starts_at=(utcnow() + timedelta(hours=3)).replace(microsecond=0))
    now = utcnow()
    with pytest.raises(ValidationError, match="wrong or has expired"):
        activities.check_in_with_typed_code(build.volunteer(), typed_at(build, later, now), now=now)


def test_the_phone_page_checks_in_and_guessing_is_limited(client, build, auth, running, app):
    volunteer = build.volunteer()
    db.session.commit()
    auth.login(volunteer.mobile, PASSWORD)
    page = client.get("/me/checkin")
    assert page.status_code == 200 and 'inputmode="numeric"' in page.get_data(as_text=True)
    right = typed_at(build, running, utcnow())
    wrong = client.post("/me/checkin", data={"code": f"{(int(right) + 1) % 10**6:06d}"})
    assert wrong.status_code == 422 and 'role="alert"' in wrong.get_data(as_text=True)
    done = client.post("/me/checkin", data={"code": right})
    assert done.status_code == 200 and 'data-testid="checked-in"' in done.get_data(as_text=True)


def test_an_old_check_in_link_is_refused_on_the_phone(client, build, auth, running):
    volunteer = build.volunteer()
    db.session.commit()
    auth.login(volunteer.mobile, PASSWORD)
    old = activities.current_checkin_code(build.organizer(), running.id, now=utcnow() - timedelta(minutes=3)).code
    replayed = client.post(f"/me/checkin/{running.id}/{old}", data={"code": old})
    assert replayed.status_code == 422 and "expired or is wrong" in replayed.get_data(as_text=True)
    assert activities.list_my_signups(volunteer) == []


class TestGuessing:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True}

    def test_typed_codes_are_limited_per_volunteer(self, client, build, auth):
        volunteer = build.volunteer()
        db.session.commit()
        auth.login(volunteer.mobile, PASSWORD)
        statuses = [client.post("/me/checkin", data={"code": f"{n:06d}"}).status_code for n in range(11)]
        assert 429 not in statuses[:10] and statuses[10] == 429
