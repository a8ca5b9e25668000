"""Simulating a draft over past records before publishing it."""

from datetime import datetime, timedelta

from points_service.audit.models import AuditEvent
from points_service.rules import service as rules
from points_service.rules.service import RecordFacts, VolunteerHistory
from tests.builders.rules import rules_config

NO_HISTORY = VolunteerHistory(lifetime_minutes=6000, approved_records=5, points_same_day=0, points_same_month=0)


def facts(build, record_id, volunteer_id, category, start, hours, current_points, history=NO_HISTORY):
    return RecordFacts(
        record_id=record_id,
        volunteer_id=volunteer_id,
        organization=build.community,
        category=category,
        started_at=start,
        ended_at=start + timedelta(hours=hours),
        urgent=False,
        history=history,
        current_points=current_points,
    )


TUESDAY = datetime(2026, 3, 10, 1, 0)  # 09:00 in Shanghai


def double_patrol():
    return rules_config(
        rates={"patrol": {"points": 20, "per_minutes": 60}, "elderly_care": {"points": 10, "per_minutes": 60}}
    )


def test_points_before_and_after_per_category_and_in_total(build):
    build.rule_set()
    draft = build.rule_set(config=double_patrol(), publish=False)
    simulation = rules.simulate_rule_set(
        draft,
        [
            facts(build, 1, 100, "patrol", TUESDAY, 2, 20),
            facts(build, 2, 100, "elderly_care", TUESDAY + timedelta(days=1), 3, 30),
            facts(build, 3, 200, "patrol", TUESDAY, 1, 10),
        ],
    )
    assert (simulation.records, simulation.points_before, simulation.points_after) == (3, 60, 90)
    assert simulation.difference == 30
    assert [(c.category, c.records, c.points_before, c.points_after) for c in simulation.categories] == [
        ("elderly_care", 1, 30, 30),
        ("patrol", 2, 30, 60),
    ]
    assert simulation.rule_set_version == draft.version


def test_the_most_affected_volunteers_come_first(build):
    draft = build.rule_set(config=double_patrol(), publish=False)
    records = [facts(build, n, n, "patrol", TUESDAY, n, 10 * n) for n in range(1, 6)]
    simulation = rules.simulate_rule_set(draft, records, top=3)
    assert [(v.volunteer_id, v.difference) for v in simulation.most_affected] == [(5, 50), (4, 40), (3, 30)]


def test_a_category_the_draft_does_not_rate_is_reported_and_counts_zero(build):
    draft = build.rule_set(config=rules_config(rates={"patrol": {"points": 10, "per_minutes": 60}}), publish=False)
    simulation = rules.simulate_rule_set(draft, [facts(build, 1, 1, "clean_up", TUESDAY, 2, 20)])
    assert simulation.unrated_categories == ["clean_up"]
    assert simulation.points_after == 0


def test_day_caps_see_the_drafts_points_of_earlier_records_that_day(build):
    capped = rules_config(double_patrol(), caps={"per_day": 50})
    draft = build.rule_set(config=capped, publish=False)
    # Under the old table each record got 20 points; the second knew of 20 earlier that day.
    first = facts(build, 1, 7, "patrol", TUESDAY, 2, 20)
    second = facts(
        build,
        2,
        7,
        "patrol",
        TUESDAY + timedelta(hours=3),
        2,
        20,
        history=VolunteerHistory(lifetime_minutes=6120, approved_records=6, points_same_day=20, points_same_month=20),
    )
    simulation = rules.simulate_rule_set(draft, [second, first])
    # The draft gives 40 for the first, so only 10 more fit under the cap of 50 that day.
    assert simulation.points_after == 50


def test_simulation_writes_nothing(build):
    draft = build.rule_set(config=double_patrol(), publish=False)
    events = AuditEvent.query.count()
    rules.simulate_rule_set(draft, [facts(build, 1, 1, "patrol", TUESDAY, 2, 20)])
    assert AuditEvent.query.count() == events
    assert draft.status == "draft"


def test_an_empty_simulation(build):
    draft = build.rule_set(publish=False)
    simulation = rules.simulate_rule_set(draft, [])
    assert (simulation.records, simulation.points_before, simulation.points_after) == (0, 0, 0)
    assert simulation.most_affected == []
