"""Builders for test data, in one place: one mixin per domain, combined here."""

from .activities import ActivitiesBuilder
from .api import ApiBuilder
from .changes import ChangesBuilder
from .core import PASSWORD, CoreBuilder
from .honor import HonorBuilder
from .perks import PerksBuilder
from .rules import RulesBuilder

__all__ = ["PASSWORD", "Builder"]


class Builder(CoreBuilder, RulesBuilder, ActivitiesBuilder, PerksBuilder, ApiBuilder, HonorBuilder, ChangesBuilder):
    """``build`` fixture: ``build.volunteer(points=100)``, ``build.staff("counter")`` ..."""
