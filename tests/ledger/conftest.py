import pytest


@pytest.fixture
def account(build):
    """The points account of a new volunteer with no points."""
    return build.account(build.volunteer())
