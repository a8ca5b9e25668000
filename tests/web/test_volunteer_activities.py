from datetime import timedelta

import pytest

from points_service.activities import service as activities
from points_service.activities.models import ServiceRecord
from points_service.timeutil import to_local, utcnow
from tests.builders import PASSWORD


@pytest.fixture
def volunteer(build, auth):
    build.service_rules()
    user = build.volunteer()
    auth.login(user.mobile, PASSWORD)
    return user


def soon(build, **kwargs):
    return build.activity(starts_at=(utcnow() + timedelta(days=1)).replace(microsecond=0), **kwargs)


def test_home_shows_the_star_level_and_next_threshold_next_to_the_balance(client, build, volunteer):
    build.approved_record(volunteer, minutes=180)

    page = client.get("/me/")

    assert b'data-testid="star-level"' in page.data
    assert b"No stars yet" in page.data
    assert b"3 verified hours" in page.data
    assert "97 more hours to 1★".encode() in page.data
    assert b'data-testid="balance">30<' in page.data


def test_home_lists_service_records_with_the_explanation_of_their_points(client, build, volunteer):
    build.approved_record(volunteer, minutes=90)

    page = client.get("/me/records")

    assert b"Why 15 points?" in page.data
    assert b"90 minutes at 10 points per 60 minutes: 15 points." in page.data


def test_a_rejected_record_shows_the_reason(client, build, volunteer):
    record = build.record(volunteer)
    activities.reject_record(build.approver(), record.id, "Please report it under the right activity")

    page = client.get("/me/")

    assert b"Not approved: Please report it under the right activity" in page.data


def test_volunteer_signs_up_and_cancels(client, build, volunteer):
    activity = soon(build, capacity=5)

    listed = client.get("/me/activities")
    signed = client.post(f"/me/activities/{activity.id}/signup", follow_redirects=True)
    cancelled = client.post(f"/me/activities/{activity.id}/cancel", follow_redirects=True)

    assert activity.title.encode() in listed.data
    assert b"You are signed up. See you there!" in signed.data
    assert b"Your sign-up is cancelled." in cancelled.data
    assert activities.activity_for_volunteer(volunteer, activity.id).signup.status == "cancelled"


def test_a_full_activity_offers_the_waiting_list(client, build, volunteer):
    activity = soon(build, capacity=1)
    activities.sign_up(build.volunteer(), activity.id)

    page = client.get(f"/me/activities/{activity.id}")
    joined = client.post(f"/me/activities/{activity.id}/signup", follow_redirects=True)

    assert b"Join the waiting list" in page.data
    assert b"you are on the waiting list" in joined.data


def test_scanning_the_activity_qr_checks_in_after_confirming(client, build, volunteer):
    activity = build.activity(starts_at=(utcnow() - timedelta(minutes=10)).replace(microsecond=0))
    code = activities.current_checkin_code(build.organizer(), activity.id).code
    url = f"/me/checkin/{activity.id}/{code}"

    confirm = client.get(url)
    done = client.post(url, data={"code": code})

    assert confirm.status_code == 200 and b"Check in" in confirm.data
    assert b'data-testid="checked-in"' in done.data
    assert activities.activity_for_volunteer(volunteer, activity.id).signup.checked_in_at is not None


def test_a_stale_qr_code_is_refused_with_a_clear_message(client, build, volunteer):
    activity = build.activity(starts_at=(utcnow() - timedelta(minutes=10)).replace(microsecond=0))

    response = client.post(f"/me/checkin/{activity.id}/AAAAAAAA", data={"code": "AAAAAAAA"})

    assert response.status_code == 422
    assert b"This check-in code has expired or is wrong" in response.data


def test_the_check_in_link_asks_to_log_in_first(client, build):
    activity = build.activity()
    response = client.get(f"/me/checkin/{activity.id}/ABCDEFGH")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_volunteer_reports_service_with_evidence(client, build, volunteer):
    day = (to_local(utcnow(), build.community.timezone) - timedelta(days=1)).date()

    form = client.get("/me/records/new")
    response = client.post(
        "/me/records/new",
        data={
            "category": "elderly_care",
            "started_at": f"{day}T14:00",
            "ended_at": f"{day}T15:30",
            "evidence": "Helped Mr Li carry groceries; his son can confirm.",
        },
        follow_redirects=True,
    )

    assert form.status_code == 200
    assert b"Your report waits for approval" in response.data
    record = ServiceRecord.query.one()
    assert (record.source, record.minutes, record.status) == ("self_report", 90, "pending")


def test_a_report_in_the_future_is_refused_with_its_reason(client, build, volunteer):
    day = (to_local(utcnow(), build.community.timezone) + timedelta(days=2)).date()

    response = client.post(
        "/me/records/new",
        data={
            "category": "elderly_care",
            "started_at": f"{day}T14:00",
            "ended_at": f"{day}T15:30",
            "evidence": "Helped Mr Li carry groceries; his son can confirm.",
        },
    )

    assert response.status_code == 422
    assert b"Service times cannot be in the future." in response.data
