"""The holiday calendar: a year's special days and where each kind comes from, the
overrides with who set them and why, adding and removing an override, entering a year's
calendar from the notice's file, and re-rating the approved records of a year.

The scope is the deployment (``org=global``, for an administrator of the whole city) or
one organization of the admin's subtree; another organization is a 404. The rules
domain decides who may change what (``rules.authorize_calendar``) and writes the audit.
"""

import chinese_calendar
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from points_service.activities import service as activities
from points_service.errors import PointsError, ValidationError
from points_service.inputs import MAX_ID
from points_service.organizations.settings import setting
from points_service.rules import calendar as holidays
from points_service.rules import service as rules
from points_service.rules.calendar import CalendarRejected
from points_service.timeutil import to_local, utcnow

from . import bp

GLOBAL = "global"
PERMISSION = "rules.manage"
MAX_UPLOAD_NAME = 255

KIND_WORDS = {
    holidays.WORKDAY: _l("Workday"),
    holidays.WEEKEND: _l("Weekend"),
    holidays.HOLIDAY: _l("Public holiday"),
}
SOURCE_WORDS = {
    holidays.OVERRIDE: _l("Override"),
    holidays.ENTERED: _l("Entered calendar"),
    holidays.PACKAGE: _l("Package data"),
    holidays.MISSING: _l("Missing: rated by weekday"),
}


# The package names its holidays in English and in Chinese.
PACKAGE_NAMES_IN_CHINESE = {holiday.value: holiday.chinese for holiday in chinese_calendar.Holiday}


def holiday_name(name):
    """A holiday's name as listed, in Chinese on a Chinese page when the package gave it in English."""
    locale = get_locale()
    if locale is not None and locale.language == "zh":
        return PACKAGE_NAMES_IN_CHINESE.get(name, name)
    return name


@bp.context_processor
def calendar_words():
    return {
        "kind_words": KIND_WORDS,
        "source_words": SOURCE_WORDS,
        "global_scope": GLOBAL,
        "holiday_name": holiday_name,
    }


def _choices():
    nodes = activities.organizations_in_scope(current_user, PERMISSION)
    if not nodes:
        abort(403)
    return nodes


def _scope(value, nodes):
    """The organization ``value`` names among ``nodes`` (None for the deployment); 404 otherwise."""
    value = (value or "").strip()
    if value == GLOBAL:
        if not rules.can_manage_calendar(current_user, None):
            abort(404)
        return None
    if not value:
        return nodes[0]
    if not value.isdigit() or not 1 <= int(value) <= MAX_ID:
        abort(404)
    found = next((node for node in nodes if node.id == int(value)), None)
    if found is None:
        abort(404)
    return found


def _scope_value(scope):
    return GLOBAL if scope is None else str(scope.id)


def _this_year(scope):
    return to_local(utcnow(), setting(scope, "timezone")).year


def _year(value, default):
    """The year asked for, or ``(default, error)`` when it is not one the calendar knows."""
    if value is None or not value.strip():
        return default, None
    text = value.strip()
    if not text.isdigit() or not holidays.FIRST_YEAR <= int(text) <= holidays.LAST_YEAR:
        message = _("Choose a year from %(first)s to %(last)s.", first=holidays.FIRST_YEAR, last=holidays.LAST_YEAR)
        return default, message
    return int(text), None


def _page(scope, nodes, year, *, errors=None, form=None, problems=None, status=200):
    this_year = _this_year(scope)
    may_change_global = rules.can_manage_calendar(current_user, None)
    if scope is None:
        may_enter = may_change_global
    else:
        may_enter = scope.parent_id is None and rules.can_manage_calendar(current_user, scope)
    return (
        render_template(
            "admin/calendar.html",
            overview=rules.year_overview(year, scope),
            scope=scope,
            scope_value=_scope_value(scope),
            nodes=nodes,
            year=year,
            years=sorted({*range(this_year - 2, this_year + 2), year}),
            this_year=this_year,
            may_change_global=may_change_global,
            may_enter=may_enter,
            may_remove=lambda detail: rules.can_manage_calendar(current_user, detail.organization),
            errors=errors or {},
            form=form or {},
            problems=problems or [],
            weekday=lambda day: format_date(day, "EEE"),
            first_year=holidays.FIRST_YEAR,
            last_year=holidays.LAST_YEAR,
        ),
        status,
    )


@bp.get("/calendar")
def calendar():
    nodes = _choices()
    scope = _scope(request.args.get("org"), nodes)
    year, error = _year(request.args.get("year"), _this_year(scope))
    if error:
        return _page(scope, nodes, year, errors={"year": error}, status=400)
    return _page(scope, nodes, year)


def _back(scope, year):
    return redirect(url_for("admin.calendar", org=_scope_value(scope), year=year))


def _field_of(error, default):
    return error.details.get("field", default) if isinstance(error.details, dict) else default


@bp.post("/calendar/overrides")
def calendar_add_override():
    nodes = _choices()
    scope = _scope(request.form.get("org"), nodes)
    form = {key: request.form.get(key, "") for key in ("day", "kind", "note")}
    year, _error = _year(form["day"][:4], _this_year(scope))
    if not form["note"].strip():
        return _page(scope, nodes, year, errors={"note": _("Say why this day is different.")}, form=form, status=400)
    try:
        override = rules.set_holiday_override(current_user, form["day"], form["kind"], form["note"], scope)
    except PointsError as error:
        if error.status == 404:
            raise
        return _page(
            scope, nodes, year, errors={_field_of(error, "day"): error.render_message()}, form=form, status=error.status
        )
    flash(
        _(
            "%(date)s is now a %(kind)s. Records approved from now on are rated with it.",
            date=override.day.isoformat(),
            kind=KIND_WORDS[override.kind],
        ),
        "success",
    )
    return _back(scope, override.day.year)


@bp.post("/calendar/overrides/remove")
def calendar_remove_override():
    nodes = _choices()
    scope = _scope(request.form.get("org"), nodes)
    year, _error = _year(request.form.get("year"), _this_year(scope))
    try:
        removed = rules.remove_holiday_override(current_user, request.form.get("day", ""), scope)
    except PointsError as error:
        if error.status == 404:
            raise
        flash(error.render_message(), "error")
        return _back(scope, year)
    if removed:
        flash(_("The override is removed; the calendar decides that day again."), "success")
    else:
        flash(_("There was no override on that day."), "error")
    return _back(scope, year)


@bp.post("/calendar/import")
def calendar_import():
    nodes = _choices()
    scope = _scope(request.form.get("org"), nodes)
    form = {"source": request.form.get("source", ""), "import_year": request.form.get("year", "")}
    year, year_error = _year(form["import_year"], None)
    upload = request.files.get("file")
    try:
        if year_error or year is None:
            raise ValidationError(year_error or _l("Choose the year of the notice."), details={"field": "import_year"})
        if upload is None or not upload.filename:
            raise ValidationError(_l("Choose the file to import."), details={"field": "file"})
        filename = upload.filename[:MAX_UPLOAD_NAME]
        rows = activities.read_calendar_file(filename, upload.read())
        result = activities.import_year_calendar(current_user, year, rows, organization=scope, source=form["source"])
    except CalendarRejected as error:
        return _page(
            scope,
            nodes,
            year,
            errors={"file": error.render_message()},
            form=form,
            problems=error.problems,
            status=error.status,
        )
    except PointsError as error:
        if error.status == 404:
            raise
        field = {"year": "import_year", "source": "source"}.get(_field_of(error, "file"), "file")
        return _page(
            scope,
            nodes,
            year or _this_year(scope),
            errors={field: error.render_message()},
            form=form,
            status=error.status,
        )
    if result.changed:
        flash(_("The calendar of %(year)s is entered.", year=year), "success")
    else:
        flash(_("The same calendar of %(year)s was already entered; nothing changed.", year=year), "success")
    _flash_rerate(year, result.rerate)
    return _back(scope, year)


def _flash_rerate(year, rerate):
    flash(
        _(
            "Re-rated %(records)s approved records of %(year)s: %(changed)s corrected, "
            "%(added)s points added, %(removed)s removed, %(shortfall)s already spent (shortfall).",
            records=rerate.records,
            year=year,
            changed=rerate.changed,
            added=rerate.points_added,
            removed=rerate.points_removed,
            shortfall=rerate.shortfall,
        ),
        "success",
    )


@bp.post("/calendar/rerate")
def calendar_rerate():
    nodes = _choices()
    scope = _scope(request.form.get("org"), nodes)
    year, error = _year(request.form.get("year"), _this_year(scope))
    if error:
        return _page(scope, nodes, year, errors={"year": error}, status=400)
    try:
        rerate = activities.rerate_calendar_year(current_user, year, organization=scope)
    except PointsError as error:
        if error.status == 404:
            raise
        flash(error.render_message(), "error")
        return _back(scope, year)
    _flash_rerate(year, rerate)
    return _back(scope, year)
