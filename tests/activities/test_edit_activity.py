"""An organizer changes an activity: checked like a new one, and everyone signed up is told."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from points_service.activities import service as activities
from points_service.audit.models import AuditEvent
from points_service.errors import Conflict, ValidationError
from points_service.extensions import db
from points_service.notices import service as notices
from points_service.timeutil import utcnow
from tests.builders import PASSWORD


@pytest.fixture
def tomorrow(build):
    return build.activity(starts_at=utcnow() + timedelta(days=1), capacity=2, title="Park clean-up")


def details(activity, **changes):
    values = {
        name: getattr(activity, name) for name in ("title", "place", "description", "starts_at", "ends_at", "capacity")
    }
    return {**values, **changes}


def signed_up(build, activity, count):
    volunteers = [build.volunteer(name=f"Volunteer {n}", mobile=f"1390000{n:04d}") for n in range(count)]
    for volunteer in volunteers:
        activities.sign_up(volunteer, activity.id)
    return volunteers


def test_a_new_time_is_told_to_everyone_signed_up_or_waiting_and_nobody_else(build, tomorrow):
    first, second, waiting = signed_up(build, tomorrow, 3)
    gone = build.volunteer(name="Gone", mobile="13900009999")
    activities.sign_up(gone, tomorrow.id)
    activities.cancel_signup(gone, tomorrow.id)
    organizer = build.organizer()
    later = tomorrow.starts_at + timedelta(hours=2)

    changed = activities.update_activity(
        organizer, tomorrow.id, **details(tomorrow, starts_at=later, ends_at=later + timedelta(hours=2))
    )

    assert changed == ["starts_at", "ends_at"]
    for volunteer in (first, second, waiting):
        (notice,) = notices.unread_notices(volunteer)
        assert notice.kind == "activity.changed" and notice.facts["starts_at"] == later
        assert notice.facts["previous_starts_at"] == later - timedelta(hours=2)
    assert notices.unread_notices(gone) == []
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "activity.update")).scalar_one()
    assert event.before["starts_at"] < event.after["starts_at"]


def test_the_capacity_never_drops_below_the_places_taken_and_nothing_changes(build, tomorrow):
    signed_up(build, tomorrow, 2)
    with pytest.raises(ValidationError) as refused:
        activities.update_activity(build.organizer(), tomorrow.id, **details(tomorrow, capacity=1, place="Elsewhere"))
    assert refused.value.details["field"] == "capacity"
    db.session.expire_all()
    assert tomorrow.capacity == 2 and tomorrow.place != "Elsewhere"


def test_more_places_move_the_waiting_list_up_and_tell_them(build, tomorrow):
    _, _, waiting = signed_up(build, tomorrow, 3)
    activities.update_activity(build.organizer(), tomorrow.id, **details(tomorrow, capacity=3))
    assert [s.status for s in activities.list_my_signups(waiting)] == ["confirmed"]
    assert [n.kind for n in notices.unread_notices(waiting)] == ["activity.place_confirmed"]


def test_once_someone_checked_in_the_time_stays_but_the_place_may_change(build):
    activity = build.activity()  # it ran three hours ago to an hour ago...
    activity.ends_at = utcnow() + timedelta(hours=1)  # ...and is still running
    volunteer = build.volunteer()
    activities.sign_up(volunteer, activity.id)
    build.checked_in_roster(activity, [volunteer])
    organizer = build.organizer()
    with pytest.raises(Conflict):
        activities.update_activity(
            organizer, activity.id, **details(activity, starts_at=activity.starts_at + timedelta(minutes=30))
        )
    assert activities.update_activity(organizer, activity.id, **details(activity, place="Hall B")) == ["place"]


def test_an_ended_or_cancelled_activity_does_not_change(build, tomorrow):
    ended = build.activity()
    with pytest.raises(Conflict):
        activities.update_activity(build.organizer(), ended.id, **details(ended, title="New"))
    activities.cancel_activity(build.organizer(), tomorrow.id)
    with pytest.raises(Conflict):
        activities.update_activity(build.organizer(), tomorrow.id, **details(tomorrow, title="New"))


def test_an_organizer_of_another_community_cannot_change_it(build, tomorrow):
    stranger = build.staff("organizer", build.tree()["communities"][3])
    with pytest.raises(Exception) as refused:
        activities.update_activity(stranger, tomorrow.id, **details(tomorrow, title="Mine now"))
    assert type(refused.value).__name__ == "PermissionDenied"
    db.session.expire_all()
    assert tomorrow.title == "Park clean-up"


def test_the_volunteer_reads_the_news_in_their_language_escaped_and_dismisses_it(client, build, auth, tomorrow):
    (volunteer,) = signed_up(build, tomorrow, 1)
    activities.update_activity(build.organizer(), tomorrow.id, **details(tomorrow, place="<b>Hall</b> B"))
    db.session.commit()
    auth.login(volunteer.mobile, PASSWORD)

    home = client.get("/me/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "&lt;b&gt;Hall&lt;/b&gt; B" in home and "<b>Hall</b>" not in home
    assert "现在在" in home
    (notice,) = notices.unread_notices(volunteer)
    assert client.post(f"/me/notices/{notice.id}/read").status_code == 302
    assert notices.unread_notices(volunteer) == []
    assert 'data-testid="notices"' not in client.get("/me/").get_data(as_text=True)


def test_someone_elses_notice_cannot_be_dismissed(client, build, auth, tomorrow):
    owner, other = signed_up(build, tomorrow, 2)
    activities.update_activity(build.organizer(), tomorrow.id, **details(tomorrow, place="Hall C"))
    db.session.commit()
    (notice,) = notices.unread_notices(owner)
    auth.login(other.mobile, PASSWORD)
    client.post(f"/me/notices/{notice.id}/read")
    assert len(notices.unread_notices(owner)) == 1


def test_the_edit_page_changes_the_activity_and_says_who_is_told(client, build, auth, tomorrow):
    organizer = build.organizer()
    db.session.commit()
    auth.login(organizer.username, PASSWORD)
    form = client.get(f"/organizer/activities/{tomorrow.id}/edit").get_data(as_text=True)
    assert "Park clean-up" in form
    response = client.post(
        f"/organizer/activities/{tomorrow.id}/edit",
        data={
            "title": "Park clean-up",
            "place": "North gate",
            "starts_at": "2030-05-01T09:00",
            "ends_at": "2030-05-01T08:00",
            "capacity": "2",
        },
    )
    assert response.status_code == 422 and "The activity must end after it starts." in response.get_data(as_text=True)
    response = client.post(
        f"/organizer/activities/{tomorrow.id}/edit",
        data={
            "title": "Park clean-up",
            "place": "North gate",
            "starts_at": "2030-05-01T09:00",
            "ends_at": "2030-05-01T11:00",
            "capacity": "2",
        },
        follow_redirects=True,
    )
    assert "everyone signed up is told" in response.get_data(as_text=True)
    db.session.expire_all()
    assert tomorrow.place == "North gate"


def test_publishing_an_activity_in_the_past_asks_first(client, build, auth):
    build.service_rules()
    organizer = build.organizer()
    db.session.commit()
    auth.login(organizer.username, PASSWORD)
    form = client.get("/organizer/activities/new").get_data(as_text=True)
    organization = form.split('name="organization"')[1].split('value="')[1].split('"')[0]
    data = {
        "title": "Yesterday's walk",
        "organization": organization,
        "category": "elderly_care",
        "place": "Park",
        "starts_at": "2020-01-01T09:00",
        "ends_at": "2020-01-01T11:00",
        "capacity": "5",
    }
    asked = client.post("/organizer/activities/new", data=data)
    assert asked.status_code == 422 and 'data-testid="confirm-past"' in asked.get_data(as_text=True)
    assert activities.list_activities(organizer) == []
    published = client.post("/organizer/activities/new", data={**data, "confirm_past": "y"})
    assert published.status_code == 302
    assert [a.title for a in activities.list_activities(organizer)] == ["Yesterday's walk"]
