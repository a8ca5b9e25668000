"""Test-data builders for the rules domain (a mixin of tests.builders.Builder)."""


class RulesBuilder:
    pass
