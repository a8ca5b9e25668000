"""A PostgreSQL primary with a streaming-replication standby (Debian's binaries, free
ports, a temporary folder, stopped however the test ends).

- Failover: real gunicorn workers connect with a libpq multi-host URL
  (``target_session_attrs=read-write``); the primary is stopped at once under redemption
  load and the standby promoted; clients retry failed requests with the same
  Idempotency-Key. Every answered redemption exists exactly once, a retry of each key
  replays its answer, and ``points verify`` is clean.
- Read replica: with the standby's replay paused (a replica lagging behind), a history
  read from the replica shows the older state, while every balance check reads the
  primary: a volunteer cannot spend the same points twice.
"""

import http.client
import json
import os
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import func, select

from points_service import create_app
from points_service.accounts import member_codes
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.ledger.errors import InsufficientPoints
from points_service.ledger.models import LedgerEntry
from points_service.perks.models import Redemption
from points_service.replicas import reading_from_replica, replica_engine
from tests.builders import Builder
from tests.conftest import BASE_CONFIG, ON_POSTGRESQL
from tests.servers import gunicorn_server, postgresql_bin, postgresql_pair

pytestmark = [
    pytest.mark.postgresql_only,
    pytest.mark.skipif(not ON_POSTGRESQL, reason="a PostgreSQL primary and standby"),
    pytest.mark.skipif(postgresql_bin() is None, reason="PostgreSQL server binaries are not installed"),
]

PROJECT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COST = 10


PIN = "2580"


def redemption_body(volunteer, perk):
    """What a counter sends to redeem one ``perk`` for ``volunteer``: the printed number and
    the member's PIN (it never expires, so a retry minutes later sends the same request)."""
    if not member_codes.has_pin(volunteer.volunteer):
        member_codes.set_pin(volunteer, volunteer.volunteer, PIN, PIN)
    return {"member_no": volunteer.volunteer.member_no, "member_code": PIN, "perk_id": perk.id, "quantity": 1}


@pytest.fixture
def pair():
    with postgresql_pair() as started:
        yield started


@pytest.fixture
def primary_app(pair):
    """The app on the primary with the schema made; its data reaches the standby."""
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": pair.url("primary")})
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


def _counter_with_volunteers(build, count, points):
    district = build.tree()["districts"][0]
    perk = build.perk(points_cost=COST, stock=1000)
    clerk = build.counter_clerk(district)
    headers = build.bearer(clerk, role="counter", organization=district)
    volunteers = [build.volunteer(points=points) for _ in range(count)]
    return headers, volunteers, [redemption_body(volunteer, perk) for volunteer in volunteers]


class Counter:
    """A counter terminal that retries a failed request with the same key until it is answered."""

    RETRY = {"idempotency_key_in_progress", "outcome_unknown", "server_error"}

    def __init__(self, server, headers, deadline):
        self.server = server
        self.headers = {**headers, "Content-Type": "application/json"}
        self.deadline = deadline
        self.failed_attempts = 0

    def post(self, path, body, key):
        while True:
            try:
                status, answer, replayed = self._post_once(path, body, key)
            except OSError:
                status, answer, replayed = None, None, False
            code = (answer or {}).get("error", {}).get("code") if status and status >= 400 else None
            if status is not None and status < 500 and code not in self.RETRY:
                return status, answer, replayed
            self.failed_attempts += 1
            if time.monotonic() > self.deadline:
                raise AssertionError(f"{key} still fails: {status} {answer}")
            time.sleep(0.05)

    def _post_once(self, path, body, key):
        connection = http.client.HTTPConnection(self.server, timeout=30)
        try:
            connection.request("POST", path, json.dumps(body), {**self.headers, "Idempotency-Key": key})
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"null"), response.getheader("Idempotent-Replayed")
        finally:
            connection.close()


def _wait_until(condition, seconds):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.02)


def test_redemptions_ride_through_a_failover_and_each_answered_one_exists_exactly_once(pair, primary_app, tmp_path):
    build = Builder(primary_app)
    headers, _volunteers, bodies = _counter_with_volunteers(build, count=4, points=1000)
    db.session.remove()
    url = pair.url("primary", "standby", target_session_attrs="read-write")
    requests_per_counter = 10
    answers = {}  # key -> (status, body)
    lock = threading.Lock()
    settings = {
        "DATABASE_URL": url,
        "RATELIMIT_ENABLED": "0",
        # A request cut off by the failover leaves its key claimed; the retry takes it over after this.
        "REQUEST_TIMEOUT_SECONDS": "4",
        "IDEMPOTENCY_WAIT_SECONDS": "1",
    }
    with gunicorn_server(tmp_path, "--workers", "2", "--threads", "2", **settings) as server:
        deadline = time.monotonic() + 90
        counters = [Counter(server, headers, deadline) for _ in bodies]

        def serve(number):
            for request in range(requests_per_counter):
                key = f"counter-{number}-request-{request}"
                answer = counters[number].post("/api/v1/redemptions", bodies[number], key)
                with lock:
                    answers[key] = answer

        threads = [threading.Thread(target=serve, args=(number,)) for number in range(len(bodies))]
        for thread in threads:
            thread.start()
        _wait_until(lambda: len(answers) >= len(bodies) * 3, seconds=60)
        answered_before = len(answers)
        pair.crash("primary")
        pair.promote("standby")
        for thread in threads:
            thread.join(timeout=120)
        total = len(bodies) * requests_per_counter

        assert len(answers) == total
        assert answered_before < total  # the load went on through the failover ...
        assert sum(counter.failed_attempts for counter in counters) > 0  # ... and felt it
        assert {status for status, _answer, _replayed in answers.values()} == {201}, answers
        # Every key again: the same answer, replayed, and nothing new done.
        for key, (_status, answer, _replayed) in answers.items():
            number = int(key.split("-")[1])
            again = counters[number].post("/api/v1/redemptions", bodies[number], key)
            assert again == (201, answer, "true")

    redemption_ids = sorted(answer["id"] for _status, answer, _replayed in answers.values())
    new_primary = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": pair.url("standby")})
    with new_primary.app_context():
        stored = db.session.execute(select(Redemption.id, Redemption.idempotency_key)).all()
        assert sorted(row.id for row in stored) == redemption_ids  # each answered one, once, and no other
        assert len({row.idempotency_key for row in stored}) == total
        spent = db.session.scalar(select(func.sum(LedgerEntry.delta)).where(LedgerEntry.delta < 0))
        assert spent == -COST * total
        db.session.remove()
        db.engine.dispose()
    verify = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "points", "verify"],
        cwd=PROJECT,
        env={**os.environ, "DATABASE_URL": url, "SECRET_KEY": "test-secret", "INSTANCE_PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.strip().endswith("entries: 0 discrepancies")


@pytest.fixture
def lagging_replica_app(pair, primary_app):
    """The app reading the primary, and the standby as its read replica, whose replay
    ``pause()`` stops (as a replica that lags) and ``resume()`` lets catch up."""
    app = create_app(
        {**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": pair.url("primary"), "DATABASE_REPLICA_URL": pair.url("standby")}
    )

    def pause():
        pair.wait_for_replay()
        pair.sql("standby", "SELECT pg_wal_replay_pause()")
        _wait_until(lambda: pair.sql("standby", "SELECT pg_get_wal_replay_pause_state()")[0][0] == "paused", 20)

    def resume():
        pair.sql("standby", "SELECT pg_wal_replay_resume()")
        pair.wait_for_replay()

    app.pause_replica, app.resume_replica = pause, resume
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
        replica_engine(app).dispose()


def test_a_lagging_replica_shows_an_older_history_but_never_lets_a_volunteer_spend_twice(lagging_replica_app):
    app = lagging_replica_app
    build = Builder(app)
    headers, (volunteer,), (body,) = _counter_with_volunteers(build, count=1, points=COST + 5)
    own = build.bearer(volunteer)
    client = app.test_client()
    history = f"/api/v1/members/{volunteer.volunteer.member_no}/entries"
    app.pause_replica()

    spent = client.post("/api/v1/redemptions", json=body, headers={**headers, "Idempotency-Key": "first"})
    again = client.post("/api/v1/redemptions", json=body, headers={**headers, "Idempotency-Key": "second"})
    lagging = client.get(history, headers=own)

    assert spent.status_code == 201, spent.json
    assert spent.json["balance_after"] == 5
    assert again.status_code == 409, again.json  # the primary's 5 points, not the replica's 15
    assert again.json["error"]["details"]["reasons"] == ["not_enough_points"]
    assert lagging.status_code == 200, lagging.json
    assert [entry["balance_after"] for entry in lagging.json["entries"]] == [COST + 5]  # the replica's older view
    with reading_from_replica(), pytest.raises(InsufficientPoints):
        ledger.spend_points(build.account(volunteer).id, COST, reason="test spending")  # the primary's balance

    app.resume_replica()
    caught_up = client.get(history, headers=own)
    assert [entry["balance_after"] for entry in caught_up.json["entries"]] == [5, COST + 5]
    assert db.session.scalar(select(func.count(Redemption.id))) == 1
