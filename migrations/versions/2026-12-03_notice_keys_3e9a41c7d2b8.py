"""notice keys: a notice left by a job names what it tells about, once

Revision ID: 3e9a41c7d2b8
Revises: 3c9e1f4b7a21
Create Date: 2026-12-03 08:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "3e9a41c7d2b8"
down_revision = "3c9e1f4b7a21"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key", sa.String(length=120), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_notices_key"), ["key"])


def downgrade():
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_notices_key"), type_="unique")
        batch_op.drop_column("key")
