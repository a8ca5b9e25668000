"""Test-data builders for the api domain (a mixin of tests.builders.Builder)."""


class ApiBuilder:
    pass
