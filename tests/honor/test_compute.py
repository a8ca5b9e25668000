"""compute_honor_roll: one aggregate query over approved records of a subtree and a local period."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from points_service.activities import service as activities
from points_service.audit.models import AuditEvent
from points_service.errors import PermissionDenied, ValidationError
from points_service.extensions import db
from points_service.honor import service as honor
from points_service.honor.models import HonorRoll, HonorRollEntry

from .conftest import APRIL_FIRST_UTC, MARCH_FIRST_UTC, opt_out, serve

MARCH = date(2026, 3, 1)


def _ranking(roll):
    return [(entry.display_name, entry.value) for entry in roll.entries]


def test_hours_rank_credited_minutes_of_the_subtree_highest_first(build, tree):
    inside, sibling, outside = tree["communities"][0], tree["communities"][1], tree["communities"][2]
    first = build.volunteer(inside, name="Alpha")
    second = build.volunteer(sibling, name="Bravo")
    stranger = build.volunteer(outside, name="Charlie")
    serve(build, first, MARCH_FIRST_UTC + timedelta(days=2), minutes=120)
    serve(build, second, MARCH_FIRST_UTC + timedelta(days=3), minutes=60, organization=sibling)
    serve(build, second, MARCH_FIRST_UTC + timedelta(days=4), minutes=30, organization=sibling)
    serve(build, stranger, MARCH_FIRST_UTC + timedelta(days=2), minutes=600, organization=outside)

    roll = honor.compute_honor_roll(None, tree["districts"][0], "month", MARCH, "hours", 10)

    assert roll.status == "draft"
    assert _ranking(roll) == [("A****", 120), ("B****", 90)]
    assert [entry.home_community for entry in roll.entries] == [inside.name, sibling.name]
    city_roll = honor.compute_honor_roll(None, tree["city"], "month", MARCH, "hours", 10)
    assert _ranking(city_roll)[0] == ("C******", 600)


def test_points_metric_ranks_by_the_points_the_records_hold(build, tree):
    long_care = build.volunteer(name="Long")
    short_patrol = build.volunteer(name="Short")
    serve(build, long_care, MARCH_FIRST_UTC + timedelta(days=1), minutes=120)  # 20 points
    serve(build, short_patrol, MARCH_FIRST_UTC + timedelta(days=1), minutes=60, category="patrol")  # 30 points

    hours = honor.compute_honor_roll(None, tree["city"], "month", MARCH, "hours", 10)
    points = honor.compute_honor_roll(None, tree["city"], "month", MARCH, "points", 10)

    assert _ranking(hours) == [("L***", 120), ("S****", 60)]
    assert _ranking(points) == [("S****", 30), ("L***", 20)]


def test_the_period_is_the_local_month_in_asia_shanghai(build, tree):
    volunteer = build.volunteer(name="Edge")
    serve(build, volunteer, MARCH_FIRST_UTC - timedelta(minutes=90), minutes=60)  # 28 Feb 22:30 local
    serve(build, volunteer, MARCH_FIRST_UTC, minutes=7)  # 1 March 00:00 local: counts
    serve(build, volunteer, APRIL_FIRST_UTC - timedelta(minutes=11), minutes=11)  # 31 March 23:49 local: counts
    serve(build, volunteer, APRIL_FIRST_UTC, minutes=60)  # 1 April 00:00 local

    march = honor.compute_honor_roll(None, tree["city"], "month", MARCH, "hours", 10)
    quarter = honor.compute_honor_roll(None, tree["city"], "quarter", date(2026, 1, 1), "hours", 10)
    year = honor.compute_honor_roll(None, tree["city"], "year", date(2026, 1, 1), "hours", 10)

    assert _ranking(march) == [("E***", 18)]
    assert _ranking(quarter) == [("E***", 78)]
    assert _ranking(year) == [("E***", 138)]


def test_only_approved_records_count(build, tree):
    volunteer = build.volunteer(name="Pending")
    build.record(volunteer, started_at=MARCH_FIRST_UTC + timedelta(days=1))
    rejected = build.record(volunteer, started_at=MARCH_FIRST_UTC + timedelta(days=2))
    activities.reject_record(build.approver(), rejected.id, reason="not seen")

    roll = honor.compute_honor_roll(None, tree["city"], "month", MARCH, "hours", 10)

    assert roll.entries == []


def test_volunteers_who_opted_out_never_appear(build, tree):
    shy = build.volunteer(name="Shy")
    listed = build.volunteer(name="Listed")
    serve(build, shy, MARCH_FIRST_UTC + timedelta(days=1), minutes=600)
    serve(build, listed, MARCH_FIRST_UTC + timedelta(days=1), minutes=60)
    opt_out(shy)

    roll = honor.compute_honor_roll(None, tree["city"], "month", MARCH, "hours", 10)

    assert _ranking(roll) == [("L*****", 60)]
    assert shy.volunteer.id not in {entry.volunteer_id for entry in roll.entries}


def test_ties_go_to_who_got_there_first_then_to_the_lower_profile_id(build, tree):
    late = build.volunteer(name="Late")
    early = build.volunteer(name="Early")
    twin_a = build.volunteer(name="TwinA")
    twin_b = build.volunteer(name="TwinB")
    serve(build, late, MARCH_FIRST_UTC + timedelta(days=5), minutes=60)
    serve(build, early, MARCH_FIRST_UTC + timedelta(days=1), minutes=60)
    serve(build, twin_b, MARCH_FIRST_UTC + timedelta(days=3), minutes=60)
    serve(build, twin_a, MARCH_FIRST_UTC + timedelta(days=3), minutes=60)

    roll = honor.compute_honor_roll(None, tree["city"], "month", MARCH, "hours", 10)
    again = honor.compute_honor_roll(None, tree["city"], "month", MARCH, "hours", 10)

    expected = [early.volunteer.id, twin_a.volunteer.id, twin_b.volunteer.id, late.volunteer.id]
    assert [entry.volunteer_id for entry in roll.entries] == expected
    assert [entry.volunteer_id for entry in again.entries] == expected


def test_size_limits_the_roll(build, tree):
    for number in range(5):
        serve(build, build.volunteer(name=f"V{number}"), MARCH_FIRST_UTC + timedelta(days=1), minutes=10 + number)

    roll = honor.compute_honor_roll(None, tree["city"], "month", MARCH, "hours", 3)

    assert [entry.value for entry in roll.entries] == [14, 13, 12]
    assert [entry.rank for entry in roll.entries] == [1, 2, 3]


def test_recomputing_a_draft_replaces_its_entries(build, tree):
    first = build.volunteer(name="First")
    serve(build, first, MARCH_FIRST_UTC + timedelta(days=1), minutes=60)
    roll = honor.compute_honor_roll(None, tree["city"], "month", MARCH, "hours", 10)
    newcomer = build.volunteer(name="Newcomer")
    serve(build, newcomer, MARCH_FIRST_UTC + timedelta(days=2), minutes=90)

    again = honor.compute_honor_roll(None, tree["city"], "month", MARCH, "hours", 5)

    assert again.id == roll.id
    assert again.size == 5
    assert _ranking(again) == [("N*******", 90), ("F****", 60)]
    assert (roll.version, again.version) == (2, 2)
    assert db.session.execute(select(func.count(HonorRollEntry.id))).scalar_one() == 2
    actions = db.session.execute(select(AuditEvent.action).where(AuditEvent.target_type == "honor_roll")).scalars()
    assert list(actions) == ["honor.compute", "honor.compute"]


def test_full_names_only_when_the_roll_says_so(build, tree):
    serve(build, build.volunteer(name="张三丰"), MARCH_FIRST_UTC + timedelta(days=1), minutes=60)

    masked = honor.compute_honor_roll(None, tree["city"], "month", MARCH, "hours", 10)
    full = honor.compute_honor_roll(None, tree["city"], "month", MARCH, "points", 10, name_style="full")

    assert masked.entries[0].display_name == "张**"
    assert full.entries[0].display_name == "张三丰"


def test_admins_of_the_subtree_compute_and_publish(build, tree):
    district = tree["districts"][0]
    roll = build.honor_roll(district, actor=build.staff("admin", district))
    assert roll.status == "published"
    city_admin = build.staff("admin", tree["city"])
    assert honor.compute_honor_roll(city_admin, district, "month", MARCH, "points", 10).status == "draft"


@pytest.mark.parametrize("who", ["outside_admin", "organizer", "counter", "volunteer"])
def test_others_may_neither_compute_nor_publish(build, tree, who):
    district = tree["districts"][0]
    actor = {
        "outside_admin": lambda: build.staff("admin", tree["districts"][1]),
        "organizer": lambda: build.staff("organizer", district),
        "counter": lambda: build.staff("counter", district),
        "volunteer": lambda: build.volunteer(),
    }[who]()
    draft = build.honor_roll(district, publish=False)

    with pytest.raises(PermissionDenied):
        honor.compute_honor_roll(actor, district, "month", date(2026, 2, 1), "hours", 10)
    with pytest.raises(PermissionDenied):
        honor.request_honor_roll_publication(actor, draft.id)
    with pytest.raises(PermissionDenied):
        honor.compute_honor_roll(actor, tree["city"], "month", date(2026, 2, 1), "hours", 10)

    db.session.expire_all()
    assert db.session.execute(select(func.count(HonorRoll.id))).scalar_one() == 1
    assert db.session.get(HonorRoll, draft.id).status == "draft"


def _first_of_next_month():
    from points_service.timeutil import to_local, utcnow

    today = to_local(utcnow(), "Asia/Shanghai").date()
    return (today.replace(day=1) + timedelta(days=32)).replace(day=1)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        (("week", MARCH, "hours", 10), "period_kind"),
        (("month", MARCH, "minutes", 10), "metric"),
        (("month", MARCH, "hours", 0), "size"),
        (("month", MARCH, "hours", 101), "size"),
        (("month", MARCH, "hours", "10"), "size"),
        (("month", MARCH, "hours", True), "size"),
        (("month", date(2026, 3, 2), "hours", 10), "period_start"),
        (("quarter", date(2026, 2, 1), "hours", 10), "period_start"),
        (("year", date(2026, 4, 1), "hours", 10), "period_start"),
        (("month", "2026-13-01", "hours", 10), "period_start"),
        (("month", None, "hours", 10), "period_start"),
        (("month", _first_of_next_month(), "hours", 10), "period_start"),
    ],
)
def test_bad_input_is_refused_with_a_translated_message_and_nothing_written(build, tree, arguments, field):
    serve(build, build.volunteer(), MARCH_FIRST_UTC + timedelta(days=1))
    admin = build.staff("admin", tree["city"])
    events_before = db.session.execute(select(func.count(AuditEvent.id))).scalar_one()

    with pytest.raises(ValidationError) as refused:
        honor.compute_honor_roll(admin, tree["city"], *arguments)

    assert refused.value.details["field"] == field
    assert refused.value.render_message()
    assert db.session.execute(select(func.count(HonorRoll.id))).scalar_one() == 0
    assert db.session.execute(select(func.count(AuditEvent.id))).scalar_one() == events_before


def test_a_period_start_in_text_is_accepted(build, tree):
    roll = honor.compute_honor_roll(None, tree["city"], "quarter", "2026-01-01", "points", 10)
    assert roll.period_start == date(2026, 1, 1)
