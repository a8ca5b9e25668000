"""The approvals backlog: pending service records of the subtree, filtered, decided many
at once (all or nothing), exported.

Filters travel in the query string (ids and codes, never personal data). A decision posts
the filter, when the page was loaded, each shown row's version and the per-row
exceptions; the activities domain re-runs the filter and decides through the one
approval path.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from points_service.activities import backlog
from points_service.activities import service as activities
from points_service.activities.approval import BulkDecisionRefused
from points_service.errors import PointsError
from points_service.exports import FORMATS, export_response
from points_service.i18n import sentence
from points_service.rules import service as rules

from . import bp


def _page(filters, *, after=None, refusal=None, error=None, posted=None, status=200):
    choices_activities, choices_batches = backlog.filter_choices(current_user)
    return (
        render_template(
            "admin/records.html",
            filters=filters,
            page=backlog.backlog_page(current_user, filters, after=after),
            activities=choices_activities,
            batches=choices_batches,
            categories=activities.list_categories(),
            category_label=rules.category_label,
            sources=backlog.SOURCE_WORDS,
            ages=backlog.AGE_CHOICES,
            max_bulk=backlog.MAX_BULK,
            refusal=refusal,
            error=error,
            posted=posted or MultiDict(),
            formats=FORMATS,
        ),
        status,
    )


@bp.get("/records")
def records():
    filters = backlog.BacklogFilter.parse(request.args)
    return _page(filters, after=request.args.get("after"))


def _outcome_message(outcome):
    decisions = outcome.decisions
    parts = [_("%(n)s approved", n=len(decisions.approved))]
    if decisions.rejected:
        parts.append(_("%(n)s rejected", n=len(decisions.rejected)))
    if decisions.excluded:
        parts.append(_("%(n)s left pending", n=len(decisions.excluded)))
    message = sentence(parts)
    if outcome.truncated:
        message += " " + _(
            "Only the oldest %(n)s records on this filter were in this action; the rest are still waiting.",
            n=backlog.MAX_BULK,
        )
    return message


@bp.post("/records/decision")
def records_decide():
    form = request.form
    filters = backlog.BacklogFilter.parse(form)
    shown = form.getlist("shown")
    decision_of = {record_id: form.get(f"d-{record_id}", "approve") for record_id in shown}
    try:
        outcome = backlog.decide_backlog(
            current_user,
            action=form.get("action"),
            filters=filters,
            all_on_filter=form.get("scope") == "all",
            record_ids=form.getlist("record"),
            versions={record_id: form.get(f"v-{record_id}", "") for record_id in shown},
            exclude=[record_id for record_id, decision in decision_of.items() if decision == "exclude"],
            reject={
                record_id: form.get(f"reason-{record_id}", "")
                for record_id, decision in decision_of.items()
                if decision == "reject"
            },
            reason=form.get("reason", ""),
            as_of=form.get("as_of"),
        )
    except BulkDecisionRefused as refusal:
        return _page(filters, refusal=refusal, posted=form, status=refusal.status)
    except PointsError as error:
        if error.status in (403, 404):
            raise
        return _page(filters, error=error.render_message(), posted=form, status=error.status)
    flash(_outcome_message(outcome), "success")
    return redirect(url_for("admin.records", **filters.as_args()))


@bp.get("/records/export.<fmt>")
def records_export(fmt):
    return _export(fmt, unmasked=False)


@bp.post("/records/export.<fmt>")
def records_export_unmasked(fmt):
    """The same list with names and member numbers in full: a choice of its own, audited."""
    return _export(fmt, unmasked=True)


def _export(fmt, *, unmasked):
    if fmt not in FORMATS:
        abort(404)
    values = request.form if request.method == "POST" else request.args
    filters = backlog.BacklogFilter.parse(values)
    header, rows = backlog.export_backlog(current_user, filters, unmasked=unmasked)
    name = _("pending-records")
    return export_response(fmt, name, header, rows, title=_("Pending records"))
