"""Honor figures: each volunteer's approved minutes and points per month, in every subtree.

An honor roll then reads its best volunteers off an index of these rows instead of
adding up a month of records. Filled here from the approved records (PostgreSQL adds
them up itself; SQLite through Python), so the rolls are right right after the upgrade.

Revision ID: 7181f48cc7d3
Revises: b4d81f2c6e97
Create Date: 2026-12-03 10:29:16.790169

"""

from collections import defaultdict
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "7181f48cc7d3"
down_revision = "b4d81f2c6e97"
branch_labels = None
depends_on = None

_FILL_IN_POSTGRESQL = """
INSERT INTO report_honor_months (organization_id, month, volunteer_id, minutes, points)
SELECT scope.id,
       CAST(date_trunc('month', timezone(scope.timezone, timezone('UTC', r.started_at))) AS DATE),
       r.volunteer_id,
       sum(coalesce(r.verified_minutes, 0)),
       sum(coalesce(r.points, 0))
FROM service_records r
JOIN organizations place ON place.id = r.organization_id
JOIN organizations scope ON place.path LIKE scope.path || '%'
WHERE r.status = 'approved'
GROUP BY 1, 2, 3
"""


def _fill_in_python(connection):
    zones = {
        row.id: ZoneInfo(row.timezone) for row in connection.execute(sa.text("SELECT id, timezone FROM organizations"))
    }
    totals = defaultdict(lambda: [0, 0])
    records = connection.execute(
        sa.text(
            "SELECT o.path, r.started_at, r.volunteer_id, r.verified_minutes, r.points FROM service_records r"
            " JOIN organizations o ON o.id = r.organization_id WHERE r.status = 'approved'"
        )
    )
    for path, started_at, volunteer_id, minutes, points in records:
        if isinstance(started_at, str):
            started_at = datetime.fromisoformat(started_at)
        for scope_id in (int(part) for part in path.strip("/").split("/")):
            local = started_at.replace(tzinfo=UTC).astimezone(zones[scope_id])
            row = totals[(scope_id, local.date().replace(day=1), volunteer_id)]
            row[0] += minutes or 0
            row[1] += points or 0
    table = sa.table(
        "report_honor_months",
        sa.column("organization_id", sa.Integer),
        sa.column("month", sa.Date),
        sa.column("volunteer_id", sa.Integer),
        sa.column("minutes", sa.BigInteger),
        sa.column("points", sa.BigInteger),
    )
    values = [
        {"organization_id": o, "month": m, "volunteer_id": v, "minutes": n, "points": p}
        for (o, m, v), (n, p) in totals.items()
    ]
    for start in range(0, len(values), 5000):
        connection.execute(table.insert(), values[start : start + 5000])


def upgrade():
    op.create_table(
        "report_honor_months",
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_report_honor_months_organization_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteer_profiles.id"],
            name=op.f("fk_report_honor_months_volunteer_id_volunteer_profiles"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "month", "volunteer_id", name=op.f("pk_report_honor_months")),
    )
    with op.batch_alter_table("report_honor_months", schema=None) as batch_op:
        batch_op.create_index("ix_report_honor_months_minutes", ["organization_id", "month", "minutes"], unique=False)
        batch_op.create_index("ix_report_honor_months_points", ["organization_id", "month", "points"], unique=False)
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text(_FILL_IN_POSTGRESQL))
    else:
        _fill_in_python(connection)


def downgrade():
    with op.batch_alter_table("report_honor_months", schema=None) as batch_op:
        batch_op.drop_index("ix_report_honor_months_points")
        batch_op.drop_index("ix_report_honor_months_minutes")
    op.drop_table("report_honor_months")
