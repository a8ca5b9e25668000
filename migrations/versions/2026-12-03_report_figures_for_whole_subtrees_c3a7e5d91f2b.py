"""report figures for whole subtrees: service, active volunteers, redemptions by perk and
expired points are kept at every node above the place they belong to, so the dashboard of
any node reads that node's own rows; redemptions above the home are split in stripes.

The rows already there (one per place) are added up at every level here, in SQL on
both databases: a node's new row is its own row plus its descendants'. The redemptions
of a level above the home all land in stripe 0 (a reader adds the stripes up; new
redemptions spread over the stripes). The downgrade takes each node's children's rows
off its row again.

Revision ID: c3a7e5d91f2b
Revises: 8d4f2a6c1e93
Create Date: 2026-12-03 13:50:00

"""

# ruff: noqa: S608  (the SQL is built from this file's own table and column names only)

import sqlalchemy as sa
from alembic import op

revision = "c3a7e5d91f2b"
down_revision = "8d4f2a6c1e93"
branch_labels = None
depends_on = None

# Per table kept per place before and per subtree after: the columns naming a row, and its totals.
_SUBTREE_TABLES = {
    "report_service_months": (("month", "category"), ("records", "minutes", "points")),
    "report_active_months": (("month",), ("volunteers",)),
    "report_expiry_months": (("month",), ("points",)),
}
_REDEMPTIONS = "report_redemption_months"
_COUNTER_INDEX = "ix_report_redemption_months_counters"

# (place_id, scope_id): every node, and each node from the root down to it (itself included).
_LEVELS = {
    "postgresql": "SELECT id AS place_id, CAST(unnest(string_to_array(btrim(path, '/'), '/')) AS INTEGER) AS scope_id"
    " FROM organizations",
    "sqlite": "SELECT place.id AS place_id, scope.id AS scope_id"
    " FROM organizations place JOIN organizations scope ON place.path LIKE scope.path || '%'",
}


def _copy_aside(table):
    """The table's rows kept in a temporary table ``<table>_before``, the table emptied."""
    op.execute(f"CREATE TEMPORARY TABLE {table}_before AS SELECT * FROM {table}")
    op.execute(f"DELETE FROM {table}")


def _at_every_level(table, keys, totals):
    """Fill ``table`` with the rows set aside added up at their place and every node above it."""
    levels = _LEVELS[op.get_bind().dialect.name]
    key_list = ", ".join(f"own.{name}" for name in keys)
    op.execute(
        f"INSERT INTO {table} (organization_id, {', '.join(keys)}, {', '.join(totals)})"
        f" SELECT levels.scope_id, {key_list}, {', '.join(f'sum(own.{name})' for name in totals)}"
        f" FROM {table}_before own JOIN ({levels}) levels ON levels.place_id = own.organization_id"
        f" GROUP BY levels.scope_id, {key_list}"
    )
    op.execute(f"DROP TABLE {table}_before")


def _of_each_place(table, keys, counted_below, kept=()):
    """Fill ``table`` with each node's rows set aside less its children's (the ``counted_below``
    totals; the ``kept`` ones stay as they are), leaving out rows at zero."""
    joined = " AND ".join(f"below.{name} = own.{name}" for name in ("organization_id", *keys))
    own = [f"own.{name} - coalesce(below.{name}, 0)" for name in counted_below] + [f"own.{name}" for name in kept]
    op.execute(
        f"INSERT INTO {table} (organization_id, {', '.join(keys)}, {', '.join((*counted_below, *kept))})"
        f" SELECT own.organization_id, {', '.join(f'own.{name}' for name in keys)}, {', '.join(own)}"
        f" FROM {table}_before own LEFT JOIN ("
        f"SELECT node.parent_id AS organization_id, {', '.join(f'child.{name}' for name in keys)},"
        f" {', '.join(f'sum(child.{name}) AS {name}' for name in counted_below)}"
        f" FROM {table}_before child JOIN organizations node ON node.id = child.organization_id"
        f" WHERE node.parent_id IS NOT NULL"
        f" GROUP BY node.parent_id, {', '.join(f'child.{name}' for name in keys)}"
        f") below ON {joined}"
        f" WHERE {' OR '.join(f'{value} <> 0' for value in own)}"
    )
    op.execute(f"DROP TABLE {table}_before")


def _redemption_table(keys, primary_key):
    op.create_table(
        _REDEMPTIONS,
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("perk_id", sa.Integer(), nullable=False),
        *([sa.Column("stripe", sa.SmallInteger(), nullable=False)] if "stripe" in keys else []),
        sa.Column("redemptions", sa.Integer(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("counter_redemptions", sa.Integer(), nullable=False),
        sa.Column("counter_points", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_report_redemption_months_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(["perk_id"], ["perks.id"], name=op.f("fk_report_redemption_months_perk_id_perks")),
        sa.PrimaryKeyConstraint(*primary_key, name=op.f("pk_report_redemption_months")),
    )


def upgrade():
    for table, (keys, totals) in _SUBTREE_TABLES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_month")
        _copy_aside(table)
        _at_every_level(table, keys, totals)

    op.execute(f"CREATE TEMPORARY TABLE {_REDEMPTIONS}_before AS SELECT * FROM {_REDEMPTIONS}")
    op.drop_table(_REDEMPTIONS)
    _redemption_table(("stripe",), ("organization_id", "month", "perk_id", "stripe"))
    with op.batch_alter_table(_REDEMPTIONS, schema=None) as batch_op:
        batch_op.create_index(
            _COUNTER_INDEX,
            ["month", "organization_id"],
            unique=False,
            postgresql_where=sa.text("counter_redemptions <> 0"),
            sqlite_where=sa.text("counter_redemptions <> 0"),
        )
    levels = _LEVELS[op.get_bind().dialect.name]
    at_the_counter = [
        f"sum(CASE WHEN levels.scope_id = own.organization_id THEN own.{name} ELSE 0 END)"
        for name in ("counter_redemptions", "counter_points")
    ]
    op.execute(
        f"INSERT INTO {_REDEMPTIONS}"
        " (organization_id, month, perk_id, stripe, redemptions, points, counter_redemptions, counter_points)"
        f" SELECT levels.scope_id, own.month, own.perk_id, 0, sum(own.redemptions), sum(own.points),"
        f" {', '.join(at_the_counter)}"
        f" FROM {_REDEMPTIONS}_before own JOIN ({levels}) levels ON levels.place_id = own.organization_id"
        " GROUP BY levels.scope_id, own.month, own.perk_id"
        f" HAVING sum(own.redemptions) <> 0 OR sum(own.points) <> 0 OR {' <> 0 OR '.join(at_the_counter)} <> 0"
    )
    op.execute(f"DROP TABLE {_REDEMPTIONS}_before")


def downgrade():
    op.execute(
        f"CREATE TEMPORARY TABLE {_REDEMPTIONS}_before AS SELECT organization_id, month, perk_id,"
        " sum(redemptions) AS redemptions, sum(points) AS points,"
        " sum(counter_redemptions) AS counter_redemptions, sum(counter_points) AS counter_points"
        f" FROM {_REDEMPTIONS} GROUP BY organization_id, month, perk_id"
    )
    with op.batch_alter_table(_REDEMPTIONS, schema=None) as batch_op:
        batch_op.drop_index(_COUNTER_INDEX)
    op.drop_table(_REDEMPTIONS)
    _redemption_table((), ("organization_id", "month", "perk_id"))
    with op.batch_alter_table(_REDEMPTIONS, schema=None) as batch_op:
        batch_op.create_index("ix_report_redemption_months_month", ["month", "organization_id"], unique=False)
    _of_each_place(
        _REDEMPTIONS,
        ("month", "perk_id"),
        ("redemptions", "points"),
        kept=("counter_redemptions", "counter_points"),
    )

    for table, (keys, totals) in reversed(_SUBTREE_TABLES.items()):
        _copy_aside(table)
        _of_each_place(table, keys, totals)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"ix_{table}_month", ["month", "organization_id"], unique=False)
