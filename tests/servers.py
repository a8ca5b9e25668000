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
def serving(command, port, stop_seconds=20, **options):
    """Run ``command`` until the block ends; yields once it listens on ``port``."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **options)
    try:
        wait_for_port(port, process)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=stop_seconds)


@contextmanager
def redis_server(folder):
    """A throwaway ``redis-server`` without persistence; yields its ``redis://`` URL."""
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", ""]
    with serving(command, port):
        yield f"redis://127.0.0.1:{port}/0"


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
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", *arguments, "wsgi:app"]
    with serving(command, port, stop_seconds=30, cwd=project, env=settings):
        yield f"127.0.0.1:{port}"
