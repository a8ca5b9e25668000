"""Where one redemption spends its time: cProfile over ``POST /api/v1/redemptions``.

Run by ``make bench`` on its PostgreSQL database after the loads (or by hand with
DATABASE_URL and a fixture from ``generate.py``). Sends ``--count`` redemptions through
the app in this process (Flask's test client, a real token, a new Idempotency-Key each),
after a few to warm up, and writes the profile sorted by own time and by cumulative time
to ``bench/results/profile-redemption.txt``, with the time spent waiting for the
database (the driver's execute) beside the rest.
"""

import argparse
import cProfile
import io
import json
import pstats
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import code_nonce

from points_service import create_app
from points_service.accounts.member_codes import totp_of

OUT = Path(__file__).resolve().parent / "results" / "profile-redemption.txt"


def profile(fixture, count):
    app = create_app()
    client = app.test_client()
    members = Path(fixture["members_file"]).read_text().split()
    headers = {"Authorization": "Bearer " + fixture["token"]}

    def phone_scan(index):
        """The member number and the rotating code the member's phone shows now."""
        number = (index * 7) % len(members)
        return members[number] + totp_of(app.config["SECRET_KEY"], code_nonce(number)).now()

    def redeem(index):
        response = client.post(
            "/api/v1/redemptions",
            json={"member_no": phone_scan(index), "perk_id": fixture["open_perk_id"]},
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert response.status_code == 201, response.get_data(as_text=True)

    for index in range(20):
        redeem(index)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for index in range(count):
        redeem(1000 + index)
    profiler.disable()
    wall_ms = (time.perf_counter() - started) * 1000 / count
    stats = pstats.Stats(profiler)
    database_ms = (
        sum(
            timing[3]
            for function, timing in stats.stats.items()
            if function[2] in ("execute", "executemany") and "psycopg" in function[0]
        )
        * 1000
        / count
    )
    report = io.StringIO()
    report.write(
        f"{count} redemptions through the API in one process: {wall_ms:.1f} ms each under the profiler, "
        f"of which {database_ms:.1f} ms in the driver's execute (waiting for PostgreSQL).\n\n"
    )
    for order in ("tottime", "cumulative"):
        report.write(f"== by {order}\n")
        pstats.Stats(profiler, stream=report).sort_stats(order).print_stats(30)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(report.getvalue())
    return wall_ms, database_ms


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fixture")
    parser.add_argument("--count", type=int, default=300)
    arguments = parser.parse_args()
    wall_ms, database_ms = profile(json.loads(Path(arguments.fixture).read_text()), arguments.count)
    figures = {"ms_per_redemption": round(wall_ms, 2), "driver_execute_ms": round(database_ms, 2)}
    print("PROFILE_JSON " + json.dumps(figures))


if __name__ == "__main__":
    main()
