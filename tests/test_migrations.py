"""The Alembic history is the schema: one head, upgrade from empty equals the models,
downgrade to base leaves nothing behind."""

import os
from datetime import datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect

from points_service import create_app
from points_service.extensions import db
from tests.conftest import BASE_CONFIG
from tests.databases import empty_database

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")
BEFORE_THE_HONOR_FIGURES = "b4d81f2c6e97"  # the revision below the one that adds report_honor_months


@pytest.fixture
def empty_database_url(tmp_path):
    with empty_database(tmp_path, "migrations") as url:
        yield url


@pytest.fixture
def migration_app(empty_database_url):
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_migrations_have_a_single_head(migration_app):
    script = ScriptDirectory.from_config(migration_app.extensions["migrate"].migrate.get_config(MIGRATIONS))
    assert len(script.get_heads()) == 1


def test_upgrade_from_empty_gives_exactly_the_models_schema(migration_app):
    upgrade(directory=MIGRATIONS)
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_upgrade_installs_the_append_only_ledger_triggers(migration_app):
    upgrade(directory=MIGRATIONS)
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            rows = connection.exec_driver_sql(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'ledger_entries'::regclass AND NOT tgisinternal"
            ).all()
        else:
            rows = connection.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'ledger_entries'"
            ).all()
    assert rows


def test_downgrade_to_base_removes_every_table(migration_app):
    upgrade(directory=MIGRATIONS)
    downgrade(directory=MIGRATIONS, revision="base")
    tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()


def _checks_and_triggers(url):
    """``({table: {check name: normalised text}}, {(table, trigger name)})`` of a database."""
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        checks = {
            table: {
                check["name"]: " ".join(check["sqltext"].split()).lower()
                for check in inspector.get_check_constraints(table)
            }
            for table in inspector.get_table_names()
            if table != "alembic_version"
        }
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                rows = connection.exec_driver_sql(
                    "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE NOT t.tgisinternal"
                ).all()
            else:
                rows = connection.exec_driver_sql(
                    "SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"
                ).all()
        return checks, set(map(tuple, rows))
    finally:
        engine.dispose()


def test_upgrade_gives_the_models_check_constraints_and_triggers(migration_app, empty_database_url, database_url):
    # Autogenerate compares neither CHECK constraints nor triggers, so compare them with
    # a database built from the models, reflected the same way.
    upgrade(directory=MIGRATIONS)
    db.engine.dispose()
    migrated_checks, migrated_triggers = _checks_and_triggers(empty_database_url)
    model_checks, model_triggers = _checks_and_triggers(database_url)
    assert migrated_triggers == model_triggers
    assert ("ledger_entries", "ledger_entries_no_update") in migrated_triggers
    for table, checks in model_checks.items():
        assert migrated_checks.get(table) == checks, table


def test_the_ledger_works_on_a_migrated_database_and_its_entries_cannot_be_changed(migration_app):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from points_service.accounts.service import create_volunteer, hash_password
    from points_service.ledger import service as ledger
    from points_service.organizations.service import create_organization

    upgrade(directory=MIGRATIONS)
    city = create_organization("City", "city")
    street = create_organization("Street", "street", create_organization("District", "district", city))
    user = create_volunteer(
        name="Wang Wu",
        mobile="13800000001",
        home=create_organization("Community", "community", street),
        password_hash=hash_password("correct-horse-7"),
        consent_version="test",
    )
    account_id = ledger.account_of_volunteer(user.volunteer.id).id
    start = datetime(2026, 1, 1)
    earning = ledger.earn_points(account_id, 30, reason="earned", now=start, expires_at=start + timedelta(days=1))
    spend = ledger.spend_points(account_id, 10, reason="spent", now=start)
    ledger.reverse_entry(spend.id, reason="voided", now=start)
    ledger.expire_account(account_id, now=start + timedelta(days=2))
    # nothing is left to take back: the reversal is recorded as a settled zero shortfall
    ledger.reverse_entry(earning.id, reason="not real", now=start + timedelta(days=3))

    assert ledger.verify_ledger().discrepancies == []
    for statement in ("UPDATE ledger_entries SET delta = 1", "DELETE FROM ledger_entries"):
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    with pytest.raises(DBAPIError):
        db.session.execute(text("UPDATE points_accounts SET balance = -1"))
    db.session.rollback()


def test_downgrade_then_upgrade_again_works(migration_app):
    upgrade(directory=MIGRATIONS)
    downgrade(directory=MIGRATIONS, revision="base")
    upgrade(directory=MIGRATIONS)
    assert "ledger_entries" in inspect(db.engine).get_table_names()


def _a_volunteer_with_records(records):
    """Upgrade, then a city > district > street > community with a volunteer at home in the
    community and ``records`` ((day of 2026, place name, status)), their monthly figures
    rebuilt. Returns the nodes by name and the volunteer's profile id."""
    from points_service.accounts.service import create_volunteer, hash_password
    from points_service.activities.models import ServiceRecord
    from points_service.organizations.service import create_organization
    from points_service.reports.aggregates import rebuild_monthly_figures

    upgrade(directory=MIGRATIONS)
    city = create_organization("City", "city")
    district = create_organization("District", "district", city)
    street = create_organization("Street", "street", district)
    community = create_organization("Community", "community", street)
    nodes = {"city": city, "district": district, "street": street, "community": community}
    user = create_volunteer(
        name="Wang Wu",
        mobile="13800000001",
        home=community,
        password_hash=hash_password("correct-horse-7"),
        consent_version="test",
    )
    for day, place, status in records:
        started = datetime(2026, 1, 1, 2) + timedelta(days=day)
        db.session.add(
            ServiceRecord(
                volunteer_id=user.volunteer.id,
                organization_id=nodes[place].id,
                category="elderly_care",
                started_at=started,
                ended_at=started + timedelta(hours=1),
                minutes=60,
                verified_minutes=60,
                points=10,
                awarded_points=10,
                approved_at=started,
                rejection_reason="not here" if status == "rejected" else None,
                status=status,
                source="import",
                created_at=started,
                updated_at=started,
            )
        )
    db.session.commit()
    rebuild_monthly_figures(None)
    return {name: node.id for name, node in nodes.items()}, user.volunteer.id


def test_the_honor_figures_are_filled_from_the_records_on_upgrade(migration_app):
    from sqlalchemy import select

    from points_service.reports.models import HonorMonth

    nodes, volunteer = _a_volunteer_with_records(
        [(1, "community", "approved"), (2, "street", "approved"), (40, "community", "approved")]
        + [(3, "community", "rejected")]
    )

    def figures():
        db.session.remove()
        db.engine.dispose()  # a fresh connection: it sees what the migrations just did
        table = HonorMonth.__table__  # plain rows: nothing kept from before the migrations
        columns = (table.c.organization_id, table.c.month, table.c.volunteer_id, table.c.minutes, table.c.points)
        found = sorted(tuple(row) for row in db.session.execute(select(*columns)))
        db.session.remove()  # no lock held while the migrations drop and create the table
        return found

    rebuilt = figures()
    downgrade(directory=MIGRATIONS, revision=BEFORE_THE_HONOR_FIGURES)
    assert "report_honor_months" not in inspect(db.engine).get_table_names()
    upgrade(directory=MIGRATIONS)

    assert figures() == rebuilt
    assert len(rebuilt) == 4 + 4  # January at the community's four levels, February's at four
    assert (nodes["city"], datetime(2026, 1, 1).date(), volunteer, 120, 20) in rebuilt


def test_the_report_figures_of_whole_subtrees_are_added_up_from_each_places_rows_on_upgrade(migration_app):
    from sqlalchemy import text

    nodes, _volunteer = _a_volunteer_with_records(
        [(1, "community", "approved"), (2, "street", "approved"), (3, "community", "approved")]
    )
    city, district, street, community = nodes["city"], nodes["district"], nodes["street"], nodes["community"]

    def rows(table, columns):
        db.session.remove()
        db.engine.dispose()  # a fresh connection: it sees what the migrations just did
        found = sorted(tuple(row) for row in db.session.execute(text(f"SELECT {columns} FROM {table}")))  # noqa: S608
        db.session.remove()  # no lock held while the migrations change the tables
        return found

    def figures():
        return rows("report_service_months", "organization_id, records, minutes, points"), rows(
            "report_active_months", "organization_id, volunteers"
        )

    rebuilt = figures()
    assert rebuilt == (
        sorted([(city, 3, 180, 30), (district, 3, 180, 30), (street, 3, 180, 30), (community, 2, 120, 20)]),
        sorted([(city, 1), (district, 1), (street, 1), (community, 1)]),
    )
    downgrade(directory=MIGRATIONS, revision="-1")
    # before: each place's own rows
    assert rows("report_service_months", "organization_id, records") == sorted([(street, 1), (community, 2)])
    assert rows("report_active_months", "organization_id, volunteers") == [(community, 1)]
    upgrade(directory=MIGRATIONS)

    assert figures() == rebuilt
