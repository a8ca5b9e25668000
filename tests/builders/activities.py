"""Test-data builders for the activities domain (a mixin of tests.builders.Builder)."""


class ActivitiesBuilder:
    pass
