"""A Stripe mock (``localstripe``) for the card payment tests (``tests/payments`` and the
browser's card payment test import its fixtures).

One mock process serves the session; each test starts from an empty mock (its data is
flushed) and finds the app pointed at it. A test may stop the mock to prove what happens
when Stripe cannot be reached; the next test starts a new one.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import stripe

from points_service.checks import run_all_checks

SECRET_KEY = "sk_test_volunteer_points"
PUBLISHABLE_KEY = "pk_test_volunteer_points"
WEBHOOK_SECRET = "whsec_test_volunteer_points"
START_TIMEOUT_SECONDS = 30
SUCCEEDS = "4242424242424242"
DECLINED = "4000000000000341"
NEEDS_AUTHENTICATION = "4000002760003184"


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class StripeMock:
    """The ``localstripe`` process: started on a free port, stopped by its process id."""

    def __init__(self):
        self.process = None
        self.port = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def script_url(self):
        """The mock's own Stripe.js (a fake card form that talks to the mock)."""
        return f"{self.url}/js.stripe.com/v3/"

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def start(self):
        self.port = _free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localstripe", "--port", str(self.port), "--from-scratch"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("localstripe did not start")
            time.sleep(0.05)  # polling the port, not waiting a fixed time

    def stop(self):
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        self.process = None

    def flush(self):
        """Forget every object (the mock's own configuration endpoint, not Stripe's API)."""
        address = f"{self.url}/_config/data"
        request = urllib.request.Request(address, method="DELETE")  # noqa: S310 - the local mock's address
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310
            pass

    def client(self):
        return stripe.StripeClient(SECRET_KEY, base_addresses={"api": self.url}, max_network_retries=0)

    def card(self, number, exp_month=12, exp_year=2034, cvc="123"):
        """A PaymentMethod for a test card, as Stripe.js would create it in the browser."""
        params = {"type": "card", "card": {"number": number, "exp_month": exp_month, "exp_year": exp_year, "cvc": cvc}}
        return self.client().v1.payment_methods.create(params).id

    def payment_intents(self):
        return list(self.client().v1.payment_intents.list({"limit": 100}).auto_paging_iter())

    def authenticate(self, payment_intent_id, *, success):
        """The card holder's answer to their bank's authentication step (the mock's own call)."""
        intent = self.client().v1.payment_intents.retrieve(payment_intent_id)
        self.client().raw_request(
            "post",
            f"/v1/payment_intents/{payment_intent_id}/_authenticate",
            client_secret=intent.client_secret,
            success="true" if success else "false",
        )


@pytest.fixture(scope="session")
def stripe_mock_process():
    mock = StripeMock()
    yield mock
    mock.stop()


@pytest.fixture
def stripe_mock(stripe_mock_process, app):
    """A running, empty mock, and the app configured to pay through it."""
    if not stripe_mock_process.running:
        stripe_mock_process.start()
    stripe_mock_process.flush()
    app.config.update(
        STRIPE_SECRET_KEY=SECRET_KEY,
        STRIPE_API_BASE=stripe_mock_process.url,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_PUBLISHABLE_KEY=PUBLISHABLE_KEY,
        STRIPE_JS_URL=stripe_mock_process.script_url,
    )
    return stripe_mock_process


@pytest.fixture
def assert_verified():
    """After a flow: the checks ``points verify`` runs find nothing."""

    def check():
        report = run_all_checks()
        assert report.discrepancies == []

    return check
