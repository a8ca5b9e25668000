"""member credentials: the rotating member code's nonce, the counter PIN, wrong-try counts

Revision ID: 3e7a9c5d1b20
Revises: 8dd75d7a21ab
Create Date: 2026-12-03 08:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "3e7a9c5d1b20"
down_revision = "8dd75d7a21ab"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "member_credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("code_nonce", sa.String(length=32), nullable=False),
        sa.Column("pin_hash", sa.String(length=255), nullable=True),
        sa.Column("pin_set_at", sa.DateTime(), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteer_profiles.id"],
            name=op.f("fk_member_credentials_volunteer_id_volunteer_profiles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_credentials")),
        sa.UniqueConstraint("volunteer_id", name=op.f("uq_member_credentials_volunteer_id")),
    )


def downgrade():
    op.drop_table("member_credentials")
