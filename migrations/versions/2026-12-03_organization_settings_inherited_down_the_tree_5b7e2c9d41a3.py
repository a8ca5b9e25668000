"""organization settings, inherited down the tree

Revision ID: 5b7e2c9d41a3
Revises: a31c8717b407
Create Date: 2026-12-04 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5b7e2c9d41a3"
down_revision = "a31c8717b407"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "organization_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_organization_settings_organization_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_organization_settings_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_settings")),
        sa.UniqueConstraint("organization_id", "key", name=op.f("uq_organization_settings_organization_id_key")),
    )
    with op.batch_alter_table("organization_settings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organization_settings_organization_id"), ["organization_id"], unique=False)


def downgrade():
    with op.batch_alter_table("organization_settings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_settings_organization_id"))

    op.drop_table("organization_settings")
