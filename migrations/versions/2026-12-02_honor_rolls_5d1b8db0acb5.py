"""honor rolls: computed drafts and published, unchanging rankings

Revision ID: 5d1b8db0acb5
Revises: 88b70b54bcb9
Create Date: 2026-12-02 14:49:54.706501

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5d1b8db0acb5"
down_revision = "88b70b54bcb9"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "honor_rolls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("period_kind", sa.String(length=8), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=8), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("name_style", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("published_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("metric IN ('hours', 'points')", name=op.f("ck_honor_rolls_metric_known")),
        sa.CheckConstraint("name_style IN ('masked', 'full')", name=op.f("ck_honor_rolls_name_style_known")),
        sa.CheckConstraint(
            "period_kind IN ('month', 'quarter', 'year')", name=op.f("ck_honor_rolls_period_kind_known")
        ),
        sa.CheckConstraint(
            "status <> 'published' OR published_at IS NOT NULL", name=op.f("ck_honor_rolls_published_has_date")
        ),
        sa.CheckConstraint("status IN ('draft', 'published')", name=op.f("ck_honor_rolls_status_known")),
        sa.CheckConstraint("size BETWEEN 1 AND 100", name=op.f("ck_honor_rolls_size_in_range")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_honor_rolls_created_by_id_users")),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_honor_rolls_organization_id_organizations")
        ),
        sa.ForeignKeyConstraint(["published_by_id"], ["users.id"], name=op.f("fk_honor_rolls_published_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_honor_rolls")),
        sa.UniqueConstraint(
            "organization_id",
            "period_kind",
            "period_start",
            "metric",
            name=op.f("uq_honor_rolls_organization_id_period_kind_period_start_metric"),
        ),
    )
    with op.batch_alter_table("honor_rolls", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_honor_rolls_organization_id"), ["organization_id"], unique=False)
        batch_op.create_index("ix_honor_rolls_status_id", ["status", "id"], unique=False)

    op.create_table(
        "honor_roll_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("roll_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=80), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("home_community", sa.String(length=120), nullable=False),
        sa.CheckConstraint("rank BETWEEN 1 AND 100", name=op.f("ck_honor_roll_entries_rank_in_range")),
        sa.CheckConstraint("value > 0", name=op.f("ck_honor_roll_entries_value_positive")),
        sa.ForeignKeyConstraint(
            ["roll_id"], ["honor_rolls.id"], name=op.f("fk_honor_roll_entries_roll_id_honor_rolls")
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteer_profiles.id"],
            name=op.f("fk_honor_roll_entries_volunteer_id_volunteer_profiles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_honor_roll_entries")),
        sa.UniqueConstraint("roll_id", "rank", name=op.f("uq_honor_roll_entries_roll_id_rank")),
    )
    with op.batch_alter_table("honor_roll_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_honor_roll_entries_volunteer_id"), ["volunteer_id"], unique=False)


def downgrade():
    with op.batch_alter_table("honor_roll_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_honor_roll_entries_volunteer_id"))

    op.drop_table("honor_roll_entries")
    with op.batch_alter_table("honor_rolls", schema=None) as batch_op:
        batch_op.drop_index("ix_honor_rolls_status_id")
        batch_op.drop_index(batch_op.f("ix_honor_rolls_organization_id"))

    op.drop_table("honor_rolls")
