"""What the load benchmarks start and stop: a throwaway PostgreSQL, gunicorn, wrk.

Everything started here is stopped by its own pid (or ``pg_ctl``) when the run ends,
however it ends; nothing is looked up by name.
"""

import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _postgres_bin():
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: int(path.parent.name))
    if not found:
        sys.exit("PostgreSQL server binaries not found: run 'make install' as root.")
    return found[-1]


class Cluster:
    """An initdb'd PostgreSQL in a temporary directory, on a free port, socket in that directory."""

    def __init__(self):
        self.bin = _postgres_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="points-bench-pg."))
        self.port = free_port()
        self.run_as = []
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self.run_as = ["runuser", "-u", "postgres", "--"]
        self._run(
            "initdb", "-D", str(self.dir / "data"), "-U", "points", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"
        )
        atexit.register(self.destroy)
        self.start()

    def _run(self, program, *arguments, check=True):
        return subprocess.run(
            [*self.run_as, str(self.bin / program), *arguments],
            check=check,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def start(self):
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses='' -c max_connections=200 "
            "-c shared_buffers=256MB -c synchronous_commit=on -c max_wal_size=8GB"
        )
        self._run(
            "pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "server.log"), "-w", "-o", options, "start"
        )

    def stop(self, mode="fast"):
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", mode, "-w", "stop", check=False)

    def destroy(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def createdb(self, name):
        self._run("createdb", "-h", str(self.dir), "-p", str(self.port), "-U", "points", name)
        return f"postgresql+psycopg://points@/{name}?host={self.dir}&port={self.port}"

    def psql(self, database, sql):
        result = subprocess.run(
            [*self.run_as, str(self.bin / "psql"), "-h", str(self.dir), "-p", str(self.port), "-U", "points"]
            + ["-d", database, "-At", "-c", sql],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def pgbench(self, database, *arguments):
        pgbench = shutil.which("pgbench") or str(self.bin / "pgbench")
        result = subprocess.run(
            [pgbench, "-h", str(self.dir), "-p", str(self.port), "-U", "points", *arguments, database],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout + result.stderr


def bench_environment(database_url, **extra):
    """The app's settings for a benchmark: the database, a fixed secret, no rate limits
    (the bench measures the service, not the limiter), English messages."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "RATELIMIT_ENABLED": "0",
        "DEFAULT_LOCALE": "en",
        "BACKTEST_IN_BACKGROUND": "0",
        "INSTANCE_PATH": str(Path(tempfile.gettempdir()) / "points-bench-instance"),
        **extra,
    }


SECRET_KEY = "bench-secret-" + "0" * 40
# The members whose phones the load imitates (wrk takes them in turn; more adds nothing).
PHONES = 50_000


def phone_codes(fixture, seconds, path):
    """Write what the members' phones would show while a load of ``seconds`` runs, for
    redeem.lua: the first 30-second step, then one line per member with their number and
    their rotating code for each step the load can reach (spending needs the code)."""
    from generate import code_nonce

    from points_service.accounts.member_codes import STEP_SECONDS, totp_of

    first = int(time.time()) // STEP_SECONDS - 1
    steps = range(first, first + seconds // STEP_SECONDS + 4)
    members = Path(fixture["members_file"]).read_text().split()[:PHONES]
    with open(path, "w") as out:
        out.write(f"{first}\n")
        for index, number in enumerate(members):
            totp = totp_of(SECRET_KEY, code_nonce(index))
            out.write(" ".join([number, *(totp.at(step * STEP_SECONDS) for step in steps)]) + "\n")
    return str(path)


def generate(database_url, scale, out):
    subprocess.run(
        [PYTHON, str(BENCH / "generate.py"), "--scale", scale, "--out", str(out)],
        check=True,
        env=bench_environment(database_url),
        cwd=ROOT,
    )
    return json.loads(Path(out).read_text())


class Server:
    """gunicorn serving ``app`` (``wsgi:app`` or the bare endpoint) with sync workers."""

    def __init__(self, database_url, app="wsgi:app", workers=4, **extra):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # The app logs one line per request: kept in a file, not on the bench's screen.
        self.log = Path(tempfile.gettempdir()) / f"points-bench-server-{self.port}.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [GUNICORN, "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers), "--timeout", "30"]
                + ["--backlog", "2048", "--log-level", "warning", app],
                cwd=ROOT,
                env=bench_environment(database_url, **extra),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        atexit.register(self.stop)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/api/v1/openapi.json", timeout=2)
                return
            except urllib.error.HTTPError:
                return  # it answers
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not start")

    def worker_pids(self):
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


_LATENCY_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url, script, arguments, connections, seconds, threads=2):
    """Run wrk with a Lua script; returns requests/s, p50/p99 in ms and the script's counts."""
    result = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--latency", "--timeout", "10s"]
        + ["-s", str(BENCH / "lua" / script), url, "--", *map(str, arguments)],
        check=True,
        capture_output=True,
        text=True,
    )
    output = result.stdout
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    for name, percentile in (("p50_ms", "50%"), ("p99_ms", "99%")):
        value, unit = re.search(rf"^\s+{percentile}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE).groups()
        figures[name] = round(float(value) * _LATENCY_UNITS[unit], 1)
    counts = re.search(r"^BENCH_COUNTS (.*)$", output, re.MULTILINE)
    figures.update(json.loads(counts.group(1)) if counts else {})
    return figures


def machine():
    """What the figures were measured on, and how busy it was."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.*)$", cpuinfo.read_text(), re.MULTILINE)
        model = found.group(1).strip() if found else ""
    return {"cores": os.cpu_count(), "cpu": model, "load_average": [round(x, 2) for x in os.getloadavg()]}
