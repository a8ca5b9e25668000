"""Fill an empty database with a city for the load benchmark (``make bench``).

Not a test. ``--scale`` names the size:

=========  ==========  =============  ==============================================
scale      volunteers  records        use
=========  ==========  =============  ==============================================
tiny        2,000          20,000     the growth baseline; the SQLite run
small      20,000         200,000     ``make bench`` (a few minutes here)
city    1,000,000      20,000,000     a city deployment (COPY, tens of minutes)
=========  ==========  =============  ==============================================

The organization tree, categories, a published rule table, staff, an API token and the
perks are made by the services (as an administrator would). Volunteers, their accounts,
approved service records with their earn entries and points lots are written in bulk:
``COPY`` on PostgreSQL, batched INSERTs on SQLite, with ids assigned here so that each
account's entries chain (``points verify`` is clean afterwards). The monthly report
figures and the points held per home organization are then rebuilt from the raw tables
(``rebuild_monthly_figures``, ``rebuild_organization_balances``).

Writes a JSON fixture (``--out``): the token, perk ids, the file of member numbers and
how many rows per second the bulk load wrote.

    DATABASE_URL=postgresql+psycopg://... .venv/bin/python bench/generate.py --scale small --out f.json
"""

import argparse
import json
import os
import random
import sys
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text

from points_service import create_app
from points_service.accounts import service as accounts
from points_service.accounts import tokens
from points_service.accounts.models import MemberCredential, RoleMembership, User, VolunteerProfile
from points_service.activities.models import ServiceRecord
from points_service.codes import damm_digit
from points_service.extensions import db
from points_service.ledger.models import LedgerEntry, PointsAccount, PointsLot
from points_service.organizations.service import create_organization
from points_service.perks import service as perks
from points_service.reports.aggregates import rebuild_monthly_figures
from points_service.reports.balances import rebuild_organization_balances
from points_service.rules import service as rules
from points_service.timeutil import utcnow

SCALES = {
    "tiny": {"volunteers": 2_000, "records": 20_000, "districts": 2, "streets": 4, "communities": 5},
    "small": {"volunteers": 20_000, "records": 200_000, "districts": 4, "streets": 5, "communities": 5},
    "city": {"volunteers": 1_000_000, "records": 20_000_000, "districts": 16, "streets": 20, "communities": 10},
}
PASSWORD = "bench-password-1"
CATEGORIES = (("elderly_care", "Elderly care", "助老服务"), ("patrol", "Neighbourhood patrol", "治安巡逻"))
RULE_TABLE = {
    "rates": {code: {"points": 10, "per_minutes": 60} for code, _en, _zh in CATEGORIES},
    "expiry": {"policy": "never"},
}
RECORD_POINTS = 20  # a two-hour record at 10 points an hour
HOT_STOCK = 20_000  # the stocked perk 32 counters redeem at once (enough not to sell out in a run)
BATCH = 20_000
# The tables written in bulk, in the order their rows are written.
BULK_MODELS = (
    User,
    RoleMembership,
    VolunteerProfile,
    MemberCredential,
    PointsAccount,
    LedgerEntry,
    ServiceRecord,
    PointsLot,
)
# Memory for building each index after the load (one at a time; the machine has 23 GB).
INDEX_BUILD_MEMORY = "2GB"


def member_number(index):
    body = str(20_000_000_000 + index)
    return body + damm_digit(body)


def code_nonce(index):
    """The nonce of a bench member's rotating code (known, so the driver can make the codes)."""
    return f"{index:032x}"


def _tree(size):
    """City > districts > streets > communities; returns (city, communities)."""
    city = create_organization("Bench City", "city")
    communities = []
    for d in range(size["districts"]):
        district = create_organization(f"District {d + 1}", "district", city)
        for s in range(size["streets"]):
            street = create_organization(f"Street {d + 1}.{s + 1}", "street", district)
            for c in range(size["communities"]):
                communities.append(create_organization(f"Community {d + 1}.{s + 1}.{c + 1}", "community", street))
    return city, communities


def _staff_and_perks(city):
    for code, name_en, name_zh in CATEGORIES:
        rules.create_category(None, code, name_en, name_zh)
    rule_set = rules.create_rule_set(None, city, RULE_TABLE, effective_from=date(2020, 1, 1), name="Bench rules")
    rules.publish_rule_set(None, rule_set)
    clerk = accounts.create_user(username="bench-counter", name="Counter", password=PASSWORD)
    accounts.grant_role(clerk, "counter", city)
    admin = accounts.create_user(username="bench-admin", name="Administrator", password=PASSWORD)
    accounts.grant_role(admin, "admin", city)
    token_row, token = tokens.issue_api_token(
        clerk, name="bench counter", role="counter", organization=city, days=30, actor=clerk
    )
    open_perk = perks.create_perk(
        None, organization=city, venues=[city], name="City card discount", kind="other", points_cost=1
    )
    hot_perk = perks.create_perk(
        None, organization=city, venues=[city], name="Festival ticket", kind="goods", points_cost=1, stock=HOT_STOCK
    )
    for index in range(10):  # what a counter's lookup lists besides: levels, limits, stock
        perks.create_perk(
            None,
            organization=city,
            venues=[city],
            name=f"Perk {index + 1}",
            kind="goods",
            points_cost=5 * (index + 1),
            stock=100_000 if index % 3 == 0 else None,
            limit_quantity=2 if index % 2 == 0 else None,
            limit_period="month" if index % 2 == 0 else None,
            min_stars=index % 3,
        )
    return rule_set, clerk, admin, (token_row.id, token), open_perk.id, hot_perk.id


def _next_ids(*models):
    return [int(db.session.execute(select(func.coalesce(func.max(model.id), 0))).scalar_one()) + 1 for model in models]


def _copy_text(value):
    """One value in COPY's text format (the generated values hold no tab, newline or backslash)."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    return str(value)


class BulkWriter:
    """COPY on PostgreSQL, batched INSERT elsewhere; counts the rows written."""

    def __init__(self):
        self.connection = db.session.connection()
        self.postgresql = self.connection.dialect.name == "postgresql"
        self.rows = 0

    def write(self, model, columns, rows):
        rows = list(rows)
        self.rows += len(rows)
        if self.postgresql:
            cursor = self.connection.connection.driver_connection.cursor()
            names = ", ".join(f'"{name}"' for name in columns)
            with cursor.copy(f"COPY {model.__tablename__} ({names}) FROM STDIN") as copy:
                copy.write("".join("\t".join(map(_copy_text, row)) + "\n" for row in rows))
            return
        table = model.__table__
        for start in range(0, len(rows), BATCH):
            self.connection.execute(
                insert(table), [dict(zip(columns, row, strict=True)) for row in rows[start : start + BATCH]]
            )


@contextmanager
def indexes_built_after_load(connection, models):
    """On PostgreSQL, drop the secondary indexes, unique and foreign-key constraints of
    ``models``' tables, let the caller load them, then create each again from its own
    definition (read from the catalog first, so the database ends exactly as the schema
    made it): one sorted build per index and one check per foreign key instead of a
    B-tree insert and a lookup per row. Primary keys stay (their ids arrive in order)."""
    if connection.dialect.name != "postgresql":
        yield
        return
    tables = [model.__tablename__ for model in models]
    constraints = connection.execute(
        text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype FROM pg_constraint"
            " WHERE conrelid::regclass::text = ANY(:tables) AND contype IN ('f', 'u')"
            " ORDER BY contype, conrelid::regclass::text, conname"
        ),
        {"tables": tables},
    ).all()
    indexes = connection.execute(
        text(
            "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index"
            " WHERE indrelid::regclass::text = ANY(:tables) AND NOT indisprimary"
            " AND indexrelid NOT IN (SELECT conindid FROM pg_constraint WHERE contype IN ('p', 'u', 'x'))"
            " ORDER BY 1"
        ),
        {"tables": tables},
    ).all()
    for table, name, _definition, _kind in constraints:  # foreign keys first ('f' < 'u')
        connection.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
    for name, _definition in indexes:
        connection.execute(text(f'DROP INDEX "{name}"'))
    yield
    connection.execute(text(f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'"))
    for _name, definition in indexes:
        connection.execute(text(definition))
    for table, name, definition, _kind in sorted(constraints, key=lambda row: row[3] == "f"):  # unique first
        connection.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'))


def _volunteers_and_history(size, communities, rule_set, writer, members_path):
    """Volunteers with accounts, each with approved records, earn entries and lots, in batches."""
    rng = random.Random(22)
    now = utcnow().replace(microsecond=0)
    password_hash = accounts.hash_password(PASSWORD)
    user_id, profile_id, account_id, record_id, entry_id, lot_id, membership_id = _next_ids(
        User, VolunteerProfile, PointsAccount, ServiceRecord, LedgerEntry, PointsLot, RoleMembership
    )
    volunteers, records = size["volunteers"], size["records"]
    per_volunteer = records // volunteers
    chunk = max(1, BATCH // max(per_volunteer, 1))
    with open(members_path, "w") as members:
        for first in range(0, volunteers, chunk):
            users, memberships, profiles, accounts_rows, record_rows, entries, lots = [], [], [], [], [], [], []
            credentials = []
            for index in range(first, min(volunteers, first + chunk)):
                home = communities[index % len(communities)]
                number = member_number(index)
                members.write(number + "\n")
                users.append((user_id, f"Volunteer {index}", password_hash, True, False, "", now))
                memberships.append((membership_id, user_id, home.id, "volunteer", now))
                starts = sorted(
                    now - timedelta(days=rng.randint(1, 420), hours=rng.randint(0, 12), minutes=rng.randint(0, 59))
                    for _ in range(per_volunteer)
                )
                balance = 0
                for started_at in starts:
                    approved_at = started_at + timedelta(hours=26)
                    balance += RECORD_POINTS
                    category = CATEGORIES[rng.randint(0, 1)][0]
                    entries.append(
                        (entry_id, account_id, "earn", RECORD_POINTS, balance, "Volunteer service")
                        + ("service_record", str(record_id), approved_at)
                    )
                    record_rows.append(
                        (record_id, profile_id, home.id, category, started_at, started_at + timedelta(hours=2), 120)
                        + (False, "import", "approved", approved_at, 120, RECORD_POINTS, RECORD_POINTS)
                        + (rule_set.id, rule_set.version, entry_id, started_at, approved_at)
                    )
                    lots.append((lot_id, account_id, entry_id, RECORD_POINTS, RECORD_POINTS, approved_at))
                    record_id, entry_id, lot_id = record_id + 1, entry_id + 1, lot_id + 1
                profiles.append((profile_id, user_id, number, home.id, "bench", now, False, 120 * per_volunteer, now))
                credentials.append((profile_id, profile_id, code_nonce(index), 0, now))
                accounts_rows.append((account_id, profile_id, balance, balance, 0, 0, now, now))
                user_id, profile_id, account_id, membership_id = (
                    user_id + 1,
                    profile_id + 1,
                    account_id + 1,
                    membership_id + 1,
                )
            writer.write(
                User,
                ("id", "name", "password_hash", "active", "is_service_account", "session_token", "created_at"),
                users,
            )
            writer.write(RoleMembership, ("id", "user_id", "organization_id", "role", "created_at"), memberships)
            writer.write(
                VolunteerProfile,
                ("id", "user_id", "member_no", "home_organization_id", "consent_version", "consent_at")
                + ("public_listing_opt_out", "verified_minutes", "created_at"),
                profiles,
            )
            writer.write(
                MemberCredential, ("id", "volunteer_id", "code_nonce", "failed_attempts", "created_at"), credentials
            )
            writer.write(
                PointsAccount,
                ("id", "volunteer_id", "balance", "lifetime_earned", "lifetime_spent", "lifetime_expired")
                + ("created_at", "updated_at"),
                accounts_rows,
            )
            writer.write(
                LedgerEntry,
                ("id", "account_id", "kind", "delta", "balance_after", "reason", "cause_type", "cause_id")
                + ("created_at",),
                entries,
            )
            writer.write(
                ServiceRecord,
                ("id", "volunteer_id", "organization_id", "category", "started_at", "ended_at", "minutes")
                + ("urgent", "source", "status", "approved_at", "verified_minutes", "awarded_points", "points")
                + ("rule_set_id", "rule_set_version", "earn_entry_id", "created_at", "updated_at"),
                record_rows,
            )
            writer.write(PointsLot, ("id", "account_id", "entry_id", "amount", "remaining", "earned_at"), lots)
    if writer.postgresql:
        for model in BULK_MODELS:
            table = model.__tablename__
            db.session.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )


def _vacuum_analyze(postgresql):
    """What autovacuum would do to freshly loaded tables, done before anything is timed:
    hint bits and the visibility map set, statistics for the planner. Returns seconds."""
    if not postgresql:
        return 0.0
    started = time.perf_counter()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM (ANALYZE) " + ", ".join(model.__tablename__ for model in BULK_MODELS)))
    return time.perf_counter() - started


def generate(scale, out):
    size = SCALES[scale]
    app = create_app()
    with app.app_context():
        db.create_all()
        city, communities = _tree(size)
        rule_set, clerk, admin, (token_id, token), open_perk_id, hot_perk_id = _staff_and_perks(city)
        members_path = Path(out).with_suffix(".members.txt")
        started = time.perf_counter()
        writer = BulkWriter()
        with indexes_built_after_load(writer.connection, BULK_MODELS):
            _volunteers_and_history(size, communities, rule_set, writer, members_path)
            copy_seconds = time.perf_counter() - started
        db.session.commit()
        load_seconds = time.perf_counter() - started
        analyze_seconds = _vacuum_analyze(writer.postgresql)
        started = time.perf_counter()
        rebuild_monthly_figures(None)
        rebuild_organization_balances(None)
        rebuild_seconds = time.perf_counter() - started
        if writer.postgresql:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        fixture = {
            "scale": scale,
            "volunteers": size["volunteers"],
            "records": size["records"],
            "token": token,
            "token_id": token_id,
            "city_id": city.id,
            "admin_id": admin.id,
            "clerk_id": clerk.id,
            "open_perk_id": open_perk_id,
            "hot_perk_id": hot_perk_id,
            "hot_stock": HOT_STOCK,
            "members_file": str(members_path),
            "bulk_rows": writer.rows,
            "bulk_seconds": round(load_seconds, 2),
            "import_rows_per_s": round(writer.rows / load_seconds),
            "copy_seconds": round(copy_seconds, 2),
            "index_seconds": round(load_seconds - copy_seconds, 2),
            "vacuum_analyze_seconds": round(analyze_seconds, 2),
            "rebuild_seconds": round(rebuild_seconds, 2),
        }
    Path(out).write_text(json.dumps(fixture, indent=2))
    return fixture


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--out", required=True, help="where to write the JSON fixture")
    arguments = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        parser.error("set DATABASE_URL to an empty database")
    fixture = generate(arguments.scale, arguments.out)
    print(
        f"{arguments.scale}: {fixture['volunteers']:,} volunteers, {fixture['records']:,} records;"
        f" {fixture['bulk_rows']:,} rows in {fixture['bulk_seconds']} s ({fixture['import_rows_per_s']:,} rows/s:"
        f" {fixture['copy_seconds']} s of COPY, {fixture['index_seconds']} s of indexes and keys);"
        f" VACUUM ANALYZE {fixture['vacuum_analyze_seconds']} s;"
        f" monthly figures rebuilt in {fixture['rebuild_seconds']} s"
    )


if __name__ == "__main__":
    main()
