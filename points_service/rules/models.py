"""Service categories, versioned rule sets, holiday overrides and entered year calendars.

A rule set belongs to one organization node and covers its subtree. Its ``config`` is a
JSON document validated by ``schemas.RuleSetConfigSchema`` before it is stored; once a
set is published its config never changes again (checked here on every flush), so an
award that names a version can always be explained from that version.
"""

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint, event, inspect, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..organizations.models import Organization
from ..timeutil import utcnow

RULE_SET_STATUSES = ("draft", "published", "retired")
OVERRIDE_KINDS = ("holiday", "workday")


class ServiceCategory(db.Model):
    """A kind of service (elderly care, patrol ...); rule sets rate each by its code."""

    __tablename__ = "service_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_en: Mapped[str] = mapped_column(String(80))
    name_zh: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self):
        return f"<ServiceCategory {self.code}>"


class RuleSet(db.Model):
    """One version of the rule table of an organization subtree."""

    __tablename__ = "rule_sets"
    __table_args__ = (
        UniqueConstraint("organization_id", "version"),
        CheckConstraint("status IN ('draft', 'published', 'retired')", name="status_known"),
        CheckConstraint("version >= 1", name="version_positive"),
        CheckConstraint("status <> 'published' OR effective_from IS NOT NULL", name="effective_when_published"),
        CheckConstraint("status = 'draft' OR published_at IS NOT NULL OR retired_at IS NOT NULL", name="dated"),
        Index("ix_rule_sets_lookup", "organization_id", "status", "effective_from"),
        # At most one published set per organization and effective date: the lookup is never ambiguous.
        Index(
            "uq_rule_sets_published_date",
            "organization_id",
            "effective_from",
            unique=True,
            sqlite_where=text("status = 'published'"),
            postgresql_where=text("status = 'published'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    version: Mapped[int]
    # Raised by every save of a draft: an edit form and a publication request name the
    # revision their author saw, and a save or an approval against a newer one is refused.
    revision: Mapped[int] = mapped_column(default=1, server_default="1")
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    effective_from: Mapped[date | None]
    config: Mapped[dict] = mapped_column(JSON)
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("rule_sets.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    retired_at: Mapped[datetime | None]
    retired_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    organization: Mapped[Organization] = relationship()
    created_by: Mapped["User | None"] = relationship(foreign_keys=[created_by_id], lazy="selectin")  # noqa: F821
    published_by: Mapped["User | None"] = relationship(foreign_keys=[published_by_id], lazy="selectin")  # noqa: F821

    def __repr__(self):
        return f"<RuleSet {self.id} org={self.organization_id} v{self.version} {self.status}>"


@event.listens_for(RuleSet, "before_update")
def _published_config_is_immutable(mapper, connection, target):
    state = inspect(target)
    status_before = state.committed_state.get("status", target.status)
    for name in ("config", "effective_from", "organization_id", "version", "revision"):
        if name in state.committed_state and status_before != "draft":
            old = state.committed_state[name]
            if old != getattr(target, name):
                raise RuntimeError(f"rule set {target.id}: {name} of a {status_before} rule set cannot change")


class HolidayOverride(db.Model):
    """An administrator's word on one date: a public holiday, or a working day.

    It wins over an entered year calendar and the holiday calendar package (see
    ``calendar``). ``organization_id`` None means the whole deployment; a node's
    override wins over its ancestors' and the global one.
    """

    __tablename__ = "holiday_overrides"
    __table_args__ = (
        CheckConstraint("kind IN ('holiday', 'workday')", name="kind_known"),
        UniqueConstraint("organization_id", "day"),
        # NULLs are distinct in a unique constraint, so the global rows need their own index.
        Index(
            "uq_holiday_overrides_global_day",
            "day",
            unique=True,
            sqlite_where=text("organization_id IS NULL"),
            postgresql_where=text("organization_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    day: Mapped[date] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(10))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self):
        scope = self.organization_id if self.organization_id is not None else "global"
        return f"<HolidayOverride {self.day} {self.kind} {scope}>"


class HolidayCalendar(db.Model):
    """A year's public holidays and swapped working days as an administrator entered or
    imported them from the State Council's notice; see ``calendar`` for how it ranks
    against the package and the overrides.

    ``organization_id`` None means the whole deployment; otherwise a top-level
    organization, whose own calendar wins over the deployment's for its tree.
    Importing a year again replaces its days; the audit log keeps what they were."""

    __tablename__ = "holiday_calendars"
    __table_args__ = (
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year_in_range"),
        UniqueConstraint("organization_id", "year"),
        # NULLs are distinct in a unique constraint, so the deployment's rows need their own index.
        Index(
            "uq_holiday_calendars_global_year",
            "year",
            unique=True,
            sqlite_where=text("organization_id IS NULL"),
            postgresql_where=text("organization_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    source: Mapped[str] = mapped_column(String(200), default="")  # e.g. the notice's title and number
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the command line
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    days: Mapped[list["HolidayCalendarDay"]] = relationship(
        back_populates="calendar", cascade="all, delete-orphan", order_by="HolidayCalendarDay.day"
    )

    def __repr__(self):
        scope = self.organization_id if self.organization_id is not None else "global"
        return f"<HolidayCalendar {self.year} {scope}>"


class HolidayCalendarDay(db.Model):
    """One listed day of a year calendar: a public ``holiday`` or a swapped ``workday``."""

    __tablename__ = "holiday_calendar_days"
    __table_args__ = (
        CheckConstraint("kind IN ('holiday', 'workday')", name="kind_known"),
        UniqueConstraint("calendar_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("holiday_calendars.id", ondelete="CASCADE"))
    day: Mapped[date]
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(80))

    calendar: Mapped[HolidayCalendar] = relationship(back_populates="days")

    def __repr__(self):
        return f"<HolidayCalendarDay {self.day} {self.kind}>"


BACKTEST_STATUSES = ("queued", "running", "done", "failed")


class BacktestRun(db.Model):
    """One backtest of a draft over a past period, run in the background.

    The worker commits ``done_count`` and ``heartbeat_at`` as it goes, so any request
    (or another worker process) can show the progress; a run still ``queued`` or
    ``running`` whose heartbeat is old was interrupted (its process stopped). ``result``
    holds the figures the page shows, as JSON, once the run is ``done``."""

    __tablename__ = "backtest_runs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status_known"),
        CheckConstraint("first_day <= last_day", name="period_ordered"),
        Index("ix_backtest_runs_rule_set", "rule_set_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_set_id: Mapped[int] = mapped_column(ForeignKey("rule_sets.id"))
    # The draft's revision when the run was asked for: a later save makes the result stale.
    rule_set_revision: Mapped[int]
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    first_day: Mapped[date]
    last_day: Mapped[date]
    status: Mapped[str] = mapped_column(String(10), default="queued")
    done_count: Mapped[int] = mapped_column(default=0)
    total_count: Mapped[int | None]  # None until the records of the period are read
    result: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(500))  # for the operator; never personal data
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    def __repr__(self):
        return f"<BacktestRun {self.id} rule_set={self.rule_set_id} {self.status}>"
