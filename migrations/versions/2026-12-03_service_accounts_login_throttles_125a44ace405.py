"""service accounts, login throttles shared by every process, audit actor labels

Users get ``is_service_account`` and ``created_by_id`` (an integration that an
administrator answers for); the per-user lock columns give way to ``login_throttles``
(failed logins counted per account and per source, in the database); audit events get
``actor_label`` (``cli:NAME`` for the command line, or the service account and its
creator).

Revision ID: 125a44ace405
Revises: daac78876e48
Create Date: 2026-12-03 00:47:24.853340

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "125a44ace405"
down_revision = "daac78876e48"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_throttles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(), nullable=True),
        sa.Column("counted_at", sa.DateTime(), nullable=True),
        sa.Column("succeeded_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("failures >= 0", name=op.f("ck_login_throttles_failures_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttles")),
        sa.UniqueConstraint("key", name=op.f("uq_login_throttles_key")),
    )
    with op.batch_alter_table("login_throttles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_throttles_counted_at"), ["counted_at"], unique=False)

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor_label", sa.String(length=120), nullable=True))

    # Not a batch: on SQLite a batch copies "users" and drops the original, which the rows
    # of every table that refers to users forbid. ALTER TABLE ... ADD/DROP COLUMN does not.
    op.add_column("users", sa.Column("is_service_account", sa.Boolean(), server_default=sa.false(), nullable=False))
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE users ADD COLUMN created_by_id INTEGER "
            "CONSTRAINT fk_users_created_by_id_users REFERENCES users (id)"
        )
    else:
        op.add_column("users", sa.Column("created_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f("fk_users_created_by_id_users"), "users", "users", ["created_by_id"], ["id"])
    op.drop_column("users", "failed_logins")
    op.drop_column("users", "locked_until")


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False))
        if op.get_bind().dialect.name != "sqlite":  # SQLite's copy leaves the column's reference behind
            batch_op.drop_constraint(batch_op.f("fk_users_created_by_id_users"), type_="foreignkey")
        batch_op.drop_column("created_by_id")
        batch_op.drop_column("is_service_account")

    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("actor_label")

    with op.batch_alter_table("login_throttles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_throttles_counted_at"))

    op.drop_table("login_throttles")
