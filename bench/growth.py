"""Time the pages whose work could grow with history, on one generated database.

Run by ``make bench`` at two scales; the ratio of the times is the growth. For each of

- ``history``: a volunteer's home page data (latest entries, latest records, expiring points),
- ``lookup``: the counter's member lookup (balance, level, every perk with its reasons),
- ``honor_roll``: computing last month's honor roll of the whole city (top 50 by hours),
- ``dashboard``: the reports dashboard of the whole city over the default months,

it prints the median milliseconds and the slowest SELECT seen, as one JSON line.
``--explain`` prints that statement's plan (EXPLAIN ANALYZE on PostgreSQL) instead.
"""

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, select

from points_service import create_app
from points_service.accounts.models import User, VolunteerProfile
from points_service.activities import service as activities
from points_service.extensions import db
from points_service.honor import service as honor
from points_service.ledger import service as ledger
from points_service.myaccount import service as myaccount
from points_service.organizations.models import Organization
from points_service.perks import service as perks
from points_service.reports import service as reports

REPEATS = {"history": 30, "lookup": 30, "honor_roll": 9, "dashboard": 9}


class SlowestStatement:
    """Listens to the engine: the slowest statement with its parameters."""

    def __init__(self, engine):
        self.engine, self.slowest = engine, (0.0, None, None)
        event.listen(engine, "before_cursor_execute", self.before)
        event.listen(engine, "after_cursor_execute", self.after)

    def close(self):
        event.remove(self.engine, "before_cursor_execute", self.before)
        event.remove(self.engine, "after_cursor_execute", self.after)

    def before(self, connection, cursor, statement, parameters, context, executemany):
        connection.info["bench_started"] = time.perf_counter()

    def after(self, connection, cursor, statement, parameters, context, executemany):
        took = time.perf_counter() - connection.info.pop("bench_started", time.perf_counter())
        reads = statement.lstrip().upper().startswith(("SELECT", "WITH"))  # a plan to read, never to repeat a write
        if reads and not executemany and took > self.slowest[0]:
            self.slowest = (took, statement, parameters)


def _operations(fixture):
    """The four pages' work; each call reads its actor and organization in its own session."""
    members = Path(fixture["members_file"]).read_text().split()
    rng = random.Random(7)

    def city():
        return db.session.get(Organization, fixture["city_id"])

    def admin():
        return db.session.get(User, fixture["admin_id"])

    months = reports.month_span(*reports.default_range(city()))
    last_month = reports.add_months(reports.current_month(city()), -1)

    def history():
        profile = db.session.execute(
            select(VolunteerProfile).where(VolunteerProfile.member_no == rng.choice(members))
        ).scalar_one()
        account = ledger.account_of_volunteer(profile.id)
        ledger.list_entries(account.id, limit=20)
        activities.my_records(profile.user, limit=5)
        myaccount.expiring_soon(profile)

    def lookup():
        clerk = db.session.get(User, fixture["clerk_id"])
        perks.counter_lookup(clerk, city(), rng.choice(members), level_of=activities.volunteer_level)

    def honor_roll():
        honor.compute_honor_roll(admin(), city(), "month", last_month, "hours", 50)

    def dashboard():
        reports.build_dashboard(admin(), city(), months)

    return {"history": history, "lookup": lookup, "honor_roll": honor_roll, "dashboard": dashboard}


def measure(fixture, explain=None):
    app = create_app()
    with app.app_context():
        operations = _operations(fixture)
        results = {}
        for name, operation in operations.items():
            if explain and name != explain:
                continue
            operation()  # warm: templates of messages, caches of the process
            db.session.remove()
            clock = SlowestStatement(db.engine)
            times = []
            for _ in range(REPEATS[name]):
                started = time.perf_counter()
                operation()
                times.append((time.perf_counter() - started) * 1000)
                db.session.remove()
            clock.close()
            took, statement, parameters = clock.slowest
            results[name] = {
                "median_ms": round(statistics.median(times), 2),
                "slowest_sql_ms": round(took * 1000, 2),
                "slowest_sql": " ".join((statement or "").split())[:300],
            }
            if explain:
                with db.engine.connect() as connection:
                    prefix = "EXPLAIN ANALYZE " if connection.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
                    plan = connection.exec_driver_sql(prefix + statement, parameters).all()
                results[name]["plan"] = [" | ".join(str(value) for value in row) for row in plan]
        return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fixture", help="the JSON fixture written by generate.py")
    parser.add_argument("--explain", choices=sorted(REPEATS), help="print the plan of this page's slowest statement")
    arguments = parser.parse_args()
    fixture = json.loads(Path(arguments.fixture).read_text())
    print("GROWTH_JSON " + json.dumps(measure(fixture, arguments.explain)))


if __name__ == "__main__":
    main()
