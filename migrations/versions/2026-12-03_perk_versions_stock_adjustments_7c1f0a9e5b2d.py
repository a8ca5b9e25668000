"""perks: an edit version, and stock adjustments with their reason

Revision ID: 7c1f0a9e5b2d
Revises: 5b7e2c9d1a40
Create Date: 2026-12-04 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7c1f0a9e5b2d"
down_revision = "5b7e2c9d1a40"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("perks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))

    op.create_table(
        "perk_stock_adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("perk_id", sa.Integer(), nullable=False),
        sa.Column("stock_before", sa.Integer(), nullable=True),
        sa.Column("stock_after", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "stock_after IS NULL OR stock_after >= 0",
            name=op.f("ck_perk_stock_adjustments_stock_after_not_negative"),
        ),
        sa.CheckConstraint(
            "stock_before IS NULL OR stock_before >= 0",
            name=op.f("ck_perk_stock_adjustments_stock_before_not_negative"),
        ),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_perk_stock_adjustments_actor_id_users")),
        sa.ForeignKeyConstraint(["perk_id"], ["perks.id"], name=op.f("fk_perk_stock_adjustments_perk_id_perks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_perk_stock_adjustments")),
    )
    op.create_index("ix_perk_stock_adjustments_perk", "perk_stock_adjustments", ["perk_id", "id"], unique=False)


def downgrade():
    op.drop_index("ix_perk_stock_adjustments_perk", table_name="perk_stock_adjustments")
    op.drop_table("perk_stock_adjustments")
    with op.batch_alter_table("perks", schema=None) as batch_op:
        batch_op.drop_column("version")
