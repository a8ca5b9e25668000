"""ledger history guards: no TRUNCATE, append-only lots, movements and audit; entry notes

Ledger entries, lot movements and audit events refuse UPDATE, DELETE and (PostgreSQL)
TRUNCATE; points lots refuse DELETE, TRUNCATE and any UPDATE except of ``remaining``
and ``expired_at``. Ledger entries get a ``note``: what a person wrote, kept apart from
the ``reason`` message id that is translated when shown.

Revision ID: 0190d189a778
Revises: 125a44ace405
Create Date: 2026-12-03 00:50:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0190d189a778"
down_revision = "125a44ace405"
branch_labels = None
depends_on = None

# (table, how the error names its rows, columns an UPDATE may change)
GUARDED = [
    ("ledger_entries", "ledger entries", ()),
    ("points_lots", "points lots", ("remaining", "expired_at")),
    ("lot_movements", "lot movements", ()),
    ("audit_events", "audit events", ()),
]
# The columns of points_lots that never change once the lot exists.
FIXED_LOT_COLUMNS = ("id", "account_id", "entry_id", "amount", "earned_at", "expires_at")

POSTGRESQL_FUNCTION = """CREATE OR REPLACE FUNCTION refuse_history_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND TG_NARGS > 1
       AND (to_jsonb(OLD) - TG_ARGV[1:TG_NARGS - 1]) = (to_jsonb(NEW) - TG_ARGV[1:TG_NARGS - 1]) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% are append-only: % refused', TG_ARGV[0], TG_OP;
END; $$ LANGUAGE plpgsql"""

# What the foundation revision installed on ledger_entries, restored by the downgrade.
FOUNDATION_POSTGRESQL = [
    """CREATE OR REPLACE FUNCTION ledger_entries_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'ledger entries are append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE OR DELETE ON ledger_entries
       FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()""",
]


def _postgresql():
    return op.get_bind().dialect.name == "postgresql"


def _postgresql_triggers(table, rows, updatable):
    arguments = ", ".join(f"'{value}'" for value in (rows, *updatable))
    run = f"EXECUTE FUNCTION refuse_history_change({arguments})"
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} FOR EACH ROW {run}",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} FOR EACH ROW {run}",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT {run}",
    ]


def _sqlite_triggers(table, rows, updatable):
    refusal = f"BEGIN SELECT RAISE(ABORT, '{rows} are append-only'); END"
    changed = " OR ".join(f"NEW.{column} IS NOT OLD.{column}" for column in FIXED_LOT_COLUMNS)
    when = f" WHEN {changed} " if updatable else " "
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}{when}{refusal}",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} {refusal}",
    ]


def upgrade():
    op.add_column("ledger_entries", sa.Column("note", sa.String(length=255), nullable=True))
    if _postgresql():
        op.execute("DROP TRIGGER ledger_entries_no_update ON ledger_entries")
        op.execute("DROP FUNCTION ledger_entries_append_only()")
        op.execute(POSTGRESQL_FUNCTION)
        for table, rows, updatable in GUARDED:
            for statement in _postgresql_triggers(table, rows, updatable):
                op.execute(statement)
    else:
        # ledger_entries has had these two triggers since the foundation revision.
        for table, rows, updatable in GUARDED[1:]:
            for statement in _sqlite_triggers(table, rows, updatable):
                op.execute(statement)


def downgrade():
    if _postgresql():
        for table, _rows, _updatable in GUARDED:
            for suffix in ("no_update", "no_delete", "no_truncate"):
                op.execute(f"DROP TRIGGER {table}_{suffix} ON {table}")
        op.execute("DROP FUNCTION refuse_history_change()")
        for statement in FOUNDATION_POSTGRESQL:
            op.execute(statement)
    else:
        for table, _rows, _updatable in GUARDED[1:]:
            for suffix in ("no_update", "no_delete"):
                op.execute(f"DROP TRIGGER {table}_{suffix}")
    # In place (SQLite 3.35 and later), so that ledger_entries keeps its foundation triggers.
    op.execute("ALTER TABLE ledger_entries DROP COLUMN note")
