"""Benchmark of the reports dashboard at city scale.

Not a test: it prints figures. Run it on a throwaway PostgreSQL database (the real
target), for example::

    DATABASE_URL='postgresql+psycopg://points@/bench?host=/tmp/pg&port=5432' \\
        PYTHONPATH=. .venv/bin/python benchmarks/bench_reports.py --reset

It builds a city of ``--communities`` communities (default 100, in 4 districts) and
``--volunteers`` volunteers (default 20,000; set up as in ``bench_hours``), then, with bulk
inserts that are not timed, ``--records`` approved service records (default 200,000)
over the last 14 months with their earn entries and points lots, 2,000 pending records
and 5,000 counter redemptions. It fills the monthly figures with
``rebuild_monthly_figures`` (what ``points reports-rebuild`` runs; timed), then asks for
``/admin/reports`` as the city's administrator: once to warm the process up (templates,
translations; printed, not judged), then ``--requests`` times (default 5), printing each
response time. The target is under 1 s; over it, the slowest query of the
slowest request is printed with its plan (EXPLAIN ANALYZE on PostgreSQL).
"""

import argparse
import os
import random
import sys
import time
from datetime import timedelta

from bench_hours import CATEGORIES, PASSWORD, setup
from sqlalchemy import event, func, insert, select, text, update

from points_service import create_app
from points_service.accounts import service as accounts
from points_service.accounts.models import VolunteerProfile
from points_service.activities.models import ServiceRecord
from points_service.extensions import db
from points_service.ledger.models import LedgerEntry, PointsAccount, PointsLot
from points_service.organizations.models import Organization
from points_service.organizations.service import create_organization
from points_service.perks.models import Perk, Redemption
from points_service.reports.aggregates import rebuild_monthly_figures
from points_service.timeutil import utcnow

TARGET_SECONDS = 1.0
BATCH = 5000


def spread_volunteers(community, count):
    """More districts, streets and communities; the volunteers spread over all communities."""
    street = db.session.get(Organization, community.parent_id)
    city = db.session.get(Organization, db.session.get(Organization, street.parent_id).parent_id)
    communities = [community]
    for d in range(4):
        district = create_organization(f"District {d}", "district", city)
        for s in range(5):
            street = create_organization(f"Street {d}.{s}", "street", district)
            for c in range(5):
                if len(communities) < count:
                    communities.append(create_organization(f"Community {d}.{s}.{c}", "community", street))
    profiles = db.session.execute(select(VolunteerProfile.id).order_by(VolunteerProfile.id)).scalars().all()
    for index, node in enumerate(communities):
        db.session.execute(
            update(VolunteerProfile)
            .where(VolunteerProfile.id.in_(profiles[index :: len(communities)]))
            .values(home_organization_id=node.id)
        )
    db.session.commit()
    return city, communities


def approved_records(communities, count, now):
    """``count`` approved two-hour records over the last 14 months, each with its earn entry and lot."""
    rng = random.Random(19)
    volunteers = db.session.execute(
        select(VolunteerProfile.id, VolunteerProfile.home_organization_id, PointsAccount.id).join(
            PointsAccount, PointsAccount.volunteer_id == VolunteerProfile.id
        )
    ).all()
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        records, entries = [], []
        for _ in range(size):
            volunteer_id, home_id, account_id = rng.choice(volunteers)
            started_at = (now - timedelta(days=rng.randint(1, 420), hours=rng.randint(0, 12))).replace(microsecond=0)
            records.append(
                {
                    "volunteer_id": volunteer_id,
                    "organization_id": home_id,
                    "category": CATEGORIES[rng.randint(0, 1)][0],
                    "started_at": started_at,
                    "ended_at": started_at + timedelta(hours=2),
                    "minutes": 120,
                    "source": "import",
                    "status": "approved",
                    "approved_at": started_at + timedelta(days=1),
                    "verified_minutes": 120,
                    "awarded_points": 20,
                    "points": 20,
                }
            )
            entries.append(
                {
                    "account_id": account_id,
                    "kind": "earn",
                    "delta": 20,
                    "balance_after": 20,
                    "reason": "Volunteer service",
                    "cause_type": "service_record",
                    "created_at": started_at + timedelta(days=1),
                }
            )
        db.session.execute(insert(ServiceRecord), records)
        ids = db.session.execute(
            insert(LedgerEntry).returning(LedgerEntry.id, LedgerEntry.account_id, LedgerEntry.created_at), entries
        ).all()
        db.session.execute(
            insert(PointsLot),
            [
                {
                    "account_id": account_id,
                    "entry_id": entry_id,
                    "amount": 20,
                    "remaining": 20,
                    "earned_at": earned_at,
                    "expires_at": earned_at + timedelta(days=450),
                }
                for entry_id, account_id, earned_at in ids
            ],
        )
        db.session.commit()
    db.session.execute(
        update(PointsAccount).values(
            balance=select(func.coalesce(func.sum(PointsLot.remaining), 0))
            .where(PointsLot.account_id == PointsAccount.id)
            .scalar_subquery()
        )
    )
    db.session.commit()
    return volunteers


def pending_and_redemptions(city, volunteers, now, pending, redemptions):
    rng = random.Random(18)
    records = []
    for i in range(pending):
        volunteer_id, home_id, _account = rng.choice(volunteers)
        started_at = (now - timedelta(days=rng.randint(1, 40), minutes=i)).replace(microsecond=0)
        records.append(
            {
                "volunteer_id": volunteer_id,
                "organization_id": home_id,
                "category": CATEGORIES[i % 2][0],
                "started_at": started_at,
                "ended_at": started_at + timedelta(hours=1),
                "minutes": 60,
                "source": "import",
                "status": "pending",
                "created_at": started_at + timedelta(hours=2),
            }
        )
    db.session.execute(insert(ServiceRecord), records)
    districts = db.session.execute(select(Organization.id).where(Organization.kind == "district")).scalars().all()
    perk_ids = db.session.execute(
        insert(Perk).returning(Perk.id),
        [
            {"organization_id": city.id, "kind": "goods", "name": f"Perk {i}", "points_cost": 10 * (i + 1)}
            for i in range(8)
        ],
    ).scalars()
    perk_ids = list(perk_ids)
    rows = []
    for _ in range(redemptions):
        volunteer_id, _home, account_id = rng.choice(volunteers)
        when = (now - timedelta(days=rng.randint(1, 400))).replace(microsecond=0)
        perk = rng.randrange(len(perk_ids))
        rows.append(
            {
                "perk_id": perk_ids[perk],
                "volunteer_id": volunteer_id,
                "account_id": account_id,
                "points": 10 * (perk + 1),
                "channel": "counter",
                "status": "fulfilled",
                "counter_organization_id": rng.choice(districts),
                "created_at": when,
                "fulfilled_at": when,
            }
        )
    db.session.execute(insert(Redemption), rows)
    db.session.commit()


class QueryClock:
    """Times every statement run while it listens: the slowest with its parameters."""

    def __init__(self, engine):
        self.engine, self.slowest, self.total = engine, (0.0, None, None), 0.0
        event.listen(engine, "before_cursor_execute", self.before)
        event.listen(engine, "after_cursor_execute", self.after)

    def before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["query_started"] = time.perf_counter()

    def after(self, conn, cursor, statement, parameters, context, executemany):
        seconds = time.perf_counter() - conn.info.pop("query_started", time.perf_counter())
        self.total += seconds
        if seconds > self.slowest[0]:
            self.slowest = (seconds, statement, parameters)


def explain(statement, parameters):
    prefix = "EXPLAIN ANALYZE " if db.engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    with db.engine.connect() as connection:
        return [" ".join(str(c) for c in row) for row in connection.exec_driver_sql(prefix + statement, parameters)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--volunteers", type=int, default=20_000)
    parser.add_argument("--communities", type=int, default=100)
    parser.add_argument("--requests", type=int, default=5)
    parser.add_argument("--reset", action="store_true", help="drop and recreate every table first")
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        parser.error("set DATABASE_URL to a throwaway database (PostgreSQL is what this measures)")
    app = create_app({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    with app.app_context():
        if options.reset:
            db.drop_all()
        db.create_all()
        if db.session.execute(select(func.count(Organization.id))).scalar_one():
            parser.error("the database has data; run with --reset to start from empty tables")
        print(f"database: {db.engine.dialect.name}")
        started = time.perf_counter()
        community, _uploader, _approver = setup(options.volunteers)
        city, communities = spread_volunteers(community, options.communities)
        now = utcnow()
        volunteers = approved_records(communities, options.records, now)
        pending_and_redemptions(city, volunteers, now, 2_000, 5_000)
        admin = accounts.create_user(username="bench-admin", name="Admin", password=PASSWORD)
        accounts.grant_role(admin, "admin", city)
        print(
            f"setup: {options.volunteers} volunteers in {len(communities)} communities,"
            f" {options.records} approved records in {time.perf_counter() - started:.1f} s"
        )

        started = time.perf_counter()
        written = rebuild_monthly_figures(None)
        print(f"reports-rebuild: {sum(written.values())} rows in {time.perf_counter() - started:.1f} s")
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE"))  # what autovacuum does after such a load
            db.session.commit()

    client = app.test_client()
    client.post("/login", data={"login": "bench-admin", "password": PASSWORD})
    with app.app_context():
        engine = db.engine
    started = time.perf_counter()
    client.get("/admin/reports")
    cold = time.perf_counter() - started
    print(f"/admin/reports, first request of the process (templates, translations): {cold * 1000:.0f} ms")
    timings = []
    for _ in range(options.requests):
        clock = QueryClock(engine)
        started = time.perf_counter()
        response = client.get("/admin/reports")
        seconds = time.perf_counter() - started
        event.remove(engine, "before_cursor_execute", clock.before)
        event.remove(engine, "after_cursor_execute", clock.after)
        if response.status_code != 200:
            print(f"/admin/reports answered {response.status_code}")
            return 1
        timings.append((seconds, clock.slowest))
        print(
            f"/admin/reports: {seconds * 1000:.0f} ms (queries {clock.total * 1000:.0f} ms,"
            f" slowest {clock.slowest[0] * 1000:.0f} ms)"
        )
    worst, (query_seconds, statement, parameters) = max(timings, key=lambda timing: timing[0])
    best = min(seconds for seconds, _slowest in timings)
    print(f"best {best * 1000:.0f} ms, worst {worst * 1000:.0f} ms; target under {TARGET_SECONDS * 1000:.0f} ms")
    if worst > TARGET_SECONDS:
        print(f"over target; slowest query ({query_seconds * 1000:.0f} ms):\n{statement}\n{parameters}")
        with app.app_context():
            print("\n".join(explain(statement, parameters)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
