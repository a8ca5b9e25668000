"""Rule sets, categories, holiday overrides and year calendars; rating a service record;
star levels.

Versioning: a rule set is created as a ``draft`` (from a document, or as a copy of the
set that applies now), edited while it is a draft, then ``published`` with the date it
is effective from. A published set never changes; publishing retires the organization's
published sets whose whole effective range the new one replaces (those effective from
the same date or later), and keeps the earlier ones so records dated before the new
date are still rated by them. For a record, the nearest organization up the tree with a
published set effective on the record's local start date decides.

Holidays: the kind of each day (workday, weekend, public holiday) comes from an override,
an entered year calendar, the ``chinese-calendar`` package, or nothing, in that order (see
``calendar``); an award rated without data for its year says so in its breakdown, and
``calendar_warnings`` tells staff which years still need their calendar.

Every write is one unit of work and is audited. Rating (``rate_service``) only reads:
the activities domain writes the award to the ledger and stores the breakdown.
"""

import copy
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import metadata

from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, case, cast, func, or_, select
from sqlalchemy.exc import IntegrityError

from .. import authz
from ..accounts.models import User
from ..audit.service import record_audit
from ..changes import service as change_requests
from ..changes.models import ChangeRequest
from ..database import lock_one, register_stamp, stamp, write_transaction
from ..errors import Conflict, PermissionDenied, ValidationError
from ..extensions import db
from ..i18n import list_text
from ..organizations.models import Organization
from ..timeutil import to_local, utcnow
from . import calendar, engine
from .calendar import DayKind, classify_day
from .diff import describe_changes, diff_configs, rounding_words
from .engine import NATIONAL_STAR_THRESHOLDS_HOURS, Rating, ServiceFacts, VolunteerHistory
from .errors import (
    CategoryNotFound,
    CategoryNotRated,
    DraftChanged,
    NoApplicableRuleSet,
    PublicationPending,
    RuleSetNotEditable,
    RuleSetNotFound,
)
from .models import OVERRIDE_KINDS, HolidayCalendar, HolidayCalendarDay, HolidayOverride, RuleSet, ServiceCategory
from .schemas import CATEGORY_CODE_PATTERN, invalid_rule_set, parse_config

PUBLISH_KIND = "rule_set.publish"

__all__ = [
    "Award",
    "CalendarStatus",
    "CategoryChange",
    "RecordFacts",
    "Simulation",
    "StarLevel",
    "VolunteerChange",
    "VolunteerHistory",
    "applicable_rule_set",
    "authorize_calendar",
    "calendar_status",
    "calendar_warnings",
    "can_manage_calendar",
    "category_label",
    "category_labels",
    "create_category",
    "create_rule_set",
    "classify_day_for",
    "day_kind_for",
    "default_config",
    "describe_rule_set_changes",
    "explain_award",
    "fixed_day_kinds",
    "get_category",
    "get_rule_set",
    "get_year_calendar",
    "list_categories",
    "may_change_categories",
    "list_holiday_overrides",
    "list_override_details",
    "list_rule_sets",
    "pending_publication",
    "publish_rule_set",
    "rate_service",
    "remove_holiday_override",
    "replaced_rule_set",
    "request_rule_set_publication",
    "retire_rule_set",
    "rule_set_changes",
    "rule_set_history",
    "rule_sets_awaiting_publication",
    "save_year_calendar",
    "set_holiday_override",
    "simulate_rule_set",
    "star_level",
    "star_thresholds",
    "update_category",
    "update_draft",
    "year_calendar_days",
    "year_days",
    "year_overview",
]


@dataclass(frozen=True)
class Award:
    points: int  # >= 0
    minutes: int  # credited minutes (what counts toward lifetime hours)
    breakdown: list[dict]  # JSON-serialisable steps; the step points add up to ``points``
    rule_set_id: int
    rule_set_version: int
    expires_at: datetime | None  # naive UTC expiry of the lot this award creates (None: never)


@dataclass(frozen=True)
class StarLevel:
    stars: int  # 0..5
    hours: int  # lifetime verified hours, whole hours rounded down
    next_stars: int | None
    next_threshold_hours: int | None


@dataclass(frozen=True)
class RecordFacts:
    """One approved record as the activities domain hands it to a simulation."""

    record_id: int
    volunteer_id: int
    organization: Organization
    category: str
    started_at: datetime
    ended_at: datetime
    urgent: bool
    history: VolunteerHistory
    current_points: int
    # The current award's points for hours per local day (see ``engine.service_points_by_day``);
    # None: all of ``current_points`` on the local start day.
    current_points_by_day: Mapping[date, int] | None = None


@dataclass(frozen=True)
class CategoryChange:
    category: str
    records: int
    points_before: int
    points_after: int

    @property
    def difference(self):
        return self.points_after - self.points_before


@dataclass(frozen=True)
class VolunteerChange:
    volunteer_id: int
    records: int
    points_before: int
    points_after: int

    @property
    def difference(self):
        return self.points_after - self.points_before


@dataclass(frozen=True)
class Simulation:
    rule_set_id: int
    rule_set_version: int
    records: int
    points_before: int
    points_after: int
    categories: list[CategoryChange] = field(default_factory=list)
    most_affected: list[VolunteerChange] = field(default_factory=list)
    unrated_categories: list[str] = field(default_factory=list)  # categories the set has no rate for

    @property
    def difference(self):
        return self.points_after - self.points_before


# -- authorization -------------------------------------------------------------------


def _authorize(actor, organization):
    if actor is not None:
        authz.require(actor, "rules.manage", organization)


def _authorize_global(actor):
    """Deployment-wide data (categories, global holidays): admins of every top node."""
    if actor is None:
        return
    roots = db.session.execute(select(Organization).where(Organization.parent_id.is_(None))).scalars().all()
    if not roots:
        authz.require(actor, "rules.manage", None)
    for root in roots:
        if not authz.can(actor, "rules.manage", root):
            raise PermissionDenied(_l("Only an administrator of the whole city can change this."))


# -- categories ----------------------------------------------------------------------


def list_categories(active_only=True):
    statement = select(ServiceCategory).order_by(ServiceCategory.id)
    if active_only:
        statement = statement.where(ServiceCategory.active.is_(True))
    return db.session.execute(statement).scalars().all()


def get_category(code):
    category = db.session.execute(select(ServiceCategory).where(ServiceCategory.code == code)).scalar_one_or_none()
    if category is None:
        raise CategoryNotFound(details={"field": "category"})
    return category


def _speaks_chinese():
    locale = get_locale()
    return locale is not None and locale.language == "zh"


def _label(category):
    return category.name_zh if _speaks_chinese() else category.name_en


def category_labels():
    """{code: name in the current language} of every category, active or not."""
    return {category.code: _label(category) for category in list_categories(active_only=False)}


def category_label(code: str) -> str:
    """The category's name in the current language (the code itself when unknown)."""
    category = db.session.execute(select(ServiceCategory).where(ServiceCategory.code == code)).scalar_one_or_none()
    return _label(category) if category is not None else code


def may_change_categories(actor):
    """True when ``actor`` may add, rename or (de)activate categories (an administrator of every top node)."""
    try:
        _authorize_global(actor)
    except PermissionDenied:
        return False
    return True


def _check_category_name(value, field_name):
    text = value.strip() if isinstance(value, str) else ""
    if not 1 <= len(text) <= 80:
        raise ValidationError(_l("Enter a name of 1 to 80 characters."), details={"field": field_name})
    return text


def create_category(actor, code, name_en, name_zh, active=True):
    """Add a service category; its code is how rule tables name it."""
    _authorize_global(actor)
    if not isinstance(code, str) or not re.match(CATEGORY_CODE_PATTERN, code):
        raise ValidationError(
            _l("A category code is 2 to 40 lower-case letters, digits or _, starting with a letter."),
            details={"field": "code"},
        )
    name_en = _check_category_name(name_en, "name_en")
    name_zh = _check_category_name(name_zh, "name_zh")
    try:
        with write_transaction() as session:
            if session.execute(select(ServiceCategory.id).where(ServiceCategory.code == code)).first():
                raise Conflict(_l("The category code %(code)s is taken."), code=code, details={"field": "code"})
            category = ServiceCategory(code=code, name_en=name_en, name_zh=name_zh, active=bool(active))
            session.add(category)
            session.flush()
            record_audit(
                actor, "rules.category_create", "service_category", category.id, after=_category_view(category)
            )
    except IntegrityError:
        raise Conflict(_l("The category code %(code)s is taken."), code=code, details={"field": "code"}) from None
    return category


def update_category(actor, category, *, name_en=None, name_zh=None, active=None):
    """Rename a category or (de)activate it; rule tables keep naming it by its code."""
    _authorize_global(actor)
    changes = {}
    if name_en is not None:
        changes["name_en"] = _check_category_name(name_en, "name_en")
    if name_zh is not None:
        changes["name_zh"] = _check_category_name(name_zh, "name_zh")
    if active is not None:
        changes["active"] = bool(active)
    with write_transaction():
        category = lock_one(ServiceCategory, ServiceCategory.id == category.id)
        before = _category_view(category)
        for name, value in changes.items():
            setattr(category, name, value)
        record_audit(
            actor,
            "rules.category_update",
            "service_category",
            category.id,
            before=before,
            after=_category_view(category),
        )
    return category


def _category_view(category):
    return {"code": category.code, "name_en": category.name_en, "name_zh": category.name_zh, "active": category.active}


# -- holidays ------------------------------------------------------------------------


def _check_day(day):
    if isinstance(day, datetime) or not isinstance(day, date):
        try:
            day = date.fromisoformat(str(day).strip())
        except ValueError:
            raise ValidationError(_l("Enter a date as YYYY-MM-DD."), details={"field": "day"}) from None
    if not calendar.FIRST_YEAR <= day.year <= calendar.LAST_YEAR:
        raise ValidationError(
            _l("Choose a date from %(first)s to %(last)s."),
            first=calendar.FIRST_YEAR,
            last=calendar.LAST_YEAR,
            details={"field": "day"},
        )
    return day


def set_holiday_override(actor, day, kind, note="", organization=None):
    """Declare ``day`` a public ``holiday`` or a ``workday`` (global when no organization)."""
    day = _check_day(day)
    if kind not in OVERRIDE_KINDS:
        raise ValidationError(_l("The kind of day must be 'holiday' or 'workday'."), details={"field": "kind"})
    note = note.strip() if isinstance(note, str) else ""
    if len(note) > 200:
        raise ValidationError(_l("The note can have at most 200 characters."), details={"field": "note"})
    if organization is None:
        _authorize_global(actor)
    else:
        _authorize(actor, organization)
    organization_id = organization.id if organization is not None else None
    with write_transaction() as session:
        override = _find_override(day, organization_id)
        before = _override_view(override) if override else None
        if override is None:
            override = HolidayOverride(
                organization_id=organization_id, day=day, kind=kind, note=note, created_by_id=getattr(actor, "id", None)
            )
            session.add(override)
        else:
            override.kind, override.note, override.updated_at = kind, note, utcnow()
        session.flush()
        record_audit(
            actor,
            "rules.holiday_override",
            "holiday_override",
            override.id,
            organization_id=organization_id,
            before=before,
            after=_override_view(override),
        )
    return override


def remove_holiday_override(actor, day, organization=None):
    """Let the holiday calendar decide ``day`` again; False when there was no override."""
    day = _check_day(day)
    if organization is None:
        _authorize_global(actor)
    else:
        _authorize(actor, organization)
    organization_id = organization.id if organization is not None else None
    with write_transaction() as session:
        override = _find_override(day, organization_id)
        if override is None:
            return False
        record_audit(
            actor,
            "rules.holiday_override_remove",
            "holiday_override",
            override.id,
            organization_id=organization_id,
            before=_override_view(override),
        )
        session.delete(override)
    return True


def _find_override(day, organization_id):
    condition = (
        HolidayOverride.organization_id.is_(None)
        if organization_id is None
        else HolidayOverride.organization_id == organization_id
    )
    return lock_one(HolidayOverride, HolidayOverride.day == day, condition)


def _override_view(override):
    return {"day": override.day.isoformat(), "kind": override.kind, "note": override.note}


def list_holiday_overrides(organization=None, year=None):
    """Overrides that apply to ``organization`` (its own, its ancestors', global), by date."""
    statement = select(HolidayOverride).order_by(HolidayOverride.day, HolidayOverride.id)
    if organization is None:
        statement = statement.where(HolidayOverride.organization_id.is_(None))
    else:
        statement = statement.where(
            or_(
                HolidayOverride.organization_id.is_(None),
                HolidayOverride.organization_id.in_(organization.ancestor_ids),
            )
        )
    if year is not None:
        statement = statement.where(HolidayOverride.day >= date(year, 1, 1), HolidayOverride.day <= date(year, 12, 31))
    return db.session.execute(statement).scalars().all()


@dataclass(frozen=True)
class OverrideDetail:
    """An override as the desk lists it: where it is set and who set it."""

    override: HolidayOverride
    organization: Organization | None  # None: the whole deployment
    set_by: str  # the name of who set it ("" when the command line did)


def list_override_details(organization=None, year=None) -> list[OverrideDetail]:
    """``list_holiday_overrides`` with each override's organization and the name of who set it."""
    overrides = list_holiday_overrides(organization, year)
    organization_ids = {o.organization_id for o in overrides if o.organization_id is not None}
    user_ids = {o.created_by_id for o in overrides if o.created_by_id is not None}
    nodes = {}
    if organization_ids:
        nodes = {
            node.id: node
            for node in db.session.execute(select(Organization).where(Organization.id.in_(organization_ids))).scalars()
        }
    names = {}
    if user_ids:
        names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).all())
    return [OverrideDetail(o, nodes.get(o.organization_id), names.get(o.created_by_id, "")) for o in overrides]


def _override_map(organization, first_day, last_day):
    """{date: kind} for ``organization``: its own override beats its ancestors', then global."""
    ancestors = organization.ancestor_ids
    rows = db.session.execute(
        select(HolidayOverride.day, HolidayOverride.kind, HolidayOverride.organization_id).where(
            HolidayOverride.day >= first_day,
            HolidayOverride.day <= last_day,
            or_(HolidayOverride.organization_id.is_(None), HolidayOverride.organization_id.in_(ancestors)),
        )
    ).all()
    depth = {organization_id: index for index, organization_id in enumerate(ancestors)}
    nearest_last = sorted(rows, key=lambda row: depth.get(row.organization_id, -1))
    return {row.day: row.kind for row in nearest_last}


def classify_day_for(organization, day, cache=None) -> DayKind:
    """The kind of a local date for ``organization`` and where it comes from.

    ``cache``: a dict the caller keeps for one unit of work (an approval of many records
    on the same few days), so that each organization and day is looked up once."""
    key = (organization.id, day)
    if cache is not None and key in cache:
        return cache[key]
    classified = classify_day(day, _override_map(organization, day, day), _entered_days(organization, day.year, cache))
    if cache is not None:
        cache[key] = classified
    return classified


def day_kind_for(organization, day, cache=None):
    """``workday``, ``weekend`` or ``holiday`` of a local date for ``organization``."""
    return classify_day_for(organization, day, cache).kind


def fixed_day_kinds(organization, kinds):
    """A ``day_kinds`` cache for ``rate_service`` that rates ``organization``'s dates in
    ``kinds`` ({date: kind}) as given: how a record was rated before, say."""
    return {(organization.id, day): DayKind(kind, "fixed") for day, kind in kinds.items()}


# -- year calendars ------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarStatus:
    year: int
    source: str  # entered | package | missing
    calendar: HolidayCalendar | None  # the entered calendar that applies, if any


def _root_id(organization):
    return organization.ancestor_ids[0]


def _top_level(organization):
    if organization is not None and organization.parent_id is not None:
        raise ValidationError(
            _l("A year calendar is entered for the whole deployment or for a top-level organization."),
            details={"field": "organization"},
        )


def get_year_calendar(year, organization=None, *, exact=False):
    """The entered calendar of ``year`` that applies to ``organization``'s tree (its top-level
    organization's own, else the deployment's); with ``exact`` only the one entered for
    exactly that scope (the deployment when ``organization`` is None). None when none."""
    if organization is None:
        condition = HolidayCalendar.organization_id.is_(None)
    elif exact:
        condition = HolidayCalendar.organization_id == organization.id
    else:
        condition = or_(
            HolidayCalendar.organization_id.is_(None), HolidayCalendar.organization_id == _root_id(organization)
        )
    found = db.session.execute(select(HolidayCalendar).where(HolidayCalendar.year == year, condition)).scalars().all()
    return max(found, key=lambda entered: entered.organization_id is not None, default=None)


def _entered_days(organization, year, cache=None):
    """{date: holiday|workday} of the entered calendar of ``year`` for ``organization``, or None."""
    key = ("calendar", _root_id(organization), year)
    if cache is not None and key in cache:
        return cache[key]
    entered = get_year_calendar(year, organization)
    days = None
    if entered is not None:
        days = dict(
            db.session.execute(
                select(HolidayCalendarDay.day, HolidayCalendarDay.kind).where(
                    HolidayCalendarDay.calendar_id == entered.id
                )
            ).all()
        )
    if cache is not None:
        cache[key] = days
    return days


def calendar_status(year, organization=None) -> CalendarStatus:
    """Where the day kinds of ``year`` come from for ``organization``'s tree (the deployment
    when None): an entered calendar, the package, or nothing."""
    entered = get_year_calendar(year, organization)
    if entered is not None:
        return CalendarStatus(year, calendar.ENTERED, entered)
    return CalendarStatus(year, calendar.PACKAGE if calendar.package_has_year(year) else calendar.MISSING, None)


def calendar_warnings(today, organizations=None) -> list[int]:
    """The years that have no holiday data and matter on local date ``today``: from
    ``calendar.WARNING_DAYS`` before a year starts until its data is there. A year counts
    when any tree of ``organizations`` lacks it (every top-level tree when None)."""
    if organizations is None:
        organizations = (
            db.session.execute(select(Organization).where(Organization.parent_id.is_(None))).scalars().all()
        ) or [None]
    missing = []
    for year in calendar.years_to_watch(today):
        if calendar.package_has_year(year):
            continue
        if any(get_year_calendar(year, organization) is None for organization in organizations):
            missing.append(year)
    return missing


def year_calendar_days(year, organization=None):
    """``(date, kind, name)`` of the listed days that apply to ``year`` for ``organization``'s
    tree: the entered calendar's, else the package's, else none."""
    status = calendar_status(year, organization)
    if status.calendar is not None:
        return [(day.day, day.kind, day.name) for day in status.calendar.days]
    if status.source == calendar.PACKAGE:
        return calendar.package_year_days(year)
    return []


@dataclass(frozen=True)
class YearDay:
    """A day of a year that is not an ordinary workday or weekend day, or that an override
    decides: its kind, where that comes from, and what the calendar says under an override."""

    day: date
    kind: str  # workday | weekend | holiday
    source: str  # override | entered | package | missing
    name: str  # the holiday's name in the calendar ("" when it lists none)
    calendar_kind: str  # what the entered calendar, the package or the weekday says without overrides


def year_days(year, organization=None) -> list[YearDay]:
    """The days of ``year`` that the holiday data or an override makes special for
    ``organization``'s tree (the deployment when None), classified as rating does."""
    year = calendar.check_year(year)
    first, last = date(year, 1, 1), date(year, 12, 31)
    listed = {day: name for day, _kind, name in year_calendar_days(year, organization)}
    if organization is None:
        overrides = {o.day: o.kind for o in list_holiday_overrides(None, year)}
        entered_calendar = get_year_calendar(year)
        entered = {d.day: d.kind for d in entered_calendar.days} if entered_calendar is not None else None
    else:
        overrides = _override_map(organization, first, last)
        entered = _entered_days(organization, year)
    days = []
    for day in sorted(set(listed) | set(overrides)):
        applied = classify_day(day, overrides, entered)
        underneath = classify_day(day, None, entered)
        days.append(YearDay(day, applied.kind, applied.source, listed.get(day, ""), underneath.kind))
    return days


@dataclass(frozen=True)
class YearOverview:
    """A year's holiday data as the desk shows it for one scope."""

    year: int
    status: CalendarStatus
    entered_by: str  # who entered the calendar ("" for the command line, or none entered)
    package_version: str  # the installed chinese-calendar release
    days: list[YearDay]
    overrides: list[OverrideDetail]


def year_overview(year, organization=None) -> YearOverview:
    """Where ``year``'s day kinds come from for ``organization``'s tree (the deployment when
    None), its special days, and the overrides that apply, with who set them."""
    year = calendar.check_year(year)
    status = calendar_status(year, organization)
    entered_by = ""
    if status.calendar is not None and status.calendar.entered_by_id is not None:
        entered_by = db.session.execute(select(User.name).where(User.id == status.calendar.entered_by_id)).scalar()
    return YearOverview(
        year=year,
        status=status,
        entered_by=entered_by or "",
        package_version=metadata.version("chinese-calendar"),
        days=year_days(year, organization),
        overrides=list_override_details(organization, year),
    )


def can_manage_calendar(actor, organization=None) -> bool:
    """Whether ``actor`` may change the holiday data of ``organization`` (the deployment when None)."""
    try:
        authorize_calendar(actor, organization)
    except PermissionDenied:
        return False
    return True


def authorize_calendar(actor, organization=None):
    """A year calendar of the whole deployment needs an administrator of the whole city;
    one of a top-level organization needs an administrator of it."""
    if organization is None:
        _authorize_global(actor)
    else:
        _authorize(actor, organization)


@dataclass(frozen=True)
class SavedCalendar:
    calendar: HolidayCalendar
    changed: bool  # False: the same days were already entered, nothing was written


def _calendar_view(days, source):
    return {
        "source": source,
        "days": [{"date": day.isoformat(), "kind": kind, "name": name} for day, kind, name in days],
    }


def save_year_calendar(actor, year, days, organization=None, source="", now=None) -> SavedCalendar:
    """Enter (or replace) the holiday calendar of ``year`` from the notice: ``days`` are
    ``{date, kind, name}`` rows (or ``calendar.CalendarRow``), checked as a whole, all
    or nothing. For the whole deployment, or for a top-level ``organization``'s tree.
    Records who entered it and when; audited. The same days again change nothing.

    Records already rated are not touched here: the activities domain re-rates them
    (``activities.service.import_year_calendar`` does both in one unit of work)."""
    _top_level(organization)
    authorize_calendar(actor, organization)
    checked = calendar.check_year_calendar(year, days)
    source = source.strip() if isinstance(source, str) else ""
    if len(source) > 200:
        raise ValidationError(_l("The source can have at most 200 characters."), details={"field": "source"})
    listed = [(day.day, day.kind, day.name) for day in checked]
    organization_id = organization.id if organization is not None else None
    try:
        return _store_year_calendar(actor, year, listed, organization_id, source, now)
    except IntegrityError:
        raise Conflict(
            _l("The calendar of %(year)s was entered by someone else at the same time; import it again."), year=year
        ) from None


def _store_year_calendar(actor, year, listed, organization_id, source, now):
    with write_transaction() as session:
        condition = (
            HolidayCalendar.organization_id.is_(None)
            if organization_id is None
            else HolidayCalendar.organization_id == organization_id
        )
        entered = lock_one(HolidayCalendar, HolidayCalendar.year == year, condition)
        before = None
        if entered is not None:
            before = _calendar_view([(day.day, day.kind, day.name) for day in entered.days], entered.source)
            if before == _calendar_view(listed, source):
                return SavedCalendar(entered, changed=False)
            entered.days.clear()
            session.flush()  # the old days go first: one row per calendar and date
        else:
            entered = HolidayCalendar(year=year, organization_id=organization_id)
            session.add(entered)
        entered.source = source
        entered.entered_by_id = getattr(actor, "id", None)
        entered.entered_at = now or utcnow()
        entered.days.extend(HolidayCalendarDay(day=day, kind=kind, name=name) for day, kind, name in listed)
        session.flush()
        record_audit(
            actor,
            "rules.calendar_enter",
            "holiday_calendar",
            entered.id,
            organization_id=organization_id,
            before=before,
            after={"year": year, **_calendar_view(listed, source)},
        )
    return SavedCalendar(entered, changed=True)


# -- rule sets -----------------------------------------------------------------------


def get_rule_set(rule_set_id):
    rule_set = db.session.get(RuleSet, rule_set_id) if isinstance(rule_set_id, int) else None
    if rule_set is None:
        raise RuleSetNotFound()
    return rule_set


def list_rule_sets(organization=None, status=None, *, subtree=False):
    """Rule sets that bear on ``organization``: those of the nodes above it and its own,
    or with ``subtree`` those of its whole subtree (all sets when None); newest first."""
    statement = select(RuleSet).order_by(RuleSet.organization_id, RuleSet.version.desc())
    if organization is not None and subtree:
        statement = statement.join(Organization, Organization.id == RuleSet.organization_id).where(
            Organization.path.startswith(organization.path)
        )
    elif organization is not None:
        statement = statement.where(RuleSet.organization_id.in_(organization.ancestor_ids))
    if status is not None:
        statement = statement.where(RuleSet.status == status)
    return db.session.execute(statement).scalars().all()


def applicable_rule_set(organization, on_date):
    """The published set of the nearest node up the tree that is effective on ``on_date``."""
    ancestors = organization.ancestor_ids
    candidates = (
        db.session.execute(
            select(RuleSet).where(
                RuleSet.organization_id.in_(ancestors),
                RuleSet.status == "published",
                RuleSet.effective_from <= on_date,
            )
        )
        .scalars()
        .all()
    )
    if not candidates:
        return None
    depth = {organization_id: index for index, organization_id in enumerate(ancestors)}
    return max(
        candidates, key=lambda rule_set: (depth[rule_set.organization_id], rule_set.effective_from, rule_set.version)
    )


def default_config():
    """A starting table for a new draft when there is nothing to copy."""
    return {
        "rates": {
            category.code: {"points": 10, "per_minutes": 60, "rounding": {"mode": "down", "step_minutes": 30}}
            for category in list_categories()
        },
        "multipliers": {"stacking": "max"},
        "caps": {},
        "bonuses": {"first_service": 0, "milestones": []},
        "expiry": {"policy": "never"},
        "star_thresholds_hours": list(NATIONAL_STAR_THRESHOLDS_HOURS),
    }


def _validated_config(document):
    config = parse_config(document)
    known = {category.code for category in list_categories(active_only=False)}
    unknown = {
        f"rates.{code}": [_("There is no service category with the code %(code)s.", code=code)]
        for code in config["rates"]
        if code not in known
    }
    if unknown:
        raise invalid_rule_set(unknown)
    return config


def _check_name(name, default):
    if name is None:
        return default
    text = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(text) <= 120:
        raise ValidationError(_l("Enter a name of 1 to 120 characters."), details={"field": "name"})
    return text


def _check_effective_from(value):
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(_l("Enter a date as YYYY-MM-DD."), details={"field": "effective_from"}) from None


def _rule_set_view(rule_set):
    return {
        "version": rule_set.version,
        "revision": rule_set.revision,
        "name": rule_set.name,
        "status": rule_set.status,
        "effective_from": rule_set.effective_from.isoformat() if rule_set.effective_from else None,
        "config": rule_set.config,
    }


def create_rule_set(actor, organization, config=None, effective_from=None, name=None, *, copy_from=None):
    """A new draft for ``organization``: from ``config``, else a copy of ``copy_from``,
    else a copy of the set that applies there today, else ``default_config()``."""
    _authorize(actor, organization)
    effective_from = _check_effective_from(effective_from)
    based_on = copy_from
    if config is None:
        if based_on is None:
            based_on = applicable_rule_set(organization, to_local(utcnow(), organization.timezone).date())
        config = copy.deepcopy(based_on.config) if based_on is not None else default_config()
    config = _validated_config(config)
    with write_transaction() as session:
        lock_one(Organization, Organization.id == organization.id)  # one version number at a time
        last = session.execute(
            select(func.max(RuleSet.version)).where(RuleSet.organization_id == organization.id)
        ).scalar()
        version = (last or 0) + 1
        rule_set = RuleSet(
            organization_id=organization.id,
            version=version,
            name=_check_name(name, f"{organization.name} v{version}"),
            status="draft",
            effective_from=effective_from,
            config=config,
            based_on_id=based_on.id if based_on is not None else None,
            created_by_id=getattr(actor, "id", None),
        )
        session.add(rule_set)
        session.flush()
        record_audit(
            actor,
            "rules.create",
            "rule_set",
            rule_set.id,
            organization_id=organization.id,
            after=_rule_set_view(rule_set),
        )
    return rule_set


def _locked_draft(rule_set):
    locked = lock_one(RuleSet, RuleSet.id == rule_set.id)
    if locked is None:
        raise RuleSetNotFound()
    if locked.status != "draft":
        raise RuleSetNotEditable(version=locked.version, status=_status_label(locked.status))
    return locked


def _status_label(status):
    return {"draft": _("draft"), "published": _("published"), "retired": _("retired")}.get(status, status)


def update_draft(actor, rule_set, config=None, *, name=None, effective_from=None, expected_revision=None):
    """Change a draft's table, name or effective date; a published set cannot change.

    ``expected_revision``: the revision the editor opened; when the draft was saved by
    someone else since, nothing is saved (``DraftChanged``). A draft whose publication
    is waiting for review cannot change either (the reviewer would approve another table)."""
    _authorize(actor, rule_set.organization)
    changed = {}
    if config is not None:
        changed["config"] = _validated_config(config)
    if name is not None:
        changed["name"] = _check_name(name, None)
    if effective_from is not None:
        changed["effective_from"] = _check_effective_from(effective_from)
    with write_transaction():
        draft = _locked_draft(rule_set)
        if expected_revision is not None and expected_revision != draft.revision:
            raise DraftChanged(revision=draft.revision, details={"field": "revision"})
        if pending_publication(draft) is not None:
            raise PublicationPending(version=draft.version)
        before = _rule_set_view(draft)
        for attribute, value in changed.items():
            setattr(draft, attribute, value)
        draft.revision += 1
        draft.updated_at = utcnow()
        record_audit(
            actor,
            "rules.update_draft",
            "rule_set",
            draft.id,
            organization_id=draft.organization_id,
            before=before,
            after=_rule_set_view(draft),
        )
    return draft


def publish_rule_set(actor, rule_set, effective_from=None):
    """Publish a draft from ``effective_from`` (or its stored date) on; it never changes again.

    The organization's published sets effective from that date or later are retired
    (fully replaced); earlier ones stay for records dated before it."""
    _authorize(actor, rule_set.organization)
    effective_from = _check_effective_from(effective_from) or rule_set.effective_from
    if effective_from is None:
        raise ValidationError(
            _l("Give the date from which the rule table applies."), details={"field": "effective_from"}
        )
    config = _validated_config(rule_set.config)
    now = utcnow()
    with write_transaction() as session:
        lock_one(Organization, Organization.id == rule_set.organization_id)  # one publication at a time
        draft = _locked_draft(rule_set)
        replaced = session.execute(
            select(RuleSet).where(
                RuleSet.organization_id == draft.organization_id,
                RuleSet.status == "published",
                RuleSet.effective_from >= effective_from,
            )
        ).scalars()
        for old in replaced:
            before = _rule_set_view(old)
            old.status, old.retired_at, old.retired_by_id = "retired", now, getattr(actor, "id", None)
            record_audit(
                actor,
                "rules.retire",
                "rule_set",
                old.id,
                organization_id=old.organization_id,
                before=before,
                after={**_rule_set_view(old), "replaced_by_version": draft.version},
            )
        session.flush()  # retire first: one published set per organization and date
        before = _rule_set_view(draft)
        draft.config = config
        draft.effective_from = effective_from
        draft.status, draft.published_at, draft.published_by_id = "published", now, getattr(actor, "id", None)
        record_audit(
            actor,
            "rules.publish",
            "rule_set",
            draft.id,
            organization_id=draft.organization_id,
            before=before,
            after=_rule_set_view(draft),
        )
    return draft


def retire_rule_set(actor, rule_set):
    """Withdraw a published set (or discard a draft); it stays in history for its awards."""
    _authorize(actor, rule_set.organization)
    with write_transaction():
        locked = lock_one(RuleSet, RuleSet.id == rule_set.id)
        if locked is None:
            raise RuleSetNotFound()
        if locked.status == "retired":
            raise Conflict(_l("Version %(version)s is already retired."), version=locked.version)
        before = _rule_set_view(locked)
        locked.status, locked.retired_at, locked.retired_by_id = "retired", utcnow(), getattr(actor, "id", None)
        record_audit(
            actor,
            "rules.retire",
            "rule_set",
            locked.id,
            organization_id=locked.organization_id,
            before=before,
            after=_rule_set_view(locked),
        )
    return locked


# -- diff, publication request (four eyes), history ---------------------------------


def replaced_rule_set(rule_set):
    """The published set ``rule_set`` is compared with: for a draft, the one that applies to
    its organization on its effective date (today when it has none), else the set it was
    copied from; for a published or retired set, the set it was copied from."""
    if rule_set.status == "draft":
        organization = rule_set.organization
        day = rule_set.effective_from or to_local(utcnow(), organization.timezone).date()
        applicable = applicable_rule_set(organization, day)
        if applicable is not None:
            return applicable
    if rule_set.based_on_id is not None:
        return db.session.get(RuleSet, rule_set.based_on_id)
    return None


def rule_set_changes(rule_set):
    """``(the set compared with or None, [diff.FieldChange])`` of ``rule_set``."""
    base = replaced_rule_set(rule_set)
    return base, diff_configs(base.config if base is not None else None, rule_set.config)


def describe_rule_set_changes(rule_set):
    """``(the set compared with or None, lines)``: the field diff in words of the current language."""
    base, found = rule_set_changes(rule_set)
    return base, describe_changes(found, category_labels())


def pending_publication(rule_set):
    """The change request waiting to publish ``rule_set``, or None."""
    return db.session.execute(
        select(ChangeRequest).where(
            ChangeRequest.kind == PUBLISH_KIND,
            ChangeRequest.target_type == "rule_set",
            ChangeRequest.target_id == str(rule_set.id),
            ChangeRequest.status == "pending",
        )
    ).scalar_one_or_none()


def rule_sets_awaiting_publication(organization_ids=None) -> dict:
    """{rule set id: pending change request} of the drafts whose publication waits for review."""
    statement = select(ChangeRequest).where(
        ChangeRequest.kind == PUBLISH_KIND, ChangeRequest.status == "pending", ChangeRequest.target_type == "rule_set"
    )
    if organization_ids is not None:
        statement = statement.where(ChangeRequest.organization_id.in_(list(organization_ids)))
    return {int(request.target_id): request for request in db.session.execute(statement).scalars()}


def _check_no_overlap(draft):
    """Two drafts of one organization waiting to be published from the same date would
    each replace the other: the second request is refused."""
    waiting = rule_sets_awaiting_publication([draft.organization_id])
    for rule_set_id in waiting:
        other = db.session.get(RuleSet, rule_set_id)
        if other is not None and other.id != draft.id and other.effective_from == draft.effective_from:
            raise ValidationError(
                _l(
                    "Version %(version)s of this organization is already waiting to be published from %(date)s; "
                    "choose another date or withdraw that request."
                ),
                version=other.version,
                date=draft.effective_from.isoformat(),
                details={"field": "effective_from"},
            )


def _publication_diff(draft, base, lines):
    def dated(rule_set):
        effective = rule_set.effective_from.isoformat() if rule_set.effective_from else "—"
        return _("version %(version)s, effective from %(date)s", version=rule_set.version, date=effective)

    header = [
        {"field": _("Organization"), "before": None, "after": draft.organization.name},
        {"field": _("Rule table"), "before": dated(base) if base else None, "after": dated(draft)},
    ]
    retired = db.session.execute(
        select(RuleSet).where(
            RuleSet.organization_id == draft.organization_id,
            RuleSet.status == "published",
            RuleSet.effective_from >= draft.effective_from,
        )
    ).scalars()
    header += [{"field": _("Retired when this is published"), "before": dated(old), "after": None} for old in retired]
    if not lines:
        header.append({"field": _("Rates and rules"), "before": None, "after": _("no change")})
    return header + lines


def request_rule_set_publication(actor, rule_set, now=None):
    """Ask for a draft to be published from its effective date; another person holding
    ``rules.manage`` on its organization approves it (``changes.approve_change``) after
    seeing the field diff. Returns the pending change request."""
    _authorize(actor, rule_set.organization)
    draft = get_rule_set(rule_set.id)
    if draft.status != "draft":
        raise RuleSetNotEditable(version=draft.version, status=_status_label(draft.status))
    if draft.effective_from is None:
        raise ValidationError(
            _l("Give the date from which the rule table applies."), details={"field": "effective_from"}
        )
    _validated_config(draft.config)
    _check_no_overlap(draft)
    base, lines = describe_rule_set_changes(draft)
    return change_requests.request_change(
        actor,
        PUBLISH_KIND,
        draft.organization,
        target_type="rule_set",
        target_id=draft.id,
        target_version=draft.revision,
        payload={"rule_set_id": draft.id},
        diff=[
            {key: line[key] for key in ("field", "before", "after")} for line in _publication_diff(draft, base, lines)
        ],
        now=now,
    )


def _apply_publication(reviewer, request, now):
    """Publish the draft the request names, as the reviewer saw it (in the approval's transaction)."""
    draft = lock_one(RuleSet, RuleSet.id == request.payload["rule_set_id"])
    if draft is None:
        raise RuleSetNotFound()
    if draft.status == "draft" and draft.revision != request.target_version:
        raise Conflict(
            _l(
                "This draft was changed after its publication was requested; reject this request and ask "
                "again, so that the reviewer sees the table that will be published."
            ),
            details={"rule_set_id": draft.id},
        )
    published = publish_rule_set(reviewer, draft)
    return {"rule_set_id": published.id, "version": published.version}


change_requests.register_change_kind(
    PUBLISH_KIND, permission="rules.manage", label=_l("Publish a rule table"), apply=_apply_publication
)


@dataclass(frozen=True)
class RuleSetVersion:
    """One version in an organization's history: who drafted it, who asked for its
    publication and who approved it (the command line publishes without a request)."""

    rule_set: RuleSet
    request: ChangeRequest | None  # the approved publication request


def rule_set_history(organization):
    """Every version of ``organization``'s own rule tables, newest first."""
    versions = (
        db.session.execute(
            select(RuleSet).where(RuleSet.organization_id == organization.id).order_by(RuleSet.version.desc())
        )
        .scalars()
        .all()
    )
    requests = {
        int(request.target_id): request
        for request in db.session.execute(
            select(ChangeRequest).where(
                ChangeRequest.kind == PUBLISH_KIND,
                ChangeRequest.status == "approved",
                ChangeRequest.organization_id == organization.id,
            )
        ).scalars()
    }
    return [RuleSetVersion(rule_set, requests.get(rule_set.id)) for rule_set in versions]


# -- rating --------------------------------------------------------------------------


def _check_record_times(started_at, ended_at):
    if not isinstance(started_at, datetime) or not isinstance(ended_at, datetime):
        raise ValidationError(_l("Give the start and end of the service."), details={"field": "started_at"})
    if ended_at <= started_at:
        raise ValidationError(_l("The service must end after it starts."), details={"field": "ended_at"})


def _rate(rule_set, organization, category, started_at, ended_at, urgent, history, classified_days):
    """Rate by ``rule_set``; ``classified_days``: the ``DayKind`` of each local date the record
    touches, in order. A year without holiday data is rated by weekday and the breakdown says so."""
    config = rule_set.config
    if engine.category_rate(config, category) is None:
        raise CategoryNotRated(
            name=rule_set.name,
            version=rule_set.version,
            category=category_label(category),
            rule_set_id=rule_set.id,
            details={"field": "category"},
        )
    kinds_of_days = {day: classified.kind for day, classified in classified_days.items()}
    missing_years = tuple(sorted({day.year for day, classified in classified_days.items() if classified.missing}))
    (start_day, kind_of_day), *later = kinds_of_days.items()
    rating: Rating = engine.rate(
        config,
        ServiceFacts(
            category=category,
            started_at=started_at,
            ended_at=ended_at,
            timezone=organization.timezone,
            urgent=bool(urgent),
            day_kind=kind_of_day,
            history=history,
            later_day_kinds=dict(later),
            calendar_missing_years=missing_years,
        ),
    )
    header = {
        "step": "rule_set",
        "rule_set_id": rule_set.id,
        "version": rule_set.version,
        "name": rule_set.name,
        "day_kind": kind_of_day,
        "points": 0,
    }
    return Award(
        points=rating.points,
        minutes=rating.minutes,
        breakdown=[header, *rating.breakdown],
        rule_set_id=rule_set.id,
        rule_set_version=rule_set.version,
        expires_at=rating.expires_at,
    )


def rate_service(
    *,
    organization,
    category: str,
    started_at: datetime,
    ended_at: datetime,
    urgent: bool,
    history: VolunteerHistory,
    rule_set=None,
    day_kinds: dict | None = None,
) -> Award:
    """The award for one service record (naive UTC times), by the rule set that applies
    on the record's local start date, or by ``rule_set`` when given (a draft, say).

    A record that crosses local midnight is rated part by part, each by the kind of its
    own day. The lot's expiry counts from the service. ``day_kinds`` is an optional cache
    for ``classify_day_for``. When a year has no holiday data its days are rated by their
    weekday and the breakdown says so."""
    _check_record_times(started_at, ended_at)
    local_day = to_local(started_at, organization.timezone).date()
    if rule_set is None:
        rule_set = applicable_rule_set(organization, local_day)
        if rule_set is None:
            raise NoApplicableRuleSet(organization=organization.name, date=local_day.isoformat())
    days = engine.local_days(started_at, ended_at, organization.timezone)
    return _rate(
        rule_set,
        organization,
        category,
        started_at,
        ended_at,
        urgent,
        history,
        {day: classify_day_for(organization, day, day_kinds) for day in days},
    )


# -- explanations --------------------------------------------------------------------


def _points(number):
    return ngettext("%(num)s point", "%(num)s points", number)


def _multiplier_words(kind):
    return {"weekend": _("weekend"), "holiday": _("public holiday"), "urgent": _("urgent activity")}.get(kind, kind)


def _day_kind_words(kind):
    return {"workday": _("workday"), "weekend": _("weekend"), "holiday": _("public holiday")}.get(kind, kind)


def _explain_part(step):
    line = _(
        "Part %(part)s of %(parts)s, %(day)s %(start)s–%(end)s (%(kind)s): %(actual)s minutes, "
        "counted as %(credited)s minutes.",
        part=step["part"],
        parts=step["parts"],
        day=step["day"],
        start=step["start"],
        end=step["end"],
        kind=_day_kind_words(step["day_kind"]),
        actual=step["actual_minutes"],
        credited=step["credited_minutes"],
    )
    if step["part"] == 1:
        intro = _(
            "The service crosses midnight, so each day's part is rated by that day's kind "
            "and counts toward that day's and that month's limits."
        )
        return f"{intro} {line}"
    return line


def _explain_step(step):
    kind = step.get("step")
    if kind == "rule_set":
        return _("Rule table “%(name)s”, version %(version)s.", name=step["name"], version=step["version"])
    if kind == "minutes":
        return _(
            "%(category)s: %(actual)s minutes of service count as %(credited)s minutes (%(rounding)s).",
            category=category_label(step["category"]),
            actual=step["actual_minutes"],
            credited=step["credited_minutes"],
            rounding=rounding_words(step["rounding"]),
        )
    if kind == "calendar_missing":
        return _(
            "Holiday data for %(year)s is missing: the day was rated as a workday or weekend by its weekday.",
            year=step["year"],
        )
    if kind == "calendar":
        return _explain_calendar_rerate(step)
    if kind == "default_rate":
        return _(
            "The rule table has no rate of its own for %(category)s, so its default rate applies.",
            category=category_label(step["category"]),
        )
    if kind == "part":
        return _explain_part(step)
    if kind == "minimum":
        return _(
            "That is less than the minimum of %(minimum)s minutes, so the time earns no points.",
            minimum=step["minimum_minutes"],
        )
    if kind == "base":
        return _(
            "%(minutes)s minutes at %(rate)s per %(per)s minutes: %(points)s.",
            minutes=step["minutes"],
            rate=_points(step["rate_points"]),
            per=step["rate_minutes"],
            points=_points(step["points"]),
        )
    if kind == "multiplier":
        parts = list_text(
            _(
                "%(what)s ×%(factor)s",
                what=_multiplier_words(item["kind"]),
                factor=engine.format_percent(item["percent"]),
            )
            for item in step["applied"]
        )
        if len(step["applied"]) == 1:
            return _("Multiplier for %(parts)s: +%(points)s.", parts=parts, points=_points(step["points"]))
        if step["stacking"] == "max":
            return _(
                "Multipliers %(parts)s: the highest, ×%(factor)s, applies: +%(points)s.",
                parts=parts,
                factor=step["factor"],
                points=_points(step["points"]),
            )
        return _(
            "Multipliers %(parts)s multiply to ×%(factor)s: +%(points)s.",
            parts=parts,
            factor=step["factor"],
            points=_points(step["points"]),
        )
    if kind == "night" and step["factor"] == step["factor_before"]:
        return _(
            "%(minutes)s minutes in the night window %(start)s–%(end)s: the night multiplier ×%(night)s "
            "is not higher than ×%(before)s, so nothing more.",
            minutes=step["night_minutes"],
            start=step["window"][0],
            end=step["window"][1],
            night=engine.format_percent(step["percent"]),
            before=step["factor_before"],
        )
    if kind == "night":
        return _(
            "%(minutes)s minutes in the night window %(start)s–%(end)s (counted as %(credited)s) "
            "at ×%(factor)s instead of ×%(before)s: +%(points)s.",
            minutes=step["night_minutes"],
            start=step["window"][0],
            end=step["window"][1],
            credited=step["credited_minutes"],
            factor=step["factor"],
            before=step["factor_before"],
            points=_points(step["points"]),
        )
    if kind == "cap":
        removed = _points(-step["points"])
        if step["kind"] == "per_record":
            return _("Limit of %(limit)s per record: −%(removed)s.", limit=_points(step["limit"]), removed=removed)
        if step["kind"] == "per_day":
            return _(
                "Limit of %(limit)s per day (%(already)s already that day): −%(removed)s.",
                limit=_points(step["limit"]),
                already=_points(step["already"]),
                removed=removed,
            )
        return _(
            "Limit of %(limit)s per month (%(already)s already that month): −%(removed)s.",
            limit=_points(step["limit"]),
            already=_points(step["already"]),
            removed=removed,
        )
    if kind == "hours_award":
        return _("Points for the hours of service: %(points)s.", points=_points(step["subtotal"]))
    if kind == "bonus":
        if step["kind"] == "first_service":
            return _("Bonus for a first service: +%(points)s.", points=_points(step["points"]))
        return _(
            "Bonus for reaching %(hours)s hours of service: +%(points)s.",
            hours=step["hours"],
            points=_points(step["points"]),
        )
    return None


def _day_kind_words(kind):
    return {"workday": _("a workday"), "weekend": _("a weekend day"), "holiday": _("a public holiday")}.get(kind, kind)


def _explain_calendar_rerate(step):
    if step["day_kind"] == step["day_kind_before"] and not step["points"]:
        return _(
            "Holiday calendar for %(year)s entered: re-rated; the day is %(kind)s as rated, no change.",
            year=step["year"],
            kind=_day_kind_words(step["day_kind"]),
        )
    change = _points(abs(step["points"]))
    line = _(
        "Holiday calendar for %(year)s entered: re-rated as %(kind)s: %(sign)s%(change)s.",
        year=step["year"],
        kind=_day_kind_words(step["day_kind"]),
        sign="+" if step["points"] >= 0 else "−",
        change=change,
    )
    if step.get("shortfall"):
        line += " " + _(
            "%(points)s could not be taken back because they were already spent.", points=_points(step["shortfall"])
        )
    return line


def explain_award(breakdown: list[dict]) -> list[str]:
    """Plain-word lines, in the current language, for an award's breakdown, ending
    with the total."""
    lines = [line for line in (_explain_step(step) for step in breakdown) if line]
    total = sum(step.get("points", 0) for step in breakdown)
    lines.append(_("Total: %(points)s.", points=_points(total)))
    return lines


# -- star levels ---------------------------------------------------------------------


def _published_stamp():
    """A value that changes with every publication or retirement of a rule set: each
    moves a set one step along draft -> published -> retired (the weighted count grows
    by one), and the latest dates tell one database from another."""
    weight = case((RuleSet.status == "published", 1), (RuleSet.status == "retired", 2), else_=0)
    return (
        select(
            cast(func.coalesce(func.sum(weight), 0), String)
            + ":"
            + func.coalesce(cast(func.max(RuleSet.published_at), String), "")
            + ":"
            + func.coalesce(cast(func.max(RuleSet.retired_at), String), "")
        )
        .where(RuleSet.status != "draft")
        .scalar_subquery()
    )


register_stamp("rule_sets", _published_stamp)

# (stamp, {organization id: [(effective_from, version, star thresholds)]}): the published
# sets' star thresholds, read again when the stamp read by this request differs.
_published_thresholds = (None, {})


def _thresholds_by_organization():
    global _published_thresholds
    current = stamp("rule_sets")
    if current is None:
        current = db.session.execute(select(_published_stamp())).scalar_one()
    known, table = _published_thresholds
    if known == current:
        return table
    table = defaultdict(list)
    for organization_id, effective_from, version, config in db.session.execute(
        select(RuleSet.organization_id, RuleSet.effective_from, RuleSet.version, RuleSet.config).where(
            RuleSet.status == "published"
        )
    ):
        thresholds = tuple(config.get("star_thresholds_hours") or NATIONAL_STAR_THRESHOLDS_HOURS)
        table[organization_id].append((effective_from, version, thresholds))
    _published_thresholds = (current, dict(table))  # read after the stamp: never older than it
    return _published_thresholds[1]


def star_thresholds(organization, on_date=None):
    """Star thresholds in hours that apply to ``organization`` (national ones by default):
    those of the set ``applicable_rule_set`` finds, from a per-process table of the
    published sets that is read again after any publication or retirement."""
    if organization is None:
        return list(NATIONAL_STAR_THRESHOLDS_HOURS)
    on_date = on_date or to_local(utcnow(), organization.timezone).date()
    table = _thresholds_by_organization()
    best = None
    for depth, organization_id in enumerate(organization.ancestor_ids):
        for effective_from, version, thresholds in table.get(organization_id, ()):
            if effective_from <= on_date and (best is None or (depth, effective_from, version) > best[0]):
                best = ((depth, effective_from, version), thresholds)
    return list(best[1] if best is not None else NATIONAL_STAR_THRESHOLDS_HOURS)


def star_level(lifetime_minutes: int, organization, thresholds=None) -> StarLevel:
    """Stars earned by lifetime verified minutes, and the next threshold.

    Pass ``thresholds`` (from ``star_thresholds``) to rate many volunteers with one query."""
    hours = max(0, int(lifetime_minutes)) // 60
    stars, next_stars, next_threshold = engine.stars_for_hours(
        hours, thresholds if thresholds is not None else star_thresholds(organization)
    )
    return StarLevel(stars=stars, hours=hours, next_stars=next_stars, next_threshold_hours=next_threshold)


# -- simulation ----------------------------------------------------------------------


PROGRESS_EVERY = 2000  # records rated between two calls of a simulation's ``progress``


def simulate_rule_set(draft, facts: Iterable[RecordFacts], top=10, progress=None) -> Simulation:
    """Rate past records by ``draft`` and compare with the points they got.

    Per category and in total: points before and after; the ``top`` volunteers with the
    largest change. Records of one volunteer are replayed in time order so the day and
    month caps see the draft's points of earlier records, not the old ones.
    ``progress(records rated so far)``, when given, is called every ``PROGRESS_EVERY``
    records and at the end."""
    facts = sorted(facts, key=lambda item: (item.volunteer_id, item.started_at, item.record_id))
    overrides, entered, kinds = {}, {}, {}

    def classified(organization, day):  # each organization's day is looked up once
        key = (organization.id, day)
        if key not in kinds:
            kinds[key] = classify_day(day, overrides[organization.id], _entered_days(organization, day.year, entered))
        return kinds[key]

    if facts:
        # Local dates lie within a day of the UTC dates.
        first = min(item.started_at for item in facts).date() - timedelta(days=1)
        last = max(item.ended_at for item in facts).date() + timedelta(days=1)
        for organization in {item.organization.id: item.organization for item in facts}.values():
            overrides[organization.id] = _override_map(organization, first, last)
    # Changes of the points for hours so far, per volunteer and local day and per volunteer
    # and month (keyed by its first day): what the day and month caps of later records see.
    day_shift = defaultdict(lambda: defaultdict(int))
    month_shift = defaultdict(lambda: defaultdict(int))
    categories = defaultdict(lambda: [0, 0, 0])
    volunteers = defaultdict(lambda: [0, 0, 0])
    unrated = set()
    for index, item in enumerate(facts):
        if progress is not None and index and not index % PROGRESS_EVERY:
            progress(index)
        days = engine.local_days(item.started_at, item.ended_at, item.organization.timezone)
        start_day, volunteer = days[0], item.volunteer_id
        history = item.history.shifted(days, day_shift[volunteer], month_shift[volunteer])
        before_by_day = (
            item.current_points_by_day if item.current_points_by_day is not None else {start_day: item.current_points}
        )
        try:
            award = _rate(
                draft,
                item.organization,
                item.category,
                item.started_at,
                item.ended_at,
                item.urgent,
                history,
                {day: classified(item.organization, day) for day in days},
            )
            after, after_by_day = award.points, engine.service_points_by_day(award.breakdown, start_day)
        except CategoryNotRated:
            unrated.add(item.category)
            after, after_by_day = 0, {}
        for day in set(before_by_day) | set(after_by_day):
            change = after_by_day.get(day, 0) - before_by_day.get(day, 0)
            day_shift[volunteer][day] += change
            month_shift[volunteer][engine.first_of_month(day)] += change
        for totals in (categories[item.category], volunteers[item.volunteer_id]):
            totals[0] += 1
            totals[1] += item.current_points
            totals[2] += after
    category_changes = [
        CategoryChange(category=code, records=n, points_before=before, points_after=after)
        for code, (n, before, after) in sorted(categories.items())
    ]
    volunteer_changes = [
        VolunteerChange(volunteer_id=volunteer_id, records=n, points_before=before, points_after=after)
        for volunteer_id, (n, before, after) in volunteers.items()
    ]
    volunteer_changes.sort(key=lambda change: (-abs(change.difference), change.volunteer_id))
    if progress is not None:
        progress(len(facts))
    return Simulation(
        rule_set_id=draft.id,
        rule_set_version=draft.version,
        records=len(facts),
        points_before=sum(change.points_before for change in category_changes),
        points_after=sum(change.points_after for change in category_changes),
        categories=category_changes,
        most_affected=volunteer_changes[:top],
        unrated_categories=sorted(unrated),
    )
