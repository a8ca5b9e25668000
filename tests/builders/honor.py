"""Test-data builders for honor rolls (a mixin of tests.builders.Builder)."""

from datetime import date

from points_service.changes.service import approve_change
from points_service.honor import service as honor

from .rules import CATEGORIES, rules_config

# Patrol pays three times as much per hour, so hours and points rank differently.
HONOR_RATES = {code: {"points": 10, "per_minutes": 60} for code, _en, _zh in CATEGORIES} | {
    "patrol": {"points": 30, "per_minutes": 60}
}


class HonorBuilder:
    def honor_rules(self):
        """The city's rule table for honor tests: 10 points an hour, 30 for patrol."""
        if getattr(self, "_service_rules", None) is None:
            self._service_rules = self.rule_set(config=rules_config(rates=HONOR_RATES))
        return self._service_rules

    def honor_roll(
        self,
        organization=None,
        *,
        period_kind="month",
        period_start=date(2026, 3, 1),
        metric="hours",
        size=10,
        publish=True,
        actor=None,
    ):
        """A roll of ``organization`` (the city), published unless ``publish=False``: asked by
        ``actor`` (a new administrator of the organization if None), approved by another."""
        organization = organization or self.tree()["city"]
        roll = honor.compute_honor_roll(actor, organization, period_kind, period_start, metric, size)
        if not publish:
            return roll
        request = honor.request_honor_roll_publication(actor or self.staff("admin", organization), roll.id)
        approve_change(self.staff("admin", organization), request.id)
        return honor.get_honor_roll(roll.id)
