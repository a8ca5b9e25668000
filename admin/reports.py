"""Reports: the subtree's figures by month, each chart with its table beside it, and each
table as a CSV or xlsx file with exactly the figures of the page.

Each report is defined once (``report_charts``): the chart and its table on the page and
the downloaded file are drawn from the same ``Chart``.
"""

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from babel.dates import format_skeleton
from flask import abort, render_template, request
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from points_service import authz
from points_service.errors import NotFound, PointsError, ValidationError
from points_service.exports import export_response
from points_service.perks import payments
from points_service.replicas import replica_reads
from points_service.reports import service as figures
from points_service.rules import service as rules

from . import bp
from .charts import chart

_MONTH = re.compile(r"(\d{4})-(\d{2})")
_ID = re.compile(r"\d{1,18}")
# The months a report may cover (the service checks the span).
FIRST_YEAR, LAST_YEAR = 2000, 2100
REPORTS = ("active", "hours", "points", "flow", "perks", "counters", "balance", "backlog")
_FIELDS = {"from": _l("first month"), "to": _l("last month")}


def _month_argument(name):
    value = request.args.get(name, "").strip()
    if not value:
        return None
    match = _MONTH.fullmatch(value)
    if match and FIRST_YEAR <= int(match[1]) <= LAST_YEAR and 1 <= int(match[2]) <= 12:
        return date(int(match[1]), int(match[2]), 1)
    raise ValidationError(
        _l("Give the %(field)s as year and month, for example 2026-05."), details={"field": name}, field=_FIELDS[name]
    )


def _selection():
    """The node and months asked for (the admin's subtree and the last 12 months by default)."""
    wanted = request.args.get("org", "").strip()
    if wanted and not _ID.fullmatch(wanted):
        raise NotFound()
    organization = figures.report_organization(current_user, int(wanted) if wanted else None)
    first, last = figures.default_range(organization)
    first = _month_argument("from") or first
    last = _month_argument("to") or last
    return organization, figures.month_span(first, last)


def _query(organization, months):
    return {"org": organization.id, "from": f"{months[0]:%Y-%m}", "to": f"{months[-1]:%Y-%m}"}


def month_label(month):
    return format_skeleton("yMMM", month, locale=get_locale())


def hours(minutes):
    """Minutes as hours with one decimal: the figure on the page and in the files."""
    return (Decimal(minutes) / 60).quantize(Decimal("0.1"))


def number(value):
    if isinstance(value, Decimal):
        return format_decimal(value, format="#,##0.0")
    return format_decimal(value)


def _backlog_labels():
    labels, previous = [], 0
    for days in figures.BACKLOG_BUCKETS:
        if days is None:
            labels.append(_("more than %(n)s days", n=previous))
        elif previous == 0:
            labels.append(_("up to %(n)s days", n=days))
        else:
            labels.append(_("%(low)s to %(high)s days", low=previous + 1, high=days))
        previous = days or previous
    return labels


def report_charts(dashboard, names=REPORTS):
    """{report name: (chart, heading of its label column)} for ``names``: the page's charts
    and tables and the files' rows, drawn from one definition."""
    return {name: (chart(*spec, formatter=number), heading) for name, (spec, heading) in _reports(dashboard, names)}


def _reports(dashboard, names):
    """(name, ((kind, title, labels, series), heading)) of each report in ``names``."""
    months = dashboard.months
    month_names = [month_label(month) for month in months]
    category_names = rules.category_labels()

    def service_series(index, convert=int):
        return [
            (
                category_names.get(category, category),
                [convert(dashboard.service.get((month, category), (0, 0, 0))[index]) for month in months],
            )
            for category in dashboard.categories
        ]

    month_heading = _("Month")
    reports = {
        "active": (
            (
                "bar",
                _("Active volunteers by month"),
                month_names,
                [(_("Active volunteers"), [dashboard.active_volunteers.get(month, 0) for month in months])],
            ),
            month_heading,
        ),
        "hours": (
            (
                "stacked",
                _("Hours of approved service by month and category"),
                month_names,
                service_series(1, hours),
            ),
            month_heading,
        ),
        "points": (
            (
                "stacked",
                _("Points earned by month and category"),
                month_names,
                service_series(2),
            ),
            month_heading,
        ),
        "flow": (
            (
                "bar",
                _("Points earned, redeemed and expired by month"),
                month_names,
                [
                    (_("Earned"), [dashboard.earned(month) for month in months]),
                    (_("Redeemed"), [dashboard.redeemed.get(month, 0) for month in months]),
                    (_("Expired"), [dashboard.expired.get(month, 0) for month in months]),
                ],
            ),
            month_heading,
        ),
        "perks": (
            (
                "hbar",
                _("Redemptions by perk"),
                [name for _id, name, _count, _points in dashboard.perks],
                [
                    (_("Redemptions"), [count for _id, _name, count, _points in dashboard.perks]),
                    (_("Points"), [points for _id, _name, _count, points in dashboard.perks]),
                ],
            ),
            _("Perk"),
        ),
        "counters": (
            (
                "hbar",
                _("Redemptions by counter"),
                [name for _id, name, _count, _points in dashboard.counters],
                [
                    (_("Redemptions"), [count for _id, _name, count, _points in dashboard.counters]),
                    (_("Points"), [points for _id, _name, _count, points in dashboard.counters]),
                ],
            ),
            _("Counter"),
        ),
        "balance": (
            (
                "bar",
                _("Points outstanding and expiring"),
                [_("Outstanding now")] + [_("Expiring within %(n)s days", n=days) for days in figures.EXPIRY_HORIZONS],
                [(_("Points"), [dashboard.outstanding] + [dashboard.expiring[d] for d in figures.EXPIRY_HORIZONS])],
            ),
            _("Figure"),
        ),
        "backlog": (
            (
                "bar",
                _("Service records waiting for approval, by time waited"),
                _backlog_labels(),
                [(_("Records"), dashboard.backlog.by_age)],
            ),
            _("Waiting"),
        ),
    }
    return [(name, reports[name]) for name in names]


@bp.get("/reports")
@replica_reads
def reports():
    organization, months = _selection()
    dashboard = figures.build_dashboard(current_user, organization, months)
    return render_template(
        "admin/reports.html",
        dashboard=dashboard,
        charts=report_charts(dashboard),
        choices=figures.organization_choices(current_user, organization),
        query=_query(organization, months),
        expiry_horizons=figures.EXPIRY_HORIZONS,
        number=number,
    )


@bp.get("/reports/<name>.<any(csv, xlsx):fmt>")
@replica_reads
def reports_export(name, fmt):
    if name not in REPORTS:
        abort(404)
    organization, months = _selection()
    dashboard = figures.build_dashboard(current_user, organization, months)
    drawn, heading = report_charts(dashboard, [name])[name]
    return export_response(
        fmt,
        f"{name}-{months[0]:%Y-%m}-{months[-1]:%Y-%m}",
        [heading, *(series_name for series_name, _values in drawn.series)],
        ([label, *values] for label, values in drawn.rows),
        title=drawn.title,
    )


@bp.get("/reports/payments")
def payments_reconciliation():
    """Card payments against Stripe since a day: the same list as ``points reconcile-payments``."""
    if not authz.can(current_user, "redemption.void_any", None):
        abort(403)
    typed = request.args.get("since", "").strip()
    since = date.today() - timedelta(days=30)
    if typed:
        try:
            since = date.fromisoformat(typed)
        except ValueError:
            raise ValidationError(
                _l("Give the first day as YYYY-MM-DD, for example 2026-05-01."), details={"field": "since"}
            ) from None
    mismatches, problem = None, None
    if payments.online_payment_available():
        try:
            mismatches = payments.reconcile_payments(datetime.combine(since, time()), actor=current_user)
        except PointsError as error:
            problem = error.render_message()
    return render_template(
        "admin/payments_reconciliation.html",
        since=since,
        mismatches=mismatches,
        problem=problem,
        configured=payments.online_payment_available(),
    )
