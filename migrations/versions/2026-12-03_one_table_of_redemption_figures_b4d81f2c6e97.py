"""one table of monthly redemption figures: by the volunteers' home and at the counter, per perk

A redemption at a counter changed two tables (report_perk_months, report_counter_months);
it now changes two rows of one, with one statement. The figures move over: those by
home as they are, those at the counter counted again per perk from the redemptions
(the old table had no perk).

Revision ID: b4d81f2c6e97
Revises: 3e9a41c7d2b8
Create Date: 2026-12-03 10:45:00.000000

"""

from collections import defaultdict
from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b4d81f2c6e97"
down_revision = "3e9a41c7d2b8"
branch_labels = None
depends_on = None

_BATCH = 5000

redemption_months = sa.table(
    "report_redemption_months",
    sa.column("organization_id", sa.Integer),
    sa.column("month", sa.Date),
    sa.column("perk_id", sa.Integer),
    sa.column("redemptions", sa.Integer),
    sa.column("points", sa.BigInteger),
    sa.column("counter_redemptions", sa.Integer),
    sa.column("counter_points", sa.BigInteger),
)


def _month(moment, timezone):
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).date().replace(day=1)


def _insert(connection, table, rows):
    for start in range(0, len(rows), _BATCH):
        connection.execute(sa.insert(table), rows[start : start + _BATCH])


def upgrade():
    op.create_table(
        "report_redemption_months",
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("perk_id", sa.Integer(), nullable=False),
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
        sa.PrimaryKeyConstraint("organization_id", "month", "perk_id", name=op.f("pk_report_redemption_months")),
    )
    with op.batch_alter_table("report_redemption_months", schema=None) as batch_op:
        batch_op.create_index("ix_report_redemption_months_month", ["month", "organization_id"], unique=False)

    connection = op.get_bind()
    figures = defaultdict(lambda: [0, 0, 0, 0])
    for organization_id, month, perk_id, redemptions, points in connection.execute(
        sa.text("SELECT organization_id, month, perk_id, redemptions, points FROM report_perk_months").columns(
            month=sa.Date
        )
    ):
        figures[(organization_id, month, perk_id)][0:2] = [redemptions, points]
    for counter_id, timezone, fulfilled_at, perk_id, points in connection.execute(
        sa.text(
            "SELECT o.id, o.timezone, r.fulfilled_at, r.perk_id, r.points FROM redemptions r"
            " JOIN organizations o ON o.id = r.counter_organization_id WHERE r.status = 'fulfilled'"
        ).columns(fulfilled_at=sa.DateTime)
    ):
        totals = figures[(counter_id, _month(fulfilled_at, timezone), perk_id)]
        totals[2] += 1
        totals[3] += points
    rows = [
        {
            "organization_id": organization_id,
            "month": month,
            "perk_id": perk_id,
            "redemptions": redemptions,
            "points": points,
            "counter_redemptions": counter_redemptions,
            "counter_points": counter_points,
        }
        for (organization_id, month, perk_id), (redemptions, points, counter_redemptions, counter_points) in sorted(
            figures.items()
        )
    ]
    _insert(connection, redemption_months, rows)

    with op.batch_alter_table("report_perk_months", schema=None) as batch_op:
        batch_op.drop_index("ix_report_perk_months_month")
    op.drop_table("report_perk_months")
    with op.batch_alter_table("report_counter_months", schema=None) as batch_op:
        batch_op.drop_index("ix_report_counter_months_month")
    op.drop_table("report_counter_months")


def downgrade():
    op.create_table(
        "report_counter_months",
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("redemptions", sa.Integer(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_report_counter_months_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "month", name=op.f("pk_report_counter_months")),
    )
    with op.batch_alter_table("report_counter_months", schema=None) as batch_op:
        batch_op.create_index("ix_report_counter_months_month", ["month", "organization_id"], unique=False)
    op.create_table(
        "report_perk_months",
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("perk_id", sa.Integer(), nullable=False),
        sa.Column("redemptions", sa.Integer(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_report_perk_months_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(["perk_id"], ["perks.id"], name=op.f("fk_report_perk_months_perk_id_perks")),
        sa.PrimaryKeyConstraint("organization_id", "month", "perk_id", name=op.f("pk_report_perk_months")),
    )
    with op.batch_alter_table("report_perk_months", schema=None) as batch_op:
        batch_op.create_index("ix_report_perk_months_month", ["month", "organization_id"], unique=False)
    op.execute(
        "INSERT INTO report_perk_months (organization_id, month, perk_id, redemptions, points)"
        " SELECT organization_id, month, perk_id, redemptions, points FROM report_redemption_months"
        " WHERE redemptions <> 0 OR points <> 0"
    )
    op.execute(
        "INSERT INTO report_counter_months (organization_id, month, redemptions, points)"
        " SELECT organization_id, month, SUM(counter_redemptions), SUM(counter_points) FROM report_redemption_months"
        " GROUP BY organization_id, month HAVING SUM(counter_redemptions) <> 0 OR SUM(counter_points) <> 0"
    )
    with op.batch_alter_table("report_redemption_months", schema=None) as batch_op:
        batch_op.drop_index("ix_report_redemption_months_month")
    op.drop_table("report_redemption_months")
