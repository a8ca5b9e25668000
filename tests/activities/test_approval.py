from datetime import timedelta

import pytest
from sqlalchemy import func, select

from points_service.activities import service as activities
from points_service.activities.models import ServiceRecord
from points_service.audit.models import AuditEvent
from points_service.errors import Conflict, PermissionDenied, ValidationError
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.ledger.models import LedgerEntry, ReversalShortfall
from points_service.timeutil import utcnow
from tests.builders.rules import rules_config


def earn_entries():
    return db.session.execute(
        select(func.count()).where(LedgerEntry.kind == "earn", LedgerEntry.cause_type == "service_record")
    ).scalar_one()


def yesterday(hour=9):
    return (utcnow() - timedelta(days=1)).replace(hour=hour, minute=0, second=0, microsecond=0)


def test_approving_writes_one_earn_entry_and_counts_the_minutes(build):
    volunteer = build.volunteer()
    record = build.record(volunteer, minutes=90)

    approved = activities.approve_record(build.approver(), record.id)

    assert (approved.status, approved.points, approved.verified_minutes) == ("approved", 15, 90)
    entry = db.session.get(LedgerEntry, approved.earn_entry_id)
    assert (entry.kind, entry.delta, entry.idempotency_key) == ("earn", 15, f"service-record:{record.id}:earn")
    assert build.account(volunteer).balance == 15
    assert volunteer.volunteer.verified_minutes == 90
    assert approved.rule_set_version == build.service_rules().version
    assert AuditEvent.query.filter_by(action="record.approve", target_id=str(record.id)).count() == 1
    assert activities.check_service_records() == []


def test_approving_twice_does_nothing_more(build):
    volunteer = build.volunteer()
    record = build.record(volunteer)

    activities.approve_record(build.approver(), record.id)
    activities.approve_record(build.approver(), record.id)
    activities.decide_records(build.approver(), [record.id])

    assert earn_entries() == 1
    assert build.account(volunteer).balance == 10
    assert volunteer.volunteer.verified_minutes == 60


def test_nobody_approves_a_record_they_entered(build):
    record = build.record(build.volunteer())

    with pytest.raises(PermissionDenied, match="another person must approve"):
        activities.approve_record(build.organizer(), record.id)
    assert activities.get_record(record.id).status == "pending"


def test_nobody_approves_their_own_service(build):
    organizer_who_volunteers = build.approver()
    from points_service.accounts import service as accounts

    accounts.grant_role(organizer_who_volunteers, "volunteer", build.community)
    record = build.record(organizer_who_volunteers)

    with pytest.raises(PermissionDenied):
        activities.approve_record(organizer_who_volunteers, record.id)


def test_a_volunteers_self_check_in_can_be_approved_by_the_organizer(build):
    activity = build.activity()
    (record,) = build.checked_in_roster(activity, [build.volunteer()])

    assert activities.approve_record(build.organizer(), record.id).status == "approved"


def test_staff_of_another_community_cannot_approve(build):
    record = build.record(build.volunteer())
    with pytest.raises(PermissionDenied):
        activities.approve_record(build.organizer(build.tree()["communities"][1]), record.id)


def test_rejection_needs_a_reason_that_the_volunteer_sees(build):
    volunteer = build.volunteer()
    record = build.record(volunteer)

    with pytest.raises(ValidationError, match="needs a reason"):
        activities.reject_record(build.approver(), record.id, "  ")
    rejected = activities.reject_record(build.approver(), record.id, "You were not on the roster that day")

    assert rejected.status == "rejected"
    shown = activities.my_records(volunteer)[0].record
    assert shown.rejection_reason == "You were not on the roster that day"
    assert earn_entries() == 0
    with pytest.raises(Conflict):
        activities.approve_record(build.approver(), record.id)


def test_approving_a_40_volunteer_activity_in_one_action_gives_40_earn_entries_and_twice_still_40(build):
    activity = build.activity(capacity=40)
    volunteers = [build.volunteer() for _ in range(40)]
    build.checked_in_roster(activity, volunteers)

    first = activities.approve_activity(build.organizer(), activity.id)
    second = activities.approve_activity(build.organizer(), activity.id)

    assert len(first.approved) == 40
    assert second.approved == []
    assert earn_entries() == 40
    assert all(build.account(v).balance == 20 for v in volunteers)
    assert activities.check_service_records() == []
    assert ledger.verify_ledger().discrepancies == []


def test_approving_an_activity_honours_exclusions_rejections_and_four_eyes(build):
    activity = build.activity()
    approved, excluded, rejected, entered_by_me = (build.volunteer() for _ in range(4))
    records = build.checked_in_roster(activity, [approved, excluded, rejected])
    approver = build.approver()
    activities.sign_up(entered_by_me, activity.id, now=activity.starts_at - timedelta(days=1))
    (mine,) = activities.mark_present(approver, activity.id, [entered_by_me.volunteer.id])

    decisions = activities.approve_activity(
        approver,
        activity.id,
        exclude=[records[1].id],
        reject={records[2].id: "Left after ten minutes"},
    )

    assert [r.id for r in decisions.approved] == [records[0].id]
    assert [r.id for r in decisions.excluded] == [records[1].id]
    assert [r.id for r in decisions.rejected] == [records[2].id]
    assert [r.id for r in decisions.skipped] == [mine.record.id]
    assert activities.get_record(records[1].id).status == "pending"
    assert activities.get_record(records[2].id).rejection_reason == "Left after ten minutes"


def test_a_rejection_without_reason_in_a_bulk_approval_changes_nothing(build):
    activity = build.activity()
    records = build.checked_in_roster(activity, [build.volunteer(), build.volunteer()])

    with pytest.raises(ValidationError) as refused:
        activities.approve_activity(build.organizer(), activity.id, reject={records[1].id: ""})

    assert refused.value.details["record_id"] == records[1].id
    assert {r.status for r in activities.activity_records(build.organizer(), activity.id)} == {"pending"}
    assert earn_entries() == 0


def test_approve_activity_only_approves_the_records_the_approver_saw(build):
    activity = build.activity()
    seen, arrived_later = build.checked_in_roster(activity, [build.volunteer(), build.volunteer()])

    decisions = activities.approve_activity(build.organizer(), activity.id, only=[seen.id])

    assert [r.id for r in decisions.approved] == [seen.id]
    assert activities.get_record(arrived_later.id).status == "pending"


def test_the_daily_cap_counts_earlier_approved_records_of_the_same_local_day(build):
    build._service_rules = build.rule_set(config=rules_config(caps={"per_day": 25}))
    volunteer = build.volunteer()
    morning = build.record(volunteer, started_at=yesterday(1), minutes=120)
    afternoon = build.record(volunteer, started_at=yesterday(5), minutes=120)

    decisions = activities.decide_records(build.approver(), [morning.id, afternoon.id])

    assert [r.points for r in decisions.approved] == [20, 5]
    assert build.account(volunteer).balance == 25


def test_a_record_whose_award_is_zero_is_approved_without_an_earn_entry(build):
    build._service_rules = build.rule_set(config=rules_config(caps={"per_day": 10}))
    volunteer = build.volunteer()
    build.approved_record(volunteer, started_at=yesterday(1), minutes=60)
    capped = build.approved_record(volunteer, started_at=yesterday(3), minutes=60)

    assert (capped.status, capped.points, capped.earn_entry_id) == ("approved", 0, None)
    assert volunteer.volunteer.verified_minutes == 120
    assert activities.check_service_records() == []


def test_the_first_service_bonus_is_given_once(build):
    build._service_rules = build.rule_set(config=rules_config(bonuses={"first_service": 50, "milestones": []}))
    volunteer = build.volunteer()
    first = build.approved_record(volunteer, started_at=yesterday(1))
    second = build.approved_record(volunteer, started_at=yesterday(3))

    assert (first.points, second.points) == (60, 10)


def test_reversal_takes_the_points_and_the_minutes_back(build):
    volunteer = build.volunteer()
    record = build.approved_record(volunteer, minutes=120)
    admin = build.staff("admin", build.tree()["city"])

    result = activities.reverse_record(admin, record.id, "Fake hours")
    again = activities.reverse_record(admin, record.id, "Fake hours")

    assert (result.points_removed, result.shortfall) == (20, 0)
    assert (again.points_removed, again.record.status) == (0, "reversed")
    assert build.account(volunteer).balance == 0
    db.session.refresh(volunteer.volunteer)
    assert volunteer.volunteer.verified_minutes == 0
    assert AuditEvent.query.filter_by(action="record.reverse").count() == 1
    assert activities.check_service_records() == []
    assert ledger.verify_ledger().discrepancies == []


def test_reversal_of_spent_points_takes_what_remains_and_records_the_shortfall(build):
    volunteer = build.volunteer()
    record = build.approved_record(volunteer, minutes=120)
    ledger.spend_points(build.account(volunteer).id, 15, reason="Parking discount")
    admin = build.staff("admin", build.tree()["city"])

    result = activities.reverse_record(admin, record.id, "Fake hours")

    assert (result.points_removed, result.shortfall) == (5, 15)
    assert build.account(volunteer).balance == 0
    assert db.session.execute(select(ReversalShortfall.points)).scalar_one() == 15


def test_only_an_administrator_reverses_and_only_approved_records(build):
    record = build.approved_record(build.volunteer())
    with pytest.raises(PermissionDenied):
        activities.reverse_record(build.approver(), record.id, "Mistake")
    pending = build.record(build.volunteer())
    with pytest.raises(Conflict, match="Only an approved record"):
        activities.reverse_record(build.staff("admin", build.community), pending.id, "Mistake")


def test_the_pending_queue_is_scoped_to_the_approvers_subtree(build):
    mine = build.record(build.volunteer())
    other_community = build.tree()["communities"][1]
    build.record(build.volunteer(), organization=other_community)

    assert [r.id for r in activities.pending_records(build.approver())] == [mine.id]
    district_admin = build.staff("admin", build.tree()["districts"][0])
    assert activities.count_pending_records(district_admin) == 2


def test_the_invariant_check_finds_an_approved_record_without_its_earn_entry(build):
    volunteer = build.volunteer()
    record = build.approved_record(volunteer)
    db.session.execute(ServiceRecord.__table__.update().where(ServiceRecord.id == record.id).values(earn_entry_id=None))
    db.session.commit()

    problems = activities.check_service_records()

    assert len(problems) == 1
    assert problems[0][0] == build.account(volunteer).id
    assert f"service record {record.id}" in problems[0][1]


def test_the_invariant_check_finds_wrong_verified_minutes(build):
    volunteer = build.volunteer()
    build.approved_record(volunteer)
    db.session.execute(type(volunteer.volunteer).__table__.update().values(verified_minutes=5))
    db.session.commit()

    assert any("verified minutes 5" in problem for _, problem in activities.check_service_records())


def test_the_volunteer_sees_why_they_got_their_points(build):
    volunteer = build.volunteer()
    build.approved_record(volunteer, minutes=90)

    (explained,) = activities.my_records(volunteer)

    assert explained.lines[-1] == "Total: 15 points."
    assert any("90 minutes" in line for line in explained.lines)


def test_star_level_comes_from_verified_minutes(build):
    volunteer = build.volunteer()
    build.approved_record(volunteer, minutes=600)

    level = activities.volunteer_level(volunteer.volunteer)

    assert (level.stars, level.hours, level.next_stars, level.next_threshold_hours) == (0, 10, 1, 100)
