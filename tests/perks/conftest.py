import pytest

from tests.builders.perks import stars


@pytest.fixture
def district(build):
    """The first district: the demo counter's location and where default test perks are honored."""
    return build.tree()["districts"][0]


@pytest.fixture
def clerk(build, district):
    return build.counter_clerk(district)


@pytest.fixture
def no_stars():
    return stars(0)
