"""rule sets: a revision raised by every save of a draft (edits and approvals name the one they saw)

Revision ID: 5b7e2c9d1a40
Revises: 5b7e2c9d41a3
Create Date: 2026-12-04 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "5b7e2c9d1a40"
down_revision = "5b7e2c9d41a3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("rule_sets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="1", nullable=False))


def downgrade():
    with op.batch_alter_table("rule_sets", schema=None) as batch_op:
        batch_op.drop_column("revision")
