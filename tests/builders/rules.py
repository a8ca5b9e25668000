"""Test-data builders for the rules domain (a mixin of tests.builders.Builder)."""

import copy
from datetime import date

from points_service.rules import service as rules

CATEGORIES = [
    ("elderly_care", "Elderly care", "助老服务"),
    ("patrol", "Neighbourhood patrol", "治安巡逻"),
    ("clean_up", "Clean-up", "环境清洁"),
]

# Plain on purpose: 10 points an hour, whole minutes, nothing else unless a test adds it.
PLAIN_RULES = {
    "rates": {code: {"points": 10, "per_minutes": 60} for code, _en, _zh in CATEGORIES},
    "multipliers": {"stacking": "max"},
    "caps": {},
    "bonuses": {"first_service": 0, "milestones": []},
    "expiry": {"policy": "never"},
}

CITY_RULES = {
    "rates": {
        code: {"points": 10, "per_minutes": 60, "minimum_minutes": 30, "rounding": {"mode": "down", "step_minutes": 30}}
        for code, _en, _zh in CATEGORIES
    },
    "multipliers": {
        "weekend_percent": 120,
        "holiday_percent": 150,
        "night_percent": 120,
        "night_start": "22:00",
        "night_end": "06:00",
        "urgent_percent": 150,
        "stacking": "max",
    },
    "caps": {"per_record": 100, "per_day": 150, "per_month": 1000},
    "bonuses": {"first_service": 20, "milestones": [{"hours": 100, "points": 50}, {"hours": 300, "points": 100}]},
    "expiry": {"policy": "end_of_next_year"},
    "star_thresholds_hours": [100, 300, 600, 1000, 1500],
}


def rules_config(base=None, **sections):
    """A copy of ``base`` (PLAIN_RULES) with whole sections replaced: rules_config(caps={...})."""
    config = copy.deepcopy(base if base is not None else PLAIN_RULES)
    config.update(copy.deepcopy(sections))
    return config


class RulesBuilder:
    def categories(self):
        """The test categories, created once: {code: ServiceCategory}."""
        existing = {category.code: category for category in rules.list_categories(active_only=False)}
        for code, name_en, name_zh in CATEGORIES:
            if code not in existing:
                existing[code] = rules.create_category(None, code, name_en, name_zh)
        return existing

    def rule_set(self, organization=None, config=None, *, effective_from=date(2020, 1, 1), publish=True, name=None):
        """A rule set (published unless ``publish=False``) on ``organization`` (the city)."""
        self.categories()
        organization = organization or self.tree()["city"]
        rule_set = rules.create_rule_set(
            None,
            organization,
            config if config is not None else rules_config(),
            effective_from=effective_from,
            name=name,
        )
        if publish:
            rule_set = rules.publish_rule_set(None, rule_set)
        return rule_set

    def city_rules(self, organization=None, **kwargs):
        """The demo-like city table: rounding to 30 min, multipliers, caps, bonuses, expiry."""
        return self.rule_set(organization, rules_config(CITY_RULES), **kwargs)

    def rules_admin(self, organization=None):
        """A user who may manage rules on ``organization`` (the city)."""
        return self.staff("admin", organization or self.tree()["city"])
