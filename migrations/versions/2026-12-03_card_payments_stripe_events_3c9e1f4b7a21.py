"""card payments through Stripe: a failed payment state, PaymentIntent lookup, processed webhook events

Revision ID: 3c9e1f4b7a21
Revises: 3e7a9c5d1b20
Create Date: 2026-12-04 09:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "3c9e1f4b7a21"
down_revision = "3e7a9c5d1b20"
branch_labels = None
depends_on = None

_OLD_STATES = "payment_status IN ('none', 'pending', 'paid', 'refund_due', 'refunded')"
_NEW_STATES = "payment_status IN ('none', 'pending', 'paid', 'failed', 'refund_due', 'refunded')"


def upgrade():
    op.create_table(
        "payment_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("object_id", sa.String(length=255), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_payment_events_event_id")),
    )
    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_events_object_id"), ["object_id"], unique=False)

    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_redemptions_payment_status_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_redemptions_payment_status_known"), _NEW_STATES)
        batch_op.create_index("ix_redemptions_payment_reference", ["payment_reference"], unique=False)


def downgrade():
    with op.batch_alter_table("redemptions", schema=None) as batch_op:
        batch_op.drop_index("ix_redemptions_payment_reference")
        batch_op.drop_constraint(batch_op.f("ck_redemptions_payment_status_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_redemptions_payment_status_known"), _OLD_STATES)

    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_events_object_id"))

    op.drop_table("payment_events")
