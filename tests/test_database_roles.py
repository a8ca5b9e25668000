"""The app as a database role that does not own the tables (PostgreSQL).

The migrations run as the owner (``MIGRATION_DATABASE_URL``) and grant the app's role
(``DATABASE_URL``) what the app needs; the database refuses that role everything else,
so not even the app's own connection can empty the ledger, switch its triggers off or
rewrite an entry or an audit event.
"""

import logging
import os
import uuid

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, make_url, text
from sqlalchemy.exc import DBAPIError

from points_service import create_app
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.ledger.models import LedgerEntry
from points_service.perks import service as perks
from tests.builders import Builder
from tests.builders.perks import redeem_with_code, request_key, stars
from tests.conftest import BASE_CONFIG, ON_POSTGRESQL, TEST_DATABASE_URL

pytestmark = [pytest.mark.postgresql_only, pytest.mark.skipif(not ON_POSTGRESQL, reason="database roles")]

MIGRATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations")


@pytest.fixture
def deployment():
    """A new database owned by the test superuser, and a login role that owns nothing:
    ``(owner URL, app URL)``."""
    suffix = uuid.uuid4().hex[:10]
    name, role = f"points_roles_{suffix}", f"points_app_{suffix}"
    admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        connection.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
    owner = make_url(TEST_DATABASE_URL).set(database=name)
    yield (
        owner.render_as_string(hide_password=False),
        owner.set(username=role, password=None).render_as_string(hide_password=False),
    )
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
    admin.dispose()


@pytest.fixture
def app_as_its_own_role(deployment):
    owner_url, app_url = deployment
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": app_url, "MIGRATION_DATABASE_URL": owner_url})
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        yield app
        db.session.remove()
        db.engine.dispose()


def refused(statement):
    with pytest.raises(DBAPIError) as error:
        db.session.execute(text(statement))
        db.session.flush()
    db.session.rollback()
    return str(error.value.orig)


def test_the_app_role_earns_and_redeems_but_cannot_empty_switch_off_or_rewrite_history(app_as_its_own_role):
    build = Builder(app_as_its_own_role)
    volunteer = build.volunteer(points=100)
    district = build.tree()["districts"][0]
    clerk, perk = build.counter_clerk(), build.perk(points_cost=30)
    member_no = volunteer.volunteer.member_no
    redemption = redeem_with_code(clerk, district, member_no, perk.id, 1, request_key("confirm-1"), level_of=stars(0))
    perks.void_redemption(clerk, redemption.id, "wrong card")
    redeem_with_code(clerk, district, member_no, perk.id, 2, request_key("confirm-2"), level_of=stars(0))
    assert build.account(volunteer).balance == 40
    entries = db.session.query(LedgerEntry).count()

    for statement in (
        "TRUNCATE ledger_entries CASCADE",
        "TRUNCATE audit_events",
        "UPDATE ledger_entries SET delta = 1000",
        "DELETE FROM ledger_entries",
        "UPDATE audit_events SET action = 'nothing.happened'",
        "DELETE FROM audit_events",
        "DELETE FROM lot_movements",
        "UPDATE points_lots SET amount = amount + 1",
        "DELETE FROM points_lots",
        "ALTER TABLE ledger_entries DISABLE TRIGGER ALL",
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update",
        "DROP TRIGGER ledger_entries_no_update ON ledger_entries",
        "CREATE OR REPLACE FUNCTION refuse_history_change() RETURNS trigger AS $$ BEGIN RETURN NEW; END; $$"
        " LANGUAGE plpgsql",
        "SET session_replication_role = replica",
    ):
        message = refused(statement)
        assert "permission denied" in message or "must be owner" in message, (statement, message)

    assert db.session.query(LedgerEntry).count() == entries
    assert ledger.verify_ledger().discrepancies == []


def test_the_migrations_refuse_to_hand_the_app_the_owners_role(deployment, caplog):
    owner_url, _app_url = deployment
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": owner_url, "MIGRATION_DATABASE_URL": owner_url})
    with app.app_context(), caplog.at_level(logging.ERROR), pytest.raises(SystemExit):
        upgrade(directory=MIGRATIONS)
    assert "give DATABASE_URL a role of its own" in caplog.text
    with app.app_context():
        assert inspect(db.engine).get_table_names() == []  # the migrations were rolled back with it
        db.engine.dispose()
