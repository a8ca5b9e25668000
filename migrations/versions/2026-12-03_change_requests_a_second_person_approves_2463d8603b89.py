"""change requests: a second person approves

Revision ID: 2463d8603b89
Revises: 5d1b8db0acb5
Create Date: 2026-12-03 00:45:46.142676

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "2463d8603b89"
down_revision = "5d1b8db0acb5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "change_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("target_type", sa.String(length=40), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("target_version", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("diff", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decision_reason", sa.String(length=500), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "(status = 'pending') = (decided_at IS NULL)",
            name=op.f("ck_change_requests_decided_exactly_when_not_pending"),
        ),
        sa.CheckConstraint(
            "status <> 'approved' OR reviewer_id <> author_id", name=op.f("ck_change_requests_reviewer_is_not_author")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'withdrawn')", name=op.f("ck_change_requests_status_known")
        ),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_change_requests_author_id_users")),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_change_requests_organization_id_organizations")
        ),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"], name=op.f("fk_change_requests_reviewer_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_requests")),
    )
    with op.batch_alter_table("change_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_change_requests_author_id"), ["author_id"], unique=False)
        batch_op.create_index(
            "ix_change_requests_status_organization", ["status", "organization_id", "id"], unique=False
        )
        batch_op.create_index(
            "uq_change_requests_one_pending",
            ["kind", "target_type", "target_id"],
            unique=True,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )


def downgrade():
    with op.batch_alter_table("change_requests", schema=None) as batch_op:
        batch_op.drop_index("uq_change_requests_one_pending")
        batch_op.drop_index("ix_change_requests_status_organization")
        batch_op.drop_index(batch_op.f("ix_change_requests_author_id"))

    op.drop_table("change_requests")
