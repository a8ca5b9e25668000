"""report organization balances: the points each home organization's volunteers hold

Revision ID: 8d4f2a6c1e93
Revises: 7181f48cc7d3
Create Date: 2026-12-03 11:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "8d4f2a6c1e93"
down_revision = "7181f48cc7d3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_organization_balances",
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_report_organization_balances_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_report_organization_balances")),
    )
    # The balances already held, summed once; from here on every change keeps them.
    op.execute(
        "INSERT INTO report_organization_balances (organization_id, points)"
        " SELECT volunteer_profiles.home_organization_id, sum(points_accounts.balance)"
        " FROM points_accounts JOIN volunteer_profiles ON volunteer_profiles.id = points_accounts.volunteer_id"
        " GROUP BY volunteer_profiles.home_organization_id"
    )


def downgrade():
    op.drop_table("report_organization_balances")
