"""The card payment tests run against the shared Stripe mock (``tests/stripe_mock.py``)."""

from tests.stripe_mock import assert_verified, stripe_mock, stripe_mock_process  # noqa: F401 - fixtures
