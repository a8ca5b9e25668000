"""Servers the tests start from Debian's binaries: on a free port (never a default one), in a
temporary folder, stopped by process id however the tests end."""

import socket
import subprocess
import time
from contextlib import contextmanager


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, process, seconds=20):
    """Until something accepts connections on ``port`` (or the process died)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before it listened on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on port {port} within {seconds} s")


@contextmanager
def redis_server(folder):
    """A throwaway ``redis-server`` without persistence; yields its ``redis://`` URL."""
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextmanager
def gunicorn_server(folder, *arguments, **environment):
    """``gunicorn wsgi:app`` from the project folder (so gunicorn.conf.py applies) on a free
    port with ``environment`` added; yields its ``host:port``."""
    import os
    import sys

    project = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    port = free_port()
    settings = {key: value for key, value in os.environ.items() if not key.startswith(("RATELIMIT_", "PROMETHEUS_"))}
    settings.update({"INSTANCE_PATH": str(folder), "SECRET_KEY": "test-secret", **environment})
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", *arguments, "wsgi:app"],
        cwd=project,
        env=settings,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
