import pytest

from tests.api.isolation import isolated_requests  # noqa: F401  (a fixture)


@pytest.fixture(autouse=True)
def _fresh_g_per_request(isolated_requests):  # noqa: F811
    """Every API test sends requests the way production sees them (see tests.api.isolation)."""
