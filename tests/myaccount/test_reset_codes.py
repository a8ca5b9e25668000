"""A forgotten password without e-mail or SMS: staff check identity and hand over a one-time code."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from points_service.audit.models import AuditEvent
from points_service.errors import NotFound, ValidationError
from points_service.extensions import db
from points_service.myaccount import resets
from points_service.timeutil import utcnow
from tests.builders import PASSWORD

NEW_PASSWORD = "lantern orchard seventeen"


@pytest.fixture
def volunteer(build):
    return build.volunteer(name="Zhao Min", mobile="13900000001")


@pytest.fixture
def organizer(build):
    return build.staff("organizer", build.community)


def test_staff_find_the_volunteer_masked_and_the_code_sets_a_new_password_once(build, volunteer, organizer):
    (target,) = resets.find_volunteers(organizer, "139 0000 0001")
    assert (target.name, target.mobile) == ("Z*******", "139****0001")
    code = resets.issue_reset_code(organizer, target.profile.user_id, identity_checked=True)
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{8}", code)

    resets.reset_password("13900000001", f"{code[:4].lower()}-{code[4:]}", NEW_PASSWORD)
    with pytest.raises(ValidationError):
        resets.reset_password("13900000001", code, "another fine passphrase")  # used up
    events = [e.action for e in db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars()]
    assert events[-2:] == ["user.reset_code_issue", "user.password_reset"]


def test_the_identity_check_must_be_confirmed(volunteer, organizer):
    with pytest.raises(ValidationError) as refused:
        resets.issue_reset_code(organizer, volunteer.id, identity_checked=False)
    assert refused.value.details["field"] == "identity_checked"


def test_staff_of_another_community_cannot_find_or_issue_and_learn_nothing(build, volunteer):
    stranger = build.staff("organizer", build.tree()["communities"][3])
    assert resets.find_volunteers(stranger, volunteer.volunteer.member_no) == []
    with pytest.raises(NotFound):
        resets.issue_reset_code(stranger, volunteer.id, identity_checked=True)


def test_a_new_code_ends_the_old_one_and_an_old_code_expires(volunteer, organizer):
    first = resets.issue_reset_code(organizer, volunteer.id, identity_checked=True)
    second = resets.issue_reset_code(organizer, volunteer.id, identity_checked=True)
    with pytest.raises(ValidationError):
        resets.reset_password(volunteer.mobile, first, NEW_PASSWORD)
    with pytest.raises(ValidationError):
        resets.reset_password(volunteer.mobile, second, NEW_PASSWORD, now=utcnow() + timedelta(minutes=31))
    resets.reset_password(volunteer.volunteer.member_no, second, NEW_PASSWORD)


def test_five_wrong_codes_end_the_code(volunteer, organizer):
    code = resets.issue_reset_code(organizer, volunteer.id, identity_checked=True)
    for _ in range(5):
        with pytest.raises(ValidationError):
            resets.reset_password(volunteer.mobile, "AAAAAAAA", NEW_PASSWORD)
    with pytest.raises(ValidationError):
        resets.reset_password(volunteer.mobile, code, NEW_PASSWORD)


def test_an_unknown_number_gets_the_same_answer_as_a_wrong_code(volunteer, organizer):
    resets.issue_reset_code(organizer, volunteer.id, identity_checked=True)
    with pytest.raises(ValidationError) as unknown:
        resets.reset_password("13911112222", "AAAAAAAA", NEW_PASSWORD)
    with pytest.raises(ValidationError) as wrong:
        resets.reset_password(volunteer.mobile, "AAAAAAAA", NEW_PASSWORD)
    assert str(unknown.value) == str(wrong.value)


def test_the_whole_path_through_the_pages_ends_old_sessions(client, app, build, auth, volunteer, organizer):
    db.session.commit()
    phone = app.test_client()
    phone.post("/login", data={"login": volunteer.mobile, "password": PASSWORD})
    assert phone.get("/me/").status_code == 200

    auth.login(organizer.username, PASSWORD)
    found = client.post("/organizer/password-reset", data={"step": "find", "find-who": volunteer.mobile})
    assert 'data-testid="reset-target"' in found.get_data(as_text=True)
    assert volunteer.mobile not in found.get_data(as_text=True)
    refused = client.post("/organizer/password-reset", data={"step": "issue", "issue-user_id": volunteer.id})
    assert refused.status_code == 422
    confirmed = {"step": "issue", "issue-user_id": volunteer.id, "issue-identity_checked": "y"}
    issued = client.post("/organizer/password-reset", data=confirmed)
    shown = re.search(r'data-testid="reset-code">([A-Z0-9]{4})-([A-Z0-9]{4})<', issued.get_data(as_text=True))
    code = "".join(shown.groups())
    auth.logout()

    reset = client.post(
        "/reset",
        data={"login": volunteer.mobile, "code": code, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert reset.status_code == 302
    assert phone.get("/me/").status_code == 302  # the session on the old phone has ended
    assert auth.login(volunteer.mobile, NEW_PASSWORD).status_code == 302


def test_volunteers_and_counter_staff_cannot_issue_codes(client, build, auth, volunteer):
    counter = build.staff("counter", build.community)
    db.session.commit()
    for login in (volunteer.mobile, counter.username):
        auth.login(login, PASSWORD)
        assert client.get("/organizer/password-reset").status_code == 403
        auth.logout()
