"""The honor ranking read off the honor figures equals adding up the records, ties and all."""

import random
from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import select

from points_service.activities import service as activities
from points_service.activities.models import ServiceRecord
from points_service.extensions import db
from points_service.honor import service as honor
from points_service.reports.models import HonorMonth

from .conftest import MARCH_FIRST_UTC, opt_out, serve

MARCH = date(2026, 3, 1)
JANUARY_FIRST_UTC = MARCH_FIRST_UTC - timedelta(days=59)  # 1 January 2026, 00:00 in Asia/Shanghai


def _ids(roll):
    return [entry.volunteer_id for entry in roll.entries]


def test_the_last_place_goes_to_who_got_there_first_among_everyone_tied_for_it(build, tree):
    leader = build.volunteer(name="Leader")
    tied = [build.volunteer(name=f"Tied{number}") for number in range(3)]
    serve(build, leader, MARCH_FIRST_UTC + timedelta(days=1), minutes=120)
    for day, volunteer in zip((9, 6, 3), tied, strict=True):  # the last one made finished first
        serve(build, volunteer, MARCH_FIRST_UTC + timedelta(days=day), minutes=60)

    roll = honor.compute_honor_roll(None, tree["city"], "month", MARCH, "hours", 2)

    assert _ids(roll) == [leader.volunteer.id, tied[2].volunteer.id]
    assert [entry.value for entry in roll.entries] == [120, 60]


def test_a_quarter_adds_up_its_three_months(build, tree):
    steady = build.volunteer(name="Steady")
    sprinter = build.volunteer(name="Sprinter")
    serve(build, steady, JANUARY_FIRST_UTC + timedelta(days=3), minutes=60)
    serve(build, steady, MARCH_FIRST_UTC - timedelta(days=10), minutes=60)  # February
    serve(build, sprinter, MARCH_FIRST_UTC + timedelta(days=3), minutes=100)

    quarter = honor.compute_honor_roll(None, tree["city"], "quarter", date(2026, 1, 1), "hours", 10)
    march = honor.compute_honor_roll(None, tree["city"], "month", MARCH, "hours", 10)

    assert [(entry.volunteer_id, entry.value) for entry in quarter.entries] == [
        (steady.volunteer.id, 120),
        (sprinter.volunteer.id, 100),
    ]
    assert _ids(march) == [sprinter.volunteer.id]


def test_a_reversed_record_leaves_the_ranking(build, tree):
    kept = build.volunteer(name="Kept")
    reversed_ = build.volunteer(name="Reversed")
    serve(build, kept, MARCH_FIRST_UTC + timedelta(days=1), minutes=30)
    wrong = serve(build, reversed_, MARCH_FIRST_UTC + timedelta(days=1), minutes=300)
    activities.reverse_record(build.staff("admin", tree["city"]), wrong.id, "entered for the wrong person")

    roll = honor.compute_honor_roll(None, tree["city"], "month", MARCH, "hours", 10)

    assert _ids(roll) == [kept.volunteer.id]


def _added_up(organization, metric, months, leave_out=()):
    """The ranking computed from the records one by one (the definition)."""
    totals, reached = defaultdict(int), {}
    records = db.session.execute(select(ServiceRecord).where(ServiceRecord.status == "approved")).scalars()
    for record in records:
        volunteer = record.volunteer
        if not organization.contains(record.organization) or volunteer.public_listing_opt_out:
            continue
        local = record.started_at + timedelta(hours=8)  # Asia/Shanghai has no summer time
        if local.date().replace(day=1) not in months or volunteer.id in leave_out:
            continue
        totals[volunteer.id] += record.verified_minutes if metric == "hours" else record.points
        reached[volunteer.id] = max(reached.get(volunteer.id, record.ended_at), record.ended_at)
    ranked = sorted((-value, reached[v], v) for v, value in totals.items() if value > 0)
    return [(volunteer_id, -value) for value, _reached, volunteer_id in ranked]


def test_random_service_ranks_as_adding_up_the_records_says(build, tree):
    rng = random.Random(20261203)
    places = [*tree["communities"], tree["districts"][0], tree["city"]]
    people = [build.volunteer(rng.choice(tree["communities"]), name=f"Random{number}") for number in range(24)]
    for person in people:
        for day in rng.sample(range(40), rng.randint(1, 4)):  # one record a day: never overlapping
            serve(
                build,
                person,
                JANUARY_FIRST_UTC + timedelta(days=30 + day, hours=rng.randint(0, 10)),
                minutes=rng.choice((30, 60, 90)),  # many ties
                category=rng.choice(("elderly_care", "patrol")),
                organization=rng.choice(tree["communities"]),
            )
    opt_out(people[0])

    for place in places:
        for metric in ("hours", "points"):
            for kind, start, months in (
                ("month", date(2026, 2, 1), [date(2026, 2, 1)]),
                ("month", MARCH, [MARCH]),
                ("quarter", date(2026, 1, 1), [date(2026, 1, 1), date(2026, 2, 1), MARCH]),
            ):
                roll = honor.compute_honor_roll(None, place, kind, start, metric, 5)
                expected = _added_up(place, metric, months)[:5]
                assert [(entry.volunteer_id, entry.value) for entry in roll.entries] == expected, (place, metric, kind)
    assert db.session.execute(select(HonorMonth)).first() is not None
