"""Servers the tests start from Debian's binaries: on a free port (never a default one), in a
temporary folder, stopped by process id however the tests end."""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager, suppress


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
    import sys

    project = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    port = free_port()
    settings = {key: value for key, value in os.environ.items() if not key.startswith(("RATELIMIT_", "PROMETHEUS_"))}
    settings.update({"INSTANCE_PATH": str(folder), "SECRET_KEY": "test-secret", **environment})
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", *arguments, "wsgi:app"]
    with serving(command, port, stop_seconds=30, cwd=project, env=settings):
        yield f"127.0.0.1:{port}"


def postgresql_bin():
    """The newest of Debian's PostgreSQL server binaries, or None when none is installed."""
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(path.split("/")[-2]))
    return folders[-1] if folders else None


class PostgreSQLPair:
    """A primary and a streaming-replication standby (``pg_basebackup -R``) from Debian's
    binaries, each on a free port with its socket in one temporary folder; the primary
    commits only once the standby has the WAL (synchronous replication), so no answered
    commit is lost when it fails over. Run as root, the servers run as ``postgres``."""

    def __init__(self, folder):
        self.folder = str(folder)
        self.bin = postgresql_bin()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.ports = {"primary": free_port(), "standby": free_port()}
        self.running = []

    def _run(self, program, *arguments):
        command = [*self.as_postgres, os.path.join(self.bin, program), *arguments]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.folder)

    def data(self, name):
        return f"{self.folder}/{name}"

    def url(self, *names, database="points", **options):
        """A SQLAlchemy URL of ``names`` in order (a libpq multi-host URL for several)."""
        hosts = ",".join(self.folder for _ in names)
        ports = ",".join(str(self.ports[name]) for name in names)
        extra = "".join(f"&{key}={value}" for key, value in options.items())
        return f"postgresql+psycopg://points@/{database}?host={hosts}&port={ports}{extra}"

    def _start(self, name, *settings):
        options = [f"-p {self.ports[name]}", f"-k {self.folder}", "-c listen_addresses=''", "-c fsync=off"]
        options += [f"-c {setting}" for setting in settings]
        log = f"{self.data(name)}.log"
        self.running.append(name)  # stopped at the end even if it answers too late for -w
        self._run("pg_ctl", "-D", self.data(name), "-l", log, "-w", "-o", " ".join(options), "start")

    def start(self):
        self._run("initdb", "-D", self.data("primary"), "-U", "points", "--auth=trust", "--locale=C.UTF-8")
        self._start("primary")
        primary = ["-h", self.folder, "-p", str(self.ports["primary"]), "-U", "points"]
        self._run("createdb", *primary, "points")
        # -R writes the standby's primary_conninfo and standby.signal; -c fast: checkpoint now.
        self._run("pg_basebackup", *primary, "-D", self.data("standby"), "-R", "-c", "fast")
        self._start("standby")
        # Only now, and only on the primary: a commit waits until the standby has its WAL.
        self.sql("primary", "ALTER SYSTEM SET synchronous_standby_names = '*'", "SELECT pg_reload_conf()")

    def sql(self, name, *statements):
        """Run ``statements`` on ``name`` as the superuser; the last one's rows."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.url(name), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                for statement in statements:
                    result = connection.execute(text(statement))
                return result.all() if result.returns_rows else None
        finally:
            engine.dispose()

    def wait_for_replay(self, seconds=20):
        """Until the standby has applied everything the primary has written so far."""
        (written,) = self.sql("primary", "SELECT pg_current_wal_lsn()::text")[0]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.sql("standby", f"SELECT pg_last_wal_replay_lsn() >= '{written}'::pg_lsn")[0][0]:
                return
            time.sleep(0.05)
        raise RuntimeError(f"the standby did not replay up to {written} within {seconds} s")

    def crash(self, name):
        """Stop ``name`` at once, as a lost machine would (``pg_ctl -m immediate``)."""
        self._run("pg_ctl", "-D", self.data(name), "-m", "immediate", "stop")
        self.running.remove(name)

    def promote(self, name="standby"):
        self._run("pg_ctl", "-D", self.data(name), "-w", "promote")

    def stop(self):
        for name in list(self.running):
            with suppress(subprocess.CalledProcessError):
                self.crash(name)


@contextmanager
def postgresql_pair():
    """A ``PostgreSQLPair`` started in a new folder; both servers stopped and the folder
    removed however the block ends."""
    folder = tempfile.mkdtemp(prefix="points-ha-")
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    pair = PostgreSQLPair(folder)
    try:
        pair.start()
        yield pair
    finally:
        pair.stop()
        shutil.rmtree(folder, ignore_errors=True)
