"""service certificates

Revision ID: daac78876e48
Revises: 2463d8603b89
Create Date: 2026-12-03 00:55:59.450815

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "daac78876e48"
down_revision = "2463d8603b89"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "service_certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=24), nullable=True),
        sa.Column("verification_code", sa.String(length=20), nullable=False),
        sa.Column("volunteer_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("first_service_on", sa.Date(), nullable=False),
        sa.Column("last_service_on", sa.Date(), nullable=False),
        sa.Column("total_minutes", sa.Integer(), nullable=False),
        sa.Column("record_count", sa.Integer(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("revoke_reason", sa.String(length=255), nullable=True),
        sa.CheckConstraint(
            "(revoked_at IS NULL) = (revoke_reason IS NULL)", name=op.f("ck_service_certificates_revoked_with_reason")
        ),
        sa.CheckConstraint("period_end >= period_start", name=op.f("ck_service_certificates_period_in_order")),
        sa.CheckConstraint("record_count > 0", name=op.f("ck_service_certificates_record_count_positive")),
        sa.CheckConstraint("total_minutes > 0", name=op.f("ck_service_certificates_total_minutes_positive")),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_service_certificates_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"], ["users.id"], name=op.f("fk_service_certificates_revoked_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["volunteer_profiles.id"],
            name=op.f("fk_service_certificates_volunteer_id_volunteer_profiles"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_certificates")),
        sa.UniqueConstraint("number", name=op.f("uq_service_certificates_number")),
        sa.UniqueConstraint("verification_code", name=op.f("uq_service_certificates_verification_code")),
    )
    with op.batch_alter_table("service_certificates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_certificates_organization_id"), ["organization_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_certificates_volunteer_id"), ["volunteer_id"], unique=False)


def downgrade():
    with op.batch_alter_table("service_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_certificates_volunteer_id"))
        batch_op.drop_index(batch_op.f("ix_service_certificates_organization_id"))

    op.drop_table("service_certificates")
