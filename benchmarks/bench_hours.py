"""Benchmark of verified hours: spreadsheet import and whole-activity approval.

Not a test: it prints figures. Run it on a throwaway PostgreSQL database (the real
target), for example::

    DATABASE_URL='postgresql+psycopg://points@/bench?host=/tmp/pg&port=5432' \\
        .venv/bin/python benchmarks/bench_hours.py --reset

1. imports ``--rows`` rows (default 100,000) from one CSV file built in memory, through
   ``activities.imports.import_records`` (validation, overlap checks, bulk insert);
2. approves ``--activities`` activities (default 1,000) of ``--per-activity`` volunteers
   (default 30) each, one ``approve_activity`` call per activity (rating, one earn entry
   per record, history and caps, audit);

and prints rows per second for each, then checks the invariants. The data it needs
(volunteers, activities and their pending check-in records) is set up with bulk inserts
that are not timed. ``--reset`` drops and recreates every table first; without it the
database must be empty.
"""

import argparse
import csv
import io
import os
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as clock

from sqlalchemy import func, insert, select

from points_service import create_app
from points_service.accounts import service as accounts
from points_service.accounts.models import RoleMembership, User, VolunteerProfile
from points_service.activities import imports
from points_service.activities import service as activities
from points_service.activities.models import Activity, ActivitySignup, ServiceRecord
from points_service.codes import damm_digit
from points_service.extensions import db
from points_service.ledger.models import PointsAccount
from points_service.ledger.service import verify_ledger
from points_service.organizations.models import Organization
from points_service.organizations.service import create_organization
from points_service.rules import service as rules
from points_service.timeutil import to_utc, utcnow

PASSWORD = "bench-password-1"
CATEGORIES = [("elderly_care", "Elderly care", "助老服务"), ("patrol", "Neighbourhood patrol", "治安巡逻")]
RULES = {
    "rates": {code: {"points": 10, "per_minutes": 60} for code, _en, _zh in CATEGORIES},
    "multipliers": {"weekend_percent": 120, "holiday_percent": 150, "stacking": "max"},
    "caps": {"per_day": 150, "per_month": 1000},
    "bonuses": {"first_service": 20, "milestones": [{"hours": 100, "points": 50}]},
    "expiry": {"policy": "never"},
}


def member_number(index):
    body = str(10_000_000_000 + index)
    return body + damm_digit(body)


def setup(volunteers):
    """A city with one community, categories, a published rule table, staff and volunteers."""
    city = create_organization("Bench City", "city")
    district = create_organization("Bench District", "district", city)
    street = create_organization("Bench Street", "street", district)
    community = create_organization("Bench Community", "community", street)
    for code, name_en, name_zh in CATEGORIES:
        rules.create_category(None, code, name_en, name_zh)
    rule_set = rules.create_rule_set(None, city, RULES, effective_from=date(2020, 1, 1), name="Bench rules")
    rules.publish_rule_set(None, rule_set)
    uploader = accounts.create_user(username="bench-uploader", name="Uploader", password=PASSWORD)
    approver = accounts.create_user(username="bench-approver", name="Approver", password=PASSWORD)
    accounts.grant_role(uploader, "organizer", community)
    accounts.grant_role(approver, "organizer", community)
    password_hash = accounts.hash_password(PASSWORD)
    now = utcnow()
    session = db.session
    for start in range(0, volunteers, 5000):
        indexes = range(start, min(start + 5000, volunteers))
        session.execute(
            insert(User),
            [
                {
                    "username": f"bench-volunteer-{i}",
                    "mobile": f"137{i:08d}",
                    "name": f"Volunteer {i}",
                    "password_hash": password_hash,
                    "session_token": f"{i:032x}",
                    "created_at": now,
                }
                for i in indexes
            ],
        )
        users = dict(
            session.execute(
                select(User.username, User.id).where(User.username.in_([f"bench-volunteer-{i}" for i in indexes]))
            ).all()
        )
        user_ids = [users[f"bench-volunteer-{i}"] for i in indexes]
        session.execute(
            insert(RoleMembership),
            [{"user_id": u, "organization_id": community.id, "role": "volunteer", "created_at": now} for u in user_ids],
        )
        session.execute(
            insert(VolunteerProfile),
            [
                {
                    "user_id": u,
                    "member_no": member_number(i),
                    "home_organization_id": community.id,
                    "consent_version": "bench",
                    "consent_at": now,
                    "created_at": now,
                }
                for i, u in zip(indexes, user_ids, strict=True)
            ],
        )
        profiles = session.execute(select(VolunteerProfile.id).where(VolunteerProfile.user_id.in_(user_ids))).scalars()
        session.execute(
            insert(PointsAccount),
            [{"volunteer_id": p, "balance": 0, "created_at": now, "updated_at": now} for p in profiles],
        )
        session.commit()
    return community, uploader, approver


def import_file(volunteers, rows, timezone):
    """CSV content: ``rows`` two-hour records spread over the volunteers, one per volunteer and day."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Member number", "Category", "Date", "Start", "End"])
    today = utcnow().date()
    for index in range(rows):
        day = today - timedelta(days=2 + index // volunteers)
        code = CATEGORIES[index % 2][0]
        writer.writerow([member_number(index % volunteers), code, day.isoformat(), "09:00", "11:00"])
    return out.getvalue().encode()


def pending_activities(community, organizer, count, per_activity, volunteers):
    """Activities in the past, each with ``per_activity`` checked-out volunteers (pending records)."""
    session = db.session
    profiles = session.execute(
        select(VolunteerProfile.id, VolunteerProfile.user_id).order_by(VolunteerProfile.id)
    ).all()[:volunteers]
    today = utcnow().date()
    activity_ids = []
    for start in range(0, count, 200):
        batch = range(start, min(start + 200, count))
        rows = []
        for i in batch:
            local_start = datetime.combine(today - timedelta(days=400 + i // 4), clock(8 + 3 * (i % 4)))
            starts_at = to_utc(local_start, community.timezone)
            rows.append(
                {
                    "organization_id": community.id,
                    "title": f"Bench activity {i}",
                    "category": CATEGORIES[i % 2][0],
                    "place": "Hall",
                    "description": "",
                    "starts_at": starts_at,
                    "ends_at": starts_at + timedelta(hours=2),
                    "capacity": per_activity,
                    "urgent": False,
                    "status": "published",
                    "organizer_id": organizer.id,
                    "checkin_secret": f"{i:064x}",
                }
            )
        ids = session.execute(insert(Activity).returning(Activity.id, Activity.starts_at), rows).all()
        signups, records = [], []
        for offset, (activity_id, starts_at) in zip(batch, ids, strict=True):
            activity_ids.append(activity_id)
            for slot in range(per_activity):
                profile_id, user_id = profiles[(offset * per_activity + slot) % len(profiles)]
                ends_at = starts_at + timedelta(hours=2)
                records.append(
                    {
                        "volunteer_id": profile_id,
                        "organization_id": community.id,
                        "activity_id": activity_id,
                        "category": CATEGORIES[offset % 2][0],
                        "started_at": starts_at,
                        "ended_at": ends_at,
                        "minutes": 120,
                        "urgent": False,
                        "source": "checkin",
                        "status": "pending",
                        "entered_by_id": user_id,
                    }
                )
                signups.append(
                    {
                        "activity_id": activity_id,
                        "volunteer_id": profile_id,
                        "status": "confirmed",
                        "signed_up_at": starts_at - timedelta(days=1),
                        "checked_in_at": starts_at,
                        "checked_in_by_id": user_id,
                        "checked_out_at": ends_at,
                        "checked_out_by_id": user_id,
                    }
                )
        session.execute(insert(ServiceRecord), records)
        session.execute(insert(ActivitySignup), signups)
        session.commit()
    return activity_ids


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows in the imported file")
    parser.add_argument("--activities", type=int, default=1_000)
    parser.add_argument("--per-activity", type=int, default=30)
    parser.add_argument("--volunteers", type=int, default=5_000)
    parser.add_argument("--reset", action="store_true", help="drop and recreate every table first")
    options = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        parser.error("set DATABASE_URL to a throwaway database (PostgreSQL is what this measures)")
    app = create_app()
    with app.app_context():
        if options.reset:
            db.drop_all()
        db.create_all()
        if db.session.execute(select(func.count(Organization.id))).scalar_one():
            parser.error("the database has data; run with --reset to start from empty tables")
        print(f"database: {db.engine.dialect.name}")

        started = time.perf_counter()
        community, uploader, approver = setup(options.volunteers)
        print(f"setup: {options.volunteers} volunteers in {time.perf_counter() - started:.1f} s")

        content = import_file(options.volunteers, options.rows, community.timezone)
        started = time.perf_counter()
        result = imports.import_records(uploader, community, "bench.csv", content)
        seconds = time.perf_counter() - started
        print(f"import: {result.created} rows in {seconds:.1f} s = {result.created / seconds:,.0f} rows/s")

        activity_ids = pending_activities(
            community, uploader, options.activities, options.per_activity, options.volunteers
        )
        db.session.commit()
        started = time.perf_counter()
        approved = 0
        for activity_id in activity_ids:
            approved += len(activities.approve_activity(approver, activity_id).approved)
        seconds = time.perf_counter() - started
        print(
            f"approval: {len(activity_ids)} activities, {approved} records in {seconds:.1f} s"
            f" = {approved / seconds:,.0f} records/s ({len(activity_ids) / seconds:,.1f} activities/s)"
        )

        started = time.perf_counter()
        problems = activities.check_service_records() + verify_ledger().discrepancies
        print(f"invariants: {len(problems)} problems, checked in {time.perf_counter() - started:.1f} s")
        return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
