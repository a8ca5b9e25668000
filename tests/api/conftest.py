"""What the API tests of a counter share: a district and a counter clerk's token for it.

A test module that needs another counter or token defines its own ``district`` or
``headers`` fixture, which takes precedence over these."""

import pytest


@pytest.fixture
def district(build):
    return build.tree()["districts"][0]


@pytest.fixture
def headers(build, district):
    return build.bearer(build.counter_clerk(district), role="counter", organization=district)
