from datetime import timedelta

import pytest

from points_service.activities import service as activities
from points_service.audit.models import AuditEvent
from points_service.errors import Conflict, NotFound, PermissionDenied, ValidationError
from points_service.timeutil import utcnow


def later(hours=24):
    return (utcnow() + timedelta(hours=hours)).replace(microsecond=0)


def create(organizer, organization, **changes):
    fields = {
        "organization": organization,
        "title": "Clean the park",
        "category": "clean_up",
        "place": "North gate",
        "starts_at": later(),
        "ends_at": later(26),
        "capacity": 2,
    }
    fields.update(changes)
    return activities.create_activity(organizer, **fields)


def test_organizer_publishes_an_activity_and_it_is_audited(build, organizer):
    activity = create(organizer, build.community, urgent=True, description="Bring gloves")

    assert activity.status == "published"
    assert activity.organizer_id == organizer.id
    assert activity.urgent is True
    event = AuditEvent.query.filter_by(action="activity.create").one()
    assert event.target_id == str(activity.id)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": " "}, "title"),
        ({"place": ""}, "place"),
        ({"category": "juggling"}, "category"),
        ({"ends_at": later(23)}, "ends_at"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": "10"}, "capacity"),
        ({"ends_at": later(24 * 40)}, "ends_at"),
    ],
)
def test_an_activity_with_bad_data_is_refused_naming_the_field(build, organizer, changes, field):
    with pytest.raises(ValidationError) as refused:
        create(organizer, build.community, **changes)
    assert refused.value.details["field"] == field


def test_an_organizer_cannot_publish_outside_their_community(build, organizer):
    other = build.tree()["communities"][3]
    with pytest.raises(PermissionDenied):
        create(organizer, other)


def test_sign_up_confirms_until_full_then_puts_people_on_the_waiting_list(build, organizer):
    activity = create(organizer, build.community, capacity=2)
    first, second, third = build.volunteer(), build.volunteer(), build.volunteer()

    statuses = [activities.sign_up(v, activity.id).status for v in (first, second, third)]

    assert statuses == ["confirmed", "confirmed", "waiting"]


def test_signing_up_twice_is_one_sign_up(build, organizer):
    activity = create(organizer, build.community)
    volunteer = build.volunteer()

    one = activities.sign_up(volunteer, activity.id)
    two = activities.sign_up(volunteer, activity.id)

    assert one.id == two.id
    assert activities.activity_for_volunteer(volunteer, activity.id).confirmed == 1


def test_cancelling_a_place_moves_the_first_on_the_waiting_list_up(build, organizer):
    activity = create(organizer, build.community, capacity=1)
    holder, first_waiting, second_waiting = build.volunteer(), build.volunteer(), build.volunteer()
    activities.sign_up(holder, activity.id)
    activities.sign_up(first_waiting, activity.id, now=utcnow())
    activities.sign_up(second_waiting, activity.id, now=utcnow() + timedelta(seconds=1))

    activities.cancel_signup(holder, activity.id)

    assert activities.activity_for_volunteer(first_waiting, activity.id).signup.status == "confirmed"
    assert activities.activity_for_volunteer(second_waiting, activity.id).signup.status == "waiting"
    assert activities.activity_for_volunteer(holder, activity.id).signup.status == "cancelled"


def test_cancelling_from_the_waiting_list_promotes_nobody(build, organizer):
    activity = create(organizer, build.community, capacity=1)
    holder, waiting = build.volunteer(), build.volunteer()
    activities.sign_up(holder, activity.id)
    activities.sign_up(waiting, activity.id)

    activities.cancel_signup(waiting, activity.id)

    assert activities.activity_for_volunteer(holder, activity.id).confirmed == 1
    assert activities.activity_for_volunteer(holder, activity.id).waiting == 0


def test_a_volunteer_who_cancelled_can_sign_up_again_at_the_end_of_the_queue(build, organizer):
    activity = create(organizer, build.community, capacity=1)
    volunteer, other = build.volunteer(), build.volunteer()
    activities.sign_up(volunteer, activity.id)
    activities.cancel_signup(volunteer, activity.id)
    activities.sign_up(other, activity.id)

    again = activities.sign_up(volunteer, activity.id)

    assert again.status == "waiting"


def test_sign_up_is_closed_for_ended_and_cancelled_activities(build, organizer):
    ended = build.activity()
    cancelled = create(organizer, build.community)
    activities.cancel_activity(organizer, cancelled.id)
    volunteer = build.volunteer()

    with pytest.raises(Conflict, match="ended"):
        activities.sign_up(volunteer, ended.id)
    with pytest.raises(Conflict, match="cancelled"):
        activities.sign_up(volunteer, cancelled.id)
    with pytest.raises(NotFound):
        activities.sign_up(volunteer, 999_999)


def test_staff_without_a_volunteer_profile_cannot_sign_up(build, organizer):
    activity = create(organizer, build.community)
    with pytest.raises(PermissionDenied):
        activities.sign_up(organizer, activity.id)


def test_volunteers_see_open_activities_of_their_district_only(build, organizer):
    tree = build.tree()
    near = create(build.organizer(tree["communities"][1]), tree["communities"][1])
    far_organizer = build.organizer(tree["communities"][2])
    create(far_organizer, tree["communities"][2], title="Far away")
    build.activity()  # ended

    listed = activities.list_open_activities(build.volunteer())

    assert [a.id for a in listed] == [near.id]


def test_staff_lists_only_activities_in_their_subtree(build, organizer):
    tree = build.tree()
    mine = create(organizer, tree["communities"][0])
    create(build.organizer(tree["communities"][1]), tree["communities"][1])

    assert [a.id for a in activities.list_activities(organizer)] == [mine.id]
    district_admin = build.staff("admin", tree["districts"][0])
    assert len(activities.list_activities(district_admin)) == 2
