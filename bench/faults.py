"""``make bench-faults``: redemptions under load while a worker and the database die.

Starts a throwaway PostgreSQL with generated data (``--scale``, default tiny) and the
product under gunicorn (4 workers). Client threads send redemptions, each with its own
Idempotency-Key, and retry with the same key until they get an answer that is not a
failure (2xx, or a 4xx other than "in progress"). Under that load it

1. kills one gunicorn worker with SIGKILL (the master starts another),
2. stops PostgreSQL with ``pg_ctl -m immediate`` (a crash) and starts it again.

Afterwards: ``points verify`` is clean, every redemption answered with a 2xx exists
exactly once, no key has more than one, no key answered with a refusal has any, and no
balance is negative. Prints the counts; exits 1 when any check fails.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import harness
from generate import code_nonce
from run import verify

from points_service.accounts.member_codes import totp_of
from points_service.idempotency_keys import client_key

CLIENTS = 16
GIVE_UP_SECONDS = 90  # a request still failing this long after the load ends is reported


class Client:
    """Sends redemptions and retries each with its key until it has an answer."""

    def __init__(self, url, fixture, stop_at):
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.fixture, self.stop_at = fixture, stop_at
        self.members = Path(fixture["members_file"]).read_text().split()[: harness.PHONES]
        self.codes = [totp_of(harness.SECRET_KEY, code_nonce(index)) for index in range(len(self.members))]
        self.answers = {}  # key -> (status, redemption id or None)
        self.seen = Counter()  # every status or error seen, retries included
        self.lock = threading.Lock()

    def _send(self, key, body):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=35)
        try:
            connection.request(
                "POST",
                "/api/v1/redemptions",
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "Authorization": "Bearer " + self.fixture["token"],
                    "Idempotency-Key": key,
                },
            )
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def redeem_once(self, rng):
        key = str(uuid.uuid4())
        index = rng.randrange(len(self.members))
        scan = self.members[index] + self.codes[index].now()  # the member's phone, read once: retries send the same
        body = json.dumps({"member_no": scan, "perk_id": self.fixture["open_perk_id"]})
        deadline = self.stop_at + GIVE_UP_SECONDS
        pause = 0.05
        while True:
            try:
                status, payload = self._send(key, body)
            except OSError as error:
                status, payload = type(error).__name__, b""
            with self.lock:
                self.seen[status] += 1
            if isinstance(status, int) and (status < 500 and not (status == 409 and b"in_progress" in payload)):
                answer = json.loads(payload).get("id") if status < 300 else None
                with self.lock:
                    self.answers[key] = (status, answer)
                return
            if time.monotonic() > deadline:
                with self.lock:
                    self.answers[key] = ("gave up", None)
                return
            time.sleep(pause)
            pause = min(pause * 2, 2.0)

    def work(self, number):
        rng = random.Random(number)
        while time.monotonic() < self.stop_at:
            self.redeem_once(rng)


def run(scale, seconds):
    workdir = Path(tempfile.mkdtemp(prefix="points-faults."))
    cluster = harness.Cluster()
    database_url = cluster.createdb("bench")
    fixture = harness.generate(database_url, scale, workdir / "fixture.json")
    server = harness.Server(database_url)
    client = Client(server.url, fixture, time.monotonic() + seconds)
    threads = [threading.Thread(target=client.work, args=(number,)) for number in range(CLIENTS)]
    for thread in threads:
        thread.start()
    events = []
    time.sleep(seconds * 0.25)
    victim = server.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    events.append(f"killed gunicorn worker {victim} with SIGKILL at {seconds * 0.25:.0f} s")
    time.sleep(seconds * 0.25)
    cluster.stop("immediate")
    events.append(f"stopped PostgreSQL with pg_ctl -m immediate at {seconds * 0.5:.0f} s")
    time.sleep(3)
    cluster.start()
    events.append("started PostgreSQL again 3 s later")
    for thread in threads:
        thread.join()
    server.stop()

    answers = client.answers
    keys = {client_key(f"token:{fixture['token_id']}", "POST /api/v1/redemptions", key): key for key in answers}
    stored = {}
    for row in cluster.psql(
        "bench", "SELECT idempotency_key, id FROM redemptions WHERE idempotency_key LIKE 'client:%'"
    ).splitlines():
        domain_key, redemption_id = row.split("|")
        stored.setdefault(keys.get(domain_key, "unknown key"), []).append(int(redemption_id))
    ok = {key: answer for key, (status, answer) in answers.items() if isinstance(status, int) and status < 300}
    refused = [key for key, (status, _answer) in answers.items() if isinstance(status, int) and status >= 300]
    problems = []
    problems += [
        f"2xx for {key} but redemption {answer} is stored {stored.get(key)}"
        for key, answer in ok.items()
        if stored.get(key) != [answer]
    ]
    problems += [f"key {key} has {len(ids)} redemptions" for key, ids in stored.items() if len(ids) > 1]
    problems += [f"refused key {key} has redemptions {stored[key]}" for key in refused if key in stored]
    problems += (
        [f"{len(stored['unknown key'])} redemptions with keys this run did not send"] if "unknown key" in stored else []
    )
    negative = int(cluster.psql("bench", "SELECT count(*) FROM points_accounts WHERE balance < 0"))
    if negative:
        problems.append(f"{negative} negative balances")
    clean, summary = verify(database_url)
    if not clean:
        problems.append("verify: " + summary)
    counts = {
        "requests answered": len(answers),
        "2xx": len(ok),
        "refused (4xx)": len(refused),
        "gave up": sum(1 for status, _ in answers.values() if status == "gave up"),
        "redemptions stored": sum(len(ids) for ids in stored.values()),
        "attempts by outcome": dict(sorted(((str(k), v) for k, v in client.seen.items()))),
        "negative balances": negative,
        "verify": summary,
    }
    cluster.destroy()
    shutil.rmtree(workdir, ignore_errors=True)
    return events, counts, problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=("tiny", "small"), default="tiny")
    parser.add_argument("--seconds", type=int, default=30, help="how long the load runs")
    arguments = parser.parse_args()
    events, counts, problems = run(arguments.scale, arguments.seconds)
    print("\n".join(events))
    for name, value in counts.items():
        print(f"{name}: {value}")
    print(
        "\n".join(problems) if problems else "every 2xx redemption exists exactly once; nothing doubled; verify clean"
    )
    results = harness.BENCH / "results"
    results.mkdir(exist_ok=True)
    (results / "faults-latest.json").write_text(
        json.dumps({"events": events, "counts": counts, "problems": problems}, indent=2) + "\n"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
