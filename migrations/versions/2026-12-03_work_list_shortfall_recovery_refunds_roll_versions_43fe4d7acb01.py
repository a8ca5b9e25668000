"""work list: shortfall recovery and write-off, refunds handed back, honor roll versions

Revision ID: 43fe4d7acb01
Revises: e1654bec20ba
Create Date: 2026-12-03 00:57:53.519729

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "43fe4d7acb01"
down_revision = "e1654bec20ba"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("honor_rolls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))

    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refund_method", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("refunded_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("refunded_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("refund_note", sa.String(length=255), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_redemptions_refunded_by_id_users"), "users", ["refunded_by_id"], ["id"]
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_redemptions_refunded_has_date_and_method"),
            "payment_status <> 'refunded' OR (refunded_at IS NOT NULL AND refund_method IS NOT NULL)",
        )
        batch_op.create_index(
            "ix_redemptions_refund_due",
            ["id"],
            unique=False,
            postgresql_where=sa.text("payment_status = 'refund_due'"),
            sqlite_where=sa.text("payment_status = 'refund_due'"),
        )

    with op.batch_alter_table("reversal_shortfalls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recovered_points", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("written_off_points", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_check_constraint(
            batch_op.f("ck_reversal_shortfalls_settled_within_points"),
            "recovered_points >= 0 AND written_off_points >= 0 AND recovered_points + written_off_points <= points",
        )
        batch_op.create_index(
            "ix_reversal_shortfalls_open",
            ["id"],
            unique=False,
            postgresql_where=sa.text("settled_at IS NULL"),
            sqlite_where=sa.text("settled_at IS NULL"),
        )


def downgrade():
    with op.batch_alter_table("reversal_shortfalls", schema=None) as batch_op:
        batch_op.drop_index("ix_reversal_shortfalls_open")
        batch_op.drop_constraint(batch_op.f("ck_reversal_shortfalls_settled_within_points"), type_="check")
        batch_op.drop_column("written_off_points")
        batch_op.drop_column("recovered_points")

    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.drop_index("ix_redemptions_refund_due")
        batch_op.drop_constraint(batch_op.f("ck_redemptions_refunded_has_date_and_method"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_redemptions_refunded_by_id_users"), type_="foreignkey")
        batch_op.drop_column("refund_note")
        batch_op.drop_column("refunded_by_id")
        batch_op.drop_column("refunded_at")
        batch_op.drop_column("refund_method")

    with op.batch_alter_table("honor_rolls", schema=None) as batch_op:
        batch_op.drop_column("version")
