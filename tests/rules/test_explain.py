"""Awards explained in plain words, step by step."""

import json
from datetime import datetime

from flask_babel import force_locale

from points_service.rules import service as rules
from points_service.rules.service import VolunteerHistory

FIRST_TIME = VolunteerHistory(lifetime_minutes=0, approved_records=0, points_same_day=0, points_same_month=0)


def national_day_patrol(build, **kwargs):
    build.city_rules()
    return rules.rate_service(
        organization=build.community,
        category="patrol",
        started_at=datetime(2026, 10, 1, 1, 0),  # 09:00 in Shanghai
        ended_at=datetime(2026, 10, 1, 3, 20),
        urgent=False,
        history=FIRST_TIME,
        **kwargs,
    )


def test_every_step_is_explained_and_the_total_matches(build):
    award = national_day_patrol(build)
    with force_locale("en"):
        lines = rules.explain_award(award.breakdown)
    assert lines == [
        f"Rule table “{award.breakdown[0]['name']}”, version 1.",
        "Neighbourhood patrol: 140 minutes of service count as 120 minutes (rounded down to a multiple of 30 minutes).",
        "120 minutes at 10 points per 60 minutes: 20 points.",
        "Multiplier for public holiday ×1.5: +10 points.",
        "Points for the hours of service: 30 points.",
        "Bonus for a first service: +20 points.",
        "Total: 50 points.",
    ]
    assert award.points == 50


def test_caps_night_and_milestones_are_explained(build):
    build.city_rules()
    history = VolunteerHistory(
        lifetime_minutes=100 * 60 - 60, approved_records=9, points_same_day=120, points_same_month=0
    )
    award = rules.rate_service(
        organization=build.community,
        category="patrol",
        started_at=datetime(2026, 3, 9, 12, 0),  # Monday 20:00 to midnight in Shanghai
        ended_at=datetime(2026, 3, 9, 16, 0),
        urgent=False,
        history=history,
    )
    with force_locale("en"):
        lines = rules.explain_award(award.breakdown)
    assert "120 minutes in the night window 22:00–06:00 (counted as 120) at ×1.2 instead of ×1: +4 points." in lines
    assert "Limit of 150 points per day (120 points already that day): −14 points." in lines
    assert "Bonus for reaching 100 hours of service: +50 points." in lines
    assert lines[-1] == f"Total: {award.points} points." == "Total: 80 points."


def test_the_explanation_follows_the_language(build):
    award = national_day_patrol(build)
    with force_locale("zh_CN"):
        lines = rules.explain_award(award.breakdown)
    assert len(lines) == 7
    assert "治安巡逻" in lines[1]


def test_one_point_is_singular(build):
    with force_locale("en"):
        assert rules.explain_award([{"step": "bonus", "kind": "first_service", "points": 1}]) == [
            "Bonus for a first service: +1 point.",
            "Total: 1 point.",
        ]


def test_the_breakdown_is_plain_json(build):
    award = national_day_patrol(build)
    assert json.loads(json.dumps(award.breakdown)) == award.breakdown
    assert sum(step["points"] for step in award.breakdown) == award.points
