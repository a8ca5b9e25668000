from datetime import timedelta

import pytest

from points_service.activities import attendance
from points_service.activities import service as activities
from points_service.errors import Conflict, PermissionDenied, ValidationError
from points_service.timeutil import utcnow


def code_at(activity, moment):
    return attendance._code(activity, attendance._window(moment))


@pytest.fixture
def running(build):
    """An activity that started 30 minutes ago and ends in 90 minutes."""
    starts = (utcnow() - timedelta(minutes=30)).replace(microsecond=0)
    return build.activity(starts_at=starts, minutes=120)


def test_the_code_changes_every_minute_and_is_accepted_for_two(build, running):
    now = utcnow()
    shown = activities.current_checkin_code(build.organizer(), running.id, now=now)

    assert activities.checkin_code_is_valid(running, shown.code, now)
    assert activities.checkin_code_is_valid(running, shown.code.lower(), now + timedelta(seconds=60))
    assert not activities.checkin_code_is_valid(running, shown.code, now + timedelta(seconds=120))
    assert activities.current_checkin_code(build.organizer(), running.id, now=now + timedelta(seconds=60)).code != (
        shown.code
    )
    assert shown.expires_at > now


def test_only_staff_of_the_activity_see_its_code(build, running):
    with pytest.raises(PermissionDenied):
        activities.current_checkin_code(build.organizer(build.tree()["communities"][3]), running.id)


def test_scanning_twice_checks_in_then_out_and_creates_a_pending_record(build, running):
    volunteer = build.volunteer()
    arrive = running.starts_at + timedelta(minutes=5)
    leave = arrive + timedelta(minutes=80)

    first = activities.check_in_with_code(volunteer, running.id, code_at(running, arrive), now=arrive)
    second = activities.check_in_with_code(volunteer, running.id, code_at(running, leave), now=leave)

    assert first.action == "checked_in"
    assert second.action == "checked_out"
    record = second.record
    assert (record.status, record.source, record.minutes) == ("pending", "checkin", 80)
    assert record.activity_id == running.id
    assert record.entered_by_id == volunteer.id
    assert second.signup.record_id == record.id


def test_service_counts_only_inside_the_activity_window(build):
    activity = build.activity(minutes=60)  # ended an hour... three hours ago it started
    volunteer = build.volunteer()
    early = activity.starts_at - timedelta(minutes=20)
    late = activity.ends_at + timedelta(minutes=20)

    activities.check_in_with_code(volunteer, activity.id, code_at(activity, early), now=early)
    record = activities.check_in_with_code(volunteer, activity.id, code_at(activity, late), now=late).record

    assert (record.started_at, record.ended_at, record.minutes) == (activity.starts_at, activity.ends_at, 60)


def test_a_wrong_or_expired_code_is_refused(build, running):
    volunteer = build.volunteer()
    now = utcnow()
    with pytest.raises(ValidationError, match="expired or is wrong") as refused:
        activities.check_in_with_code(volunteer, running.id, "AAAAAAAA", now=now)
    assert refused.value.details["field"] == "code"
    with pytest.raises(ValidationError, match="expired"):
        activities.check_in_with_code(volunteer, running.id, code_at(running, now - timedelta(minutes=3)), now=now)


def test_check_in_outside_the_window_and_grace_is_refused(build, app):
    activity = build.activity(starts_at=(utcnow() + timedelta(hours=2)).replace(microsecond=0))
    volunteer = build.volunteer()
    too_early = activity.starts_at - timedelta(minutes=app.config["CHECKIN_GRACE_MINUTES"] + 1)
    just_in_time = activity.starts_at - timedelta(minutes=app.config["CHECKIN_GRACE_MINUTES"])

    with pytest.raises(ValidationError, match="Check-in for this activity is open from"):
        activities.check_in_with_code(volunteer, activity.id, code_at(activity, too_early), now=too_early)
    assert activities.check_in_with_code(
        volunteer, activity.id, code_at(activity, just_in_time), now=just_in_time
    ).action == ("checked_in")


def test_a_second_scan_right_after_check_in_does_not_check_out(build, running):
    volunteer = build.volunteer()
    now = running.starts_at + timedelta(minutes=5)
    activities.check_in_with_code(volunteer, running.id, code_at(running, now), now=now)

    with pytest.raises(Conflict, match="check out when the service is done"):
        activities.check_in_with_code(volunteer, running.id, code_at(running, now), now=now + timedelta(seconds=20))


def test_after_check_out_further_scans_are_refused(build):
    activity = build.activity()
    volunteer = build.volunteer()
    build.checked_in_roster(activity, [volunteer])

    with pytest.raises(Conflict, match="already recorded"):
        now = activity.ends_at
        activities.check_in_with_code(volunteer, activity.id, code_at(activity, now), now=now)


def test_a_walk_in_without_sign_up_is_checked_in_even_when_full(build):
    activity = build.activity(capacity=1)
    holder, walk_in = build.volunteer(), build.volunteer()
    activities.sign_up(holder, activity.id, now=activity.starts_at - timedelta(days=1))

    records = build.checked_in_roster(activity, [walk_in])

    assert records[0].status == "pending"
    assert activities.activity_for_volunteer(walk_in, activity.id).signup.status == "confirmed"


def test_check_out_refuses_an_overlap_with_another_record(build):
    activity = build.activity()
    volunteer = build.volunteer()
    build.record(volunteer, started_at=activity.starts_at + timedelta(minutes=30), minutes=30)

    with pytest.raises(ValidationError, match="overlaps"):
        build.checked_in_roster(activity, [volunteer])


def test_organizer_scanning_a_member_code_checks_in_and_out(build, running):
    volunteer = build.volunteer()
    organizer = build.organizer()
    arrive = running.starts_at + timedelta(minutes=1)

    first = activities.check_in_member(organizer, running.id, volunteer.volunteer.member_no, now=arrive)
    second = activities.check_in_member(
        organizer, running.id, volunteer.volunteer.member_no, now=arrive + timedelta(minutes=45)
    )

    assert (first.action, second.action) == ("checked_in", "checked_out")
    assert second.record.entered_by_id == organizer.id  # so another person approves it


def test_a_mistyped_member_number_is_refused(build, running):
    with pytest.raises(ValidationError, match="member number is not valid"):
        activities.check_in_member(build.organizer(), running.id, "123456789012")


def test_ticking_names_checks_them_in_and_out_together(build, running):
    organizer = build.organizer()
    volunteers = [build.volunteer() for _ in range(3)]
    for volunteer in volunteers:
        activities.sign_up(volunteer, running.id, now=running.starts_at - timedelta(days=1))
    ids = [v.volunteer.id for v in volunteers]
    now = running.starts_at + timedelta(minutes=2)

    checked_in = activities.toggle_attendance(organizer, running.id, ids, now=now)
    checked_out = activities.toggle_attendance(organizer, running.id, ids[:2], now=now + timedelta(minutes=60))

    assert [r.action for r in checked_in] == ["checked_in"] * 3
    assert [r.record.minutes for r in checked_out] == [60, 60]


def test_ticking_a_name_not_on_the_roster_is_refused(build, running):
    stranger = build.volunteer()
    with pytest.raises(ValidationError, match="not on this roster"):
        activities.toggle_attendance(build.organizer(), running.id, [stranger.volunteer.id])
    with pytest.raises(ValidationError, match="Tick at least one"):
        activities.toggle_attendance(build.organizer(), running.id, [])


def test_marking_present_after_the_activity_records_the_whole_window_once(build):
    activity = build.activity(minutes=90)
    organizer = build.organizer()
    came_on_time, came_late = build.volunteer(), build.volunteer()
    for volunteer in (came_on_time, came_late):
        activities.sign_up(volunteer, activity.id, now=activity.starts_at - timedelta(days=1))
    late = activity.starts_at + timedelta(minutes=30)
    activities.check_in_with_code(came_late, activity.id, code_at(activity, late), now=late)
    ids = [came_on_time.volunteer.id, came_late.volunteer.id]

    results = activities.mark_present(organizer, activity.id, ids)
    again = activities.mark_present(organizer, activity.id, ids)

    assert sorted(r.record.minutes for r in results) == [60, 90]
    assert {r.record.entered_by_id for r in results} == {organizer.id}
    assert again == []


def test_marking_present_before_the_end_is_refused(build, running):
    volunteer = build.volunteer()
    activities.sign_up(volunteer, running.id)
    with pytest.raises(ValidationError, match="has not ended"):
        activities.mark_present(build.organizer(), running.id, [volunteer.volunteer.id])


def test_cancelling_after_check_in_is_refused(build, running):
    volunteer = build.volunteer()
    activities.sign_up(volunteer, running.id, now=running.starts_at - timedelta(days=1))
    now = running.starts_at + timedelta(minutes=1)
    activities.check_in_with_code(volunteer, running.id, code_at(running, now), now=now)

    with pytest.raises(Conflict, match="already checked in"):
        activities.cancel_signup(volunteer, running.id, now=now)


def test_roster_lists_confirmed_before_waiting_with_records(build):
    activity = build.activity(capacity=1)
    first, second = build.volunteer(), build.volunteer()
    activities.sign_up(first, activity.id, now=activity.starts_at - timedelta(days=2))
    activities.sign_up(second, activity.id, now=activity.starts_at - timedelta(days=1))
    build.checked_in_roster(activity, [first])

    lines = activities.roster(build.organizer(), activity.id)

    assert [line.signup.volunteer_id for line in lines] == [first.volunteer.id, second.volunteer.id]
    assert lines[0].record.status == "pending"
    assert lines[1].record is None
