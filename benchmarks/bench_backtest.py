"""Benchmark of the rules desk's backtest: a draft rule table over 200,000 approved records.

Not a test: it prints figures. Run it on a throwaway database, for example::

    DATABASE_URL='postgresql+psycopg://points@/bench?host=/tmp/pg&port=5432' \\
        .venv/bin/python benchmarks/bench_backtest.py --reset

It sets up ``--volunteers`` volunteers (default 5,000; the same setup as ``bench_hours``)
and ``--records`` approved two-hour records (default 200,000) spread over the past
``--days`` days (default 365), inserted in bulk with the award the published table gives
(not timed). Then it times ``activities.backtest_draft`` of a draft that pays elderly care
12 instead of 10 points an hour, over the whole window, and prints the seconds (the
target is under 10 s) and the result's totals.
"""

import argparse
import os
import sys
import time
from datetime import datetime, timedelta
from datetime import time as clock

from sqlalchemy import func, insert, select

# This checkout's package (not an installed copy) and its sibling benchmark's setup.
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

from bench_hours import CATEGORIES, RULES, setup  # noqa: E402

from points_service import create_app  # noqa: E402
from points_service.accounts import service as accounts  # noqa: E402
from points_service.accounts.models import VolunteerProfile  # noqa: E402
from points_service.activities import service as activities  # noqa: E402
from points_service.activities.models import ServiceRecord  # noqa: E402
from points_service.extensions import db  # noqa: E402
from points_service.organizations.models import Organization  # noqa: E402
from points_service.rules import service as rules  # noqa: E402
from points_service.rules.engine import VolunteerHistory  # noqa: E402
from points_service.timeutil import to_local, to_utc, utcnow  # noqa: E402

HISTORY = VolunteerHistory(lifetime_minutes=0, approved_records=1, points_same_day=0, points_same_month=0)


def approved_records(community, approver, count, days):
    """``count`` approved records over the past ``days`` days, round-robin over the volunteers:
    each volunteer serves at most once a day, 09:00 to 11:00 local time."""
    session = db.session
    profiles = session.execute(select(VolunteerProfile.id).order_by(VolunteerProfile.id)).scalars().all()
    today = to_local(utcnow(), community.timezone).date()
    awards = {}  # (local date, category) -> the award the published table gives
    now = utcnow()
    rows = []
    for index in range(count):
        day = today - timedelta(days=1 + (index // len(profiles)) % days)
        category = CATEGORIES[index % 2][0]
        started_at = to_utc(datetime.combine(day, clock(9)), community.timezone)
        if (day, category) not in awards:
            awards[day, category] = rules.rate_service(
                organization=community,
                category=category,
                started_at=started_at,
                ended_at=started_at + timedelta(hours=2),
                urgent=False,
                history=HISTORY,
            )
        award = awards[day, category]
        rows.append(
            {
                "volunteer_id": profiles[index % len(profiles)],
                "organization_id": community.id,
                "category": category,
                "started_at": started_at,
                "ended_at": started_at + timedelta(hours=2),
                "minutes": 120,
                "urgent": False,
                "source": "organizer",
                "status": "approved",
                "entered_by_id": approver.id,
                "approved_by_id": approver.id,
                "approved_at": now,
                "verified_minutes": award.minutes,
                "awarded_points": award.points,
                "points": award.points,
                "breakdown": award.breakdown,
                "rule_set_id": award.rule_set_id,
                "rule_set_version": award.rule_set_version,
                "created_at": now,
                "updated_at": now,
            }
        )
        if len(rows) == 5000:
            session.execute(insert(ServiceRecord), rows)
            session.commit()
            rows = []
    if rows:
        session.execute(insert(ServiceRecord), rows)
        session.commit()
    return today


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--volunteers", type=int, default=5_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--reset", action="store_true", help="drop and recreate every table first")
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        parser.error("set DATABASE_URL to a throwaway database")
    app = create_app()
    with app.app_context(), app.test_request_context():
        if options.reset:
            db.drop_all()
        db.create_all()
        if db.session.execute(select(func.count(Organization.id))).scalar_one():
            parser.error("the database has data; run with --reset to start from empty tables")
        print(f"database: {db.engine.dialect.name}")

        started = time.perf_counter()
        community, _uploader, approver = setup(options.volunteers)
        city = db.session.get(Organization, community.ancestor_ids[0])
        today = approved_records(community, approver, options.records, options.days)
        print(
            f"setup: {options.volunteers} volunteers, {options.records} approved records"
            f" in {time.perf_counter() - started:.1f} s"
        )

        admin = accounts.create_user(username="bench-admin", name="Admin", password="bench-password-1")
        accounts.grant_role(admin, "admin", city)
        config = {**RULES, "rates": {**RULES["rates"], "elderly_care": {"points": 12, "per_minutes": 60}}}
        draft = rules.create_rule_set(admin, city, config, name="Bench draft")

        started, cpu_started = time.perf_counter(), time.process_time()
        result = activities.backtest_draft(admin, draft, today - timedelta(days=options.days), today)
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        simulation = result.simulation
        # On a shared machine the wall-clock time includes waiting for a core; the CPU time
        # of this process (the database's own work not included) shows what the code costs.
        print(
            f"backtest: {simulation.records} records, {result.volunteers} volunteers in {seconds:.1f} s"
            f" ({cpu_seconds:.1f} s CPU in Python; {'within' if seconds < 10 else 'OVER'} the 10 s target)"
        )
        print(
            f"points before {simulation.points_before}, after {simulation.points_after},"
            f" change {simulation.difference:+}; outstanding change {result.outstanding_change:+}"
        )
        return 0 if seconds < 10 else 1


if __name__ == "__main__":
    sys.exit(main())
