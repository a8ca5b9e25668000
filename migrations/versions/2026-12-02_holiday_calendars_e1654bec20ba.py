"""holiday calendars: a year's holidays and swapped working days as entered from the notice

Revision ID: e1654bec20ba
Revises: 0190d189a778
Create Date: 2026-12-02 23:54:17.664483

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e1654bec20ba"
down_revision = "0190d189a778"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "holiday_calendars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("year BETWEEN 2000 AND 2100", name=op.f("ck_holiday_calendars_year_in_range")),
        sa.ForeignKeyConstraint(["entered_by_id"], ["users.id"], name=op.f("fk_holiday_calendars_entered_by_id_users")),
        sa.ForeignKeyConstraint(
            ["organization_id"], ["organizations.id"], name=op.f("fk_holiday_calendars_organization_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holiday_calendars")),
        sa.UniqueConstraint("organization_id", "year", name=op.f("uq_holiday_calendars_organization_id_year")),
    )
    with op.batch_alter_table("holiday_calendars", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_holiday_calendars_year"), ["year"], unique=False)
        batch_op.create_index(
            "uq_holiday_calendars_global_year",
            ["year"],
            unique=True,
            sqlite_where=sa.text("organization_id IS NULL"),
            postgresql_where=sa.text("organization_id IS NULL"),
        )

    op.create_table(
        "holiday_calendar_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.CheckConstraint("kind IN ('holiday', 'workday')", name=op.f("ck_holiday_calendar_days_kind_known")),
        sa.ForeignKeyConstraint(
            ["calendar_id"],
            ["holiday_calendars.id"],
            name=op.f("fk_holiday_calendar_days_calendar_id_holiday_calendars"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holiday_calendar_days")),
        sa.UniqueConstraint("calendar_id", "day", name=op.f("uq_holiday_calendar_days_calendar_id_day")),
    )


def downgrade():
    op.drop_table("holiday_calendar_days")
    with op.batch_alter_table("holiday_calendars", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_holiday_calendars_global_year",
            sqlite_where=sa.text("organization_id IS NULL"),
            postgresql_where=sa.text("organization_id IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_holiday_calendars_year"))

    op.drop_table("holiday_calendars")
