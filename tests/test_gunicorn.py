"""gunicorn.conf.py: several workers need a shared rate-limit store."""

import os
import subprocess
import sys

import pytest

from points_service.config import ConfigurationError, check_rate_limit_storage

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _gunicorn(tmp_path, *arguments, **env):
    environment = {key: value for key, value in os.environ.items() if not key.startswith("RATELIMIT_")}
    environment.update(INSTANCE_PATH=str(tmp_path), **env)
    return subprocess.run(
        [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", *arguments, "wsgi:app"],
        cwd=PROJECT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_gunicorn_refuses_several_workers_with_rate_limits_in_process_memory(tmp_path):
    result = _gunicorn(tmp_path, "--workers", "2")
    assert result.returncode == 3
    assert "set RATELIMIT_STORAGE_URI=redis://HOST:PORT/0" in result.stderr
    assert "--workers 1 --threads 8" in result.stderr


@pytest.mark.parametrize(
    ("workers", "env"),
    [
        (1, {}),
        (4, {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6390/0"}),
        (4, {"RATELIMIT_ENABLED": "0"}),
    ],
)
def test_one_worker_a_shared_store_or_no_limits_may_start(workers, env):
    check_rate_limit_storage(workers, env)


def test_several_workers_counting_in_memory_are_refused():
    with pytest.raises(ConfigurationError, match="RATELIMIT_STORAGE_URI"):
        check_rate_limit_storage(2, {"RATELIMIT_STORAGE_URI": "memory://"})
