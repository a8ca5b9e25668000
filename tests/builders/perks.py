"""Test-data builders for the perks domain (a mixin of tests.builders.Builder)."""


class PerksBuilder:
    pass
