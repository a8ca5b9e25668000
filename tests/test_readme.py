"""The README is true: the shell blocks marked runnable (an HTML comment starting with
``runnable`` on the line before the fence) run as written against a fresh instance, and
the configuration table lists exactly the settings the code reads from the environment."""

import os
import re
import subprocess

import pytest

from tests.conftest import ON_POSTGRESQL
from tests.servers import gunicorn_server

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(PROJECT, "README.md")
SOURCES = [os.path.join(PROJECT, name) for name in ("points_service", "admin", "wsgi.py", "gunicorn.conf.py")]
RUNNABLE = re.compile(r"^<!-- runnable.*?-->\n```sh\n(.*?)^```$", re.MULTILINE | re.DOTALL)
READS_ENVIRONMENT = re.compile(r"""(?:env|environ)(?:\.get)?[(\[]"([A-Z][A-Z0-9_]+)\"""")


def _readme():
    with open(README, encoding="utf-8") as handle:
        return handle.read()


def _python_files():
    for source in SOURCES:
        if source.endswith(".py"):
            yield source
            continue
        for folder, _dirs, files in os.walk(source):
            yield from (os.path.join(folder, name) for name in files if name.endswith(".py"))


def settings_read_by_the_code():
    names = set()
    for path in _python_files():
        with open(path, encoding="utf-8") as handle:
            names.update(READS_ENVIRONMENT.findall(handle.read()))
    return names


def settings_in_the_table():
    section = _readme().split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


def test_the_configuration_table_lists_every_setting_the_code_reads_and_no_other():
    read, listed = settings_read_by_the_code(), settings_in_the_table()
    assert sorted(read - listed) == [], "settings the code reads that the README's table leaves out"
    assert sorted(listed - read) == [], "settings in the README's table that the code never reads"


@pytest.mark.skipif(ON_POSTGRESQL, reason="runs once, on a fresh SQLite instance")
def test_the_runnable_shell_blocks_run_as_written_against_a_fresh_instance(tmp_path):
    blocks = RUNNABLE.findall(_readme())
    assert len(blocks) >= 2
    settings = {"INSTANCE_PATH": str(tmp_path / "instance"), "DATABASE_URL": f"sqlite:///{tmp_path}/readme.sqlite3"}
    with gunicorn_server(tmp_path / "server", "--workers", "1", **settings) as server:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", "\n".join(blocks)],
            cwd=PROJECT,
            env={**os.environ, **settings, "POINTS_URL": f"http://{server}"},
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert '{"status":"ready"}' in result.stdout.replace(" ", "")
    assert ": 0 discrepancies" in result.stdout
    assert '"balance"' in result.stdout  # the counter view of the demo volunteer
