"""monthly report figures: service, active volunteers, redemptions and expiry per organization and month

Fill them for existing data with `flask --app wsgi points reports-rebuild` after upgrading.

Revision ID: 06d9ad835159
Revises: 7c2e91d4a5b3
Create Date: 2026-12-03 05:14:30.383567

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "06d9ad835159"
down_revision = "7c2e91d4a5b3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_active_months",
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("volunteers", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_report_active_months_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "month", name=op.f("pk_report_active_months")),
    )
    with op.batch_alter_table("report_active_months", schema=None) as batch_op:
        batch_op.create_index("ix_report_active_months_month", ["month", "organization_id"], unique=False)

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
        "report_expiry_months",
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_report_expiry_months_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "month", name=op.f("pk_report_expiry_months")),
    )
    with op.batch_alter_table("report_expiry_months", schema=None) as batch_op:
        batch_op.create_index("ix_report_expiry_months_month", ["month", "organization_id"], unique=False)

    op.create_table(
        "report_service_months",
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("minutes", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_report_service_months_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "month", "category", name=op.f("pk_report_service_months")),
    )
    with op.batch_alter_table("report_service_months", schema=None) as batch_op:
        batch_op.create_index("ix_report_service_months_month", ["month", "organization_id"], unique=False)

    op.create_table(
        "report_perk_months",
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("perk_id", sa.Integer(), nullable=False),
        sa.Column("redemptions", sa.Integer(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_report_perk_months_organization_id_organizations")
        ),
        sa.ForeignKeyConstraint(["perk_id"], ["perks.id"], name=op.f("fk_report_perk_months_perk_id_perks")),
        sa.PrimaryKeyConstraint("organization_id", "month", "perk_id", name=op.f("pk_report_perk_months")),
    )
    with op.batch_alter_table("report_perk_months", schema=None) as batch_op:
        batch_op.create_index("ix_report_perk_months_month", ["month", "organization_id"], unique=False)

    op.create_table(
        "report_volunteer_months",
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_report_volunteer_months_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteer_profiles.id"],
            name=op.f("fk_report_volunteer_months_volunteer_id_volunteer_profiles"),
        ),
        sa.PrimaryKeyConstraint("organization_id", "month", "volunteer_id", name=op.f("pk_report_volunteer_months")),
    )


def downgrade():
    op.drop_table("report_volunteer_months")
    with op.batch_alter_table("report_perk_months", schema=None) as batch_op:
        batch_op.drop_index("ix_report_perk_months_month")

    op.drop_table("report_perk_months")
    with op.batch_alter_table("report_service_months", schema=None) as batch_op:
        batch_op.drop_index("ix_report_service_months_month")

    op.drop_table("report_service_months")
    with op.batch_alter_table("report_expiry_months", schema=None) as batch_op:
        batch_op.drop_index("ix_report_expiry_months_month")

    op.drop_table("report_expiry_months")
    with op.batch_alter_table("report_counter_months", schema=None) as batch_op:
        batch_op.drop_index("ix_report_counter_months_month")

    op.drop_table("report_counter_months")
    with op.batch_alter_table("report_active_months", schema=None) as batch_op:
        batch_op.drop_index("ix_report_active_months_month")

    op.drop_table("report_active_months")
