"""The counter shows the star level of the rule set in force: the star thresholds are
kept per process and read again after any publication or retirement, so a change is
seen by the very next lookup (the check rides on the lookup's one member query)."""

from datetime import date

import pytest
from sqlalchemy import update

from points_service.accounts.models import VolunteerProfile
from points_service.extensions import db
from points_service.rules import service as rules
from tests.builders.rules import rules_config


@pytest.fixture
def member(build):
    volunteer = build.volunteer(points=10)
    db.session.execute(
        update(VolunteerProfile).where(VolunteerProfile.id == volunteer.volunteer.id).values(verified_minutes=150 * 60)
    )
    db.session.commit()
    return volunteer.volunteer.member_no


def _stars(client, headers, member_no):
    response = client.get(f"/api/v1/members/{member_no}", headers=headers)
    assert response.status_code == 200, response.json
    return response.json["level"]["stars"]


def test_a_published_or_retired_star_table_counts_at_the_next_lookup(client, build, headers, member, district):
    assert _stars(client, headers, member) == 1  # national: 100 / 300 / ... hours

    city = build.rule_set(config=rules_config(star_thresholds_hours=[10, 20, 30, 40, 50]))
    assert _stars(client, headers, member) == 5

    nearer = build.rule_set(district, rules_config(star_thresholds_hours=[100, 120, 200, 400, 800]))
    assert _stars(client, headers, member) == 2  # the nearest node's table wins

    rules.retire_rule_set(None, nearer)
    assert _stars(client, headers, member) == 5

    build.rule_set(
        config=rules_config(star_thresholds_hours=[140, 160, 180, 190, 200]), effective_from=date(2021, 1, 1)
    )
    assert _stars(client, headers, member) == 1  # the later city table

    rules.retire_rule_set(None, city)
    assert _stars(client, headers, member) == 1


def test_a_star_table_effective_tomorrow_does_not_count_today(client, build, headers, member):
    build.rule_set(config=rules_config(star_thresholds_hours=[10, 20, 30, 40, 50]), effective_from=date(2100, 1, 1))

    assert _stars(client, headers, member) == 1
