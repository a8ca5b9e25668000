"""audit events keep their request id and source; volunteer profiles can be merged into another

Revision ID: 7c2e91d4a5b3
Revises: 5b0e7f2c9a41
Create Date: 2026-12-04 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "7c2e91d4a5b3"
down_revision = "5b0e7f2c9a41"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no table copy): audit_events carries the append-only triggers.
    op.add_column("audit_events", sa.Column("request_id", sa.String(length=64), nullable=True))
    op.add_column("audit_events", sa.Column("source", sa.String(length=8), nullable=True))
    op.create_index("ix_audit_events_target", "audit_events", ["target_type", "target_id", "id"], unique=False)

    with op.batch_alter_table("volunteer_profiles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("merged_at", sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_volunteer_profiles_merged_into_id"), ["merged_into_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_volunteer_profiles_merged_into_id_volunteer_profiles"),
            "volunteer_profiles",
            ["merged_into_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("volunteer_profiles", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_volunteer_profiles_merged_into_id_volunteer_profiles"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_volunteer_profiles_merged_into_id"))
        batch_op.drop_column("merged_at")
        batch_op.drop_column("merged_into_id")

    op.drop_index("ix_audit_events_target", table_name="audit_events")
    op.drop_column("audit_events", "source")
    op.drop_column("audit_events", "request_id")
