from datetime import datetime, timedelta

import pytest

from points_service.activities import service as activities
from points_service.activities.models import ServiceRecord
from points_service.audit.models import AuditEvent
from points_service.errors import PermissionDenied, ValidationError
from points_service.timeutil import utcnow


def yesterday(hour=9):
    return (utcnow() - timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)


def enter(build, volunteer, *, started_at=None, ended_at=None, category="patrol", organizer=None, organization=None):
    build.service_rules()
    started_at = started_at or yesterday()
    return activities.enter_record(
        organizer or build.organizer(),
        member_no=volunteer.volunteer.member_no,
        organization=organization or build.community,
        category=category,
        started_at=started_at,
        ended_at=ended_at or started_at + timedelta(hours=2),
    )


def test_an_organizer_enters_a_pending_record_and_it_is_audited(build):
    volunteer = build.volunteer()
    record = enter(build, volunteer)

    assert (record.status, record.source, record.minutes) == ("pending", "organizer", 120)
    assert record.entered_by_id == build.organizer().id
    assert AuditEvent.query.filter_by(action="record.enter", target_id=str(record.id)).count() == 1


@pytest.mark.parametrize(
    ("start_shift", "length", "field", "message"),
    [
        (timedelta(0), timedelta(hours=-1), "ended_at", "end time must be after the start"),
        (timedelta(days=2), timedelta(hours=1), "ended_at", "cannot be in the future"),
        (timedelta(0), timedelta(hours=13), "ended_at", "at most 12 hours 0 minutes"),
        (timedelta(0), timedelta(seconds=30), "ended_at", "at least one minute"),
    ],
)
def test_bad_times_are_refused_each_with_its_own_message(build, start_shift, length, field, message):
    volunteer = build.volunteer()
    started = yesterday(hour=1) + start_shift
    with pytest.raises(ValidationError, match=message) as refused:
        enter(build, volunteer, started_at=started, ended_at=started + length)
    assert refused.value.details["field"] == field
    assert ServiceRecord.query.count() == 0


def test_the_maximum_length_comes_from_the_configuration(build, app):
    app.config["MAX_SERVICE_MINUTES"] = 60
    with pytest.raises(ValidationError, match="at most 1 hours 0 minutes"):
        enter(build, build.volunteer())


def test_an_overlapping_record_of_the_same_volunteer_is_refused(build):
    volunteer = build.volunteer()
    enter(build, volunteer, started_at=yesterday(9), ended_at=yesterday(11))

    with pytest.raises(ValidationError, match="overlaps another service record") as refused:
        enter(build, volunteer, started_at=yesterday(10), ended_at=yesterday(12))
    assert refused.value.details["field"] == "started_at"
    # Touching is not overlapping, and another volunteer may serve at the same time.
    enter(build, volunteer, started_at=yesterday(11), ended_at=yesterday(12))
    enter(build, build.volunteer(), started_at=yesterday(10), ended_at=yesterday(12))


def test_a_rejected_record_no_longer_blocks_its_time(build):
    volunteer = build.volunteer()
    first = enter(build, volunteer)
    activities.reject_record(build.approver(), first.id, "Wrong day")

    assert enter(build, volunteer).status == "pending"


def test_unknown_category_and_member_number_are_refused(build):
    volunteer = build.volunteer()
    with pytest.raises(ValidationError, match="Unknown service category"):
        enter(build, volunteer, category="juggling")
    with pytest.raises(ValidationError, match="member number is not valid"):
        activities.enter_record(
            build.organizer(),
            member_no="100000000000",
            organization=build.community,
            category="patrol",
            started_at=yesterday(),
            ended_at=yesterday(10),
        )


def test_an_organizer_cannot_enter_records_for_another_community(build):
    other = build.tree()["communities"][2]
    with pytest.raises(PermissionDenied):
        enter(build, build.volunteer(), organization=other)


def test_a_volunteer_reports_service_with_evidence_for_their_home_community(build):
    build.service_rules()
    volunteer = build.volunteer()
    record = activities.report_service(
        volunteer,
        category="elderly_care",
        started_at=yesterday(14),
        ended_at=yesterday(16),
        evidence="Accompanied Mrs Wang to the clinic; her daughter can confirm.",
    )

    assert (record.source, record.status, record.organization_id) == ("self_report", "pending", build.community.id)
    assert record.entered_by_id == volunteer.id


def test_a_self_report_without_enough_evidence_is_refused(build):
    build.service_rules()
    with pytest.raises(ValidationError, match="Describe what you did") as refused:
        activities.report_service(
            build.volunteer(), category="patrol", started_at=yesterday(), ended_at=yesterday(10), evidence="patrol"
        )
    assert refused.value.details["field"] == "evidence"


def report(build, volunteer, started_at, now, minutes=120):
    build.service_rules()
    return activities.report_service(
        volunteer,
        category="elderly_care",
        started_at=started_at,
        ended_at=started_at + timedelta(minutes=minutes),
        evidence="Accompanied Mrs Wang to the clinic; her daughter can confirm.",
        now=now,
    )


MARCH_2027 = datetime(2027, 3, 1, 2, 0)  # 10:00 on 1 March 2027 in Shanghai


def test_a_self_report_back_dated_23_months_is_refused_with_what_to_do(build):
    volunteer = build.volunteer()
    with pytest.raises(ValidationError) as refused:
        report(build, volunteer, datetime(2025, 4, 1, 1, 0), now=MARCH_2027)
    assert refused.value.render_message() == (
        "Service can be reported up to 60 days after it was done; for service on 2025-04-01, "
        "ask the organizer of your community to enter it."
    )
    assert refused.value.details["field"] == "started_at"
    assert ServiceRecord.query.count() == 0


def test_self_reported_service_within_the_window_is_accepted_and_older_is_not(build):
    volunteer = build.volunteer()
    assert report(build, volunteer, MARCH_2027 - timedelta(days=59), now=MARCH_2027).status == "pending"
    with pytest.raises(ValidationError, match="up to 60 days"):
        report(build, volunteer, MARCH_2027 - timedelta(days=60, minutes=1), now=MARCH_2027)


def test_the_self_report_window_comes_from_the_configuration(build, app):
    app.config["SELF_REPORT_WINDOW_DAYS"] = 7
    with pytest.raises(ValidationError, match="up to 7 days"):
        report(build, build.volunteer(), MARCH_2027 - timedelta(days=8), now=MARCH_2027)


def test_self_reported_service_in_the_future_is_refused(build):
    with pytest.raises(ValidationError, match="cannot be in the future") as refused:
        report(build, build.volunteer(), MARCH_2027 + timedelta(hours=1), now=MARCH_2027)
    assert refused.value.details["field"] == "ended_at"
    assert ServiceRecord.query.count() == 0
