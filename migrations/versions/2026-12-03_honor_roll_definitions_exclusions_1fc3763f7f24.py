"""honor roll definitions (periodic rolls of an organization) and exclusions from a draft

Revision ID: 1fc3763f7f24
Revises: 06d9ad835159
Create Date: 2026-12-03 04:27:50.301438

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "1fc3763f7f24"
down_revision = "06d9ad835159"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "honor_roll_definitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("period_kind", sa.String(length=8), nullable=False),
        sa.Column("metric", sa.String(length=8), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("name_style", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("metric IN ('hours', 'points')", name=op.f("ck_honor_roll_definitions_metric_known")),
        sa.CheckConstraint("name_style IN ('masked', 'full')", name=op.f("ck_honor_roll_definitions_name_style_known")),
        sa.CheckConstraint(
            "period_kind IN ('month', 'quarter', 'year')", name=op.f("ck_honor_roll_definitions_period_kind_known")
        ),
        sa.CheckConstraint("size BETWEEN 1 AND 100", name=op.f("ck_honor_roll_definitions_size_in_range")),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_honor_roll_definitions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_honor_roll_definitions_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_honor_roll_definitions")),
        sa.UniqueConstraint(
            "organization_id",
            "period_kind",
            "metric",
            name=op.f("uq_honor_roll_definitions_organization_id_period_kind_metric"),
        ),
    )
    with op.batch_alter_table("honor_roll_definitions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_honor_roll_definitions_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "honor_roll_exclusions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("roll_id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=80), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("excluded_by_id", sa.Integer(), nullable=True),
        sa.Column("excluded_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["excluded_by_id"], ["users.id"], name=op.f("fk_honor_roll_exclusions_excluded_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["roll_id"], ["honor_rolls.id"], name=op.f("fk_honor_roll_exclusions_roll_id_honor_rolls")
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteer_profiles.id"],
            name=op.f("fk_honor_roll_exclusions_volunteer_id_volunteer_profiles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_honor_roll_exclusions")),
        sa.UniqueConstraint("roll_id", "volunteer_id", name=op.f("uq_honor_roll_exclusions_roll_id_volunteer_id")),
    )
    with op.batch_alter_table("honor_roll_exclusions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_honor_roll_exclusions_volunteer_id"), ["volunteer_id"], unique=False)

    with op.batch_alter_table("honor_rolls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("definition_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_honor_rolls_definition_id_period_start"), ["definition_id", "period_start"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_honor_rolls_definition_id_honor_roll_definitions"),
            "honor_roll_definitions",
            ["definition_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("honor_rolls", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_honor_rolls_definition_id_honor_roll_definitions"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_honor_rolls_definition_id_period_start"), type_="unique")
        batch_op.drop_column("definition_id")

    with op.batch_alter_table("honor_roll_exclusions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_honor_roll_exclusions_volunteer_id"))

    op.drop_table("honor_roll_exclusions")
    with op.batch_alter_table("honor_roll_definitions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_honor_roll_definitions_organization_id"))

    op.drop_table("honor_roll_definitions")
