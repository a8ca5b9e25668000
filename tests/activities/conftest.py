import pytest


@pytest.fixture
def organizer(build):
    """The organizer of the first community (who creates the builder's activities)."""
    build.service_rules()
    return build.organizer()
