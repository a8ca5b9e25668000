"""`make run` on a fresh instance directory serves a login page that chromium opens."""

import os
import selectors
import signal
import socket
import subprocess
import time

import pytest

from tests.conftest import ON_POSTGRESQL

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(ON_POSTGRESQL, reason="make run serves the embedded SQLite default"),
]

PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_line(process, needle, timeout):
    """Read the server's output until ``needle`` appears; return everything read."""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        if not selector.select(timeout=deadline - time.monotonic()):
            break
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return "".join(seen)
    raise AssertionError("server did not start:\n" + "".join(seen))


@pytest.fixture
def make_run(tmp_path):
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    env["INSTANCE_PATH"] = str(tmp_path / "instance")
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={port}"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output = _wait_for_line(process, "Listening at", timeout=300)
        yield f"http://127.0.0.1:{port}", output
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        process.stdout.close()


def test_make_run_serves_a_login_page_with_demo_logins(make_run, page):
    url, output = make_run
    assert "member number of volunteer:" in output
    page.goto(f"{url}/login")
    assert page.locator("input[name=login]").is_visible()
    page.fill("input[name=login]", "volunteer")
    page.fill("input[name=password]", "volunteer-demo-2026")
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{url}/me/")
    assert int(page.inner_text("[data-testid=balance]")) >= 0
