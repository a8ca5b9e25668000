"""approvals backlog: pending service records by how long they have waited

Revision ID: 5b0e7f2c9a41
Revises: 7c1f0a9e5b2d
Create Date: 2026-12-03 06:00:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "5b0e7f2c9a41"
down_revision = "7c1f0a9e5b2d"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("service_records", schema=None) as batch_op:
        batch_op.create_index("ix_service_records_status_created_at", ["status", "created_at", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("service_records", schema=None) as batch_op:
        batch_op.drop_index("ix_service_records_status_created_at")
