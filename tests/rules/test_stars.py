"""Star levels by lifetime verified hours."""

from datetime import date

import pytest

from points_service.rules import service as rules
from tests.builders.rules import rules_config

HOUR = 60


@pytest.mark.parametrize(
    ("minutes", "stars", "hours", "next_stars", "next_threshold"),
    [
        (0, 0, 0, 1, 100),
        (100 * HOUR - 1, 0, 99, 1, 100),
        (100 * HOUR, 1, 100, 2, 300),
        (300 * HOUR, 2, 300, 3, 600),
        (600 * HOUR, 3, 600, 4, 1000),
        (1000 * HOUR, 4, 1000, 5, 1500),
        (1500 * HOUR - 1, 4, 1499, 5, 1500),
        (1500 * HOUR, 5, 1500, None, None),
        (9000 * HOUR, 5, 9000, None, None),
    ],
)
def test_national_star_levels_at_the_thresholds_when_no_rule_set_applies(
    build, minutes, stars, hours, next_stars, next_threshold
):
    level = rules.star_level(minutes, build.community)
    assert level == rules.StarLevel(
        stars=stars, hours=hours, next_stars=next_stars, next_threshold_hours=next_threshold
    )


def test_the_applicable_rule_set_sets_the_thresholds(build):
    beijing = rules_config(star_thresholds_hours=[100, 200, 500, 800, 1000])
    build.rule_set(build.tree()["districts"][0], beijing, effective_from=date(2020, 1, 1))
    assert rules.star_level(200 * HOUR, build.community).stars == 2
    assert rules.star_level(200 * HOUR, build.tree()["communities"][2]).stars == 1
    assert rules.star_level(1000 * HOUR, build.community).next_stars is None


def test_fewer_than_five_levels_can_be_configured(build):
    build.rule_set(config=rules_config(star_thresholds_hours=[50, 150]))
    level = rules.star_level(160 * HOUR, build.community)
    assert (level.stars, level.next_stars, level.next_threshold_hours) == (2, None, None)


def test_many_volunteers_share_one_lookup_of_thresholds(build):
    thresholds = rules.star_thresholds(build.community)
    assert thresholds == [100, 300, 600, 1000, 1500]
    assert [rules.star_level(h * HOUR, None, thresholds).stars for h in (0, 150, 700)] == [0, 1, 3]


def test_negative_minutes_count_as_none(build):
    assert rules.star_level(-5, None).stars == 0
