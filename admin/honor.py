"""Honor rolls on the desk: definitions, drafts of closed periods, review with exclusions,
the publication request (a second administrator approves it on the approvals page), the
poster and the exports.

Thin: the honor services check the permission on the subtree, the periods and every
rule; another community's definition or roll is simply not found. A refused form comes
back with its 4xx status and the message next to the field.
"""

from decimal import Decimal

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from points_service.activities import service as activities
from points_service.errors import PointsError, ValidationError
from points_service.exports import export_response
from points_service.honor import definitions
from points_service.honor import service as honor
from points_service.honor.models import MAX_SIZE, METRICS, NAME_STYLES, PERIOD_KINDS
from points_service.honor.poster import render_honor_poster, value_text
from points_service.web.forms import whole_number

from . import bp

# How many closed periods the "compute a draft" form offers, newest first.
PERIODS_OFFERED = {"month": 12, "quarter": 8, "year": 5}


@bp.context_processor
def honor_words():
    return {
        "period_kind_words": {"month": _("Monthly"), "quarter": _("Quarterly"), "year": _("Yearly")},
        "metric_words": {"hours": _("Verified hours"), "points": _("Points earned")},
        "name_style_words": {"masked": _("Masked (张**)"), "full": _("Full names")},
        "roll_title": honor.honor_roll_title,
        "period_label": honor.period_label,
        "value_text": value_text,
    }


def _refused(error):
    """A refusal as ``({field: message}, status)``; not-found propagates (the 404 page)."""
    if error.status == 404:
        raise error
    return {error.details.get("field", "form"): error.render_message()}, error.status


# -- definitions and the list ----------------------------------------------------------------------


def _list_page(errors=None, status=200):
    organizations = activities.organizations_in_scope(current_user, "honor.manage")
    return render_template(
        "admin/honor_rolls.html",
        definitions=definitions.list_honor_definitions(current_user),
        rolls=definitions.list_honor_rolls(current_user),
        pending=definitions.pending_publications(current_user),
        organizations=organizations,
        period_kinds=PERIOD_KINDS,
        metrics=METRICS,
        name_styles=NAME_STYLES,
        form=request.form,
        errors=errors or {},
    ), status


@bp.get("/honor-rolls")
def honor_rolls():
    return _list_page()


@bp.post("/honor-rolls")
def honor_rolls_define():
    try:
        organization_id = whole_number(request.form, "organization", _("Organization"))
        organization = next(
            (
                node
                for node in activities.organizations_in_scope(current_user, "honor.manage")
                if node.id == organization_id
            ),
            None,
        )
        if organization is None:
            raise ValidationError(_("Choose an organization of your own."), details={"field": "organization"})
        definition = definitions.create_honor_definition(
            current_user,
            organization,
            request.form.get("period_kind", ""),
            request.form.get("metric", ""),
            whole_number(request.form, "size", _("Size"), maximum=MAX_SIZE),
            name_style=request.form.get("name_style", ""),
        )
    except PointsError as error:
        return _list_page(*_refused(error))
    flash(_("The roll is defined. Compute a draft once a period has ended."), "success")
    return redirect(url_for("admin.honor_rolls_definition", definition_id=definition.id))


def _definition_page(definition_id, errors=None, status=200):
    definition = definitions.get_honor_definition(current_user, definition_id)
    periods = definitions.closed_period_starts(
        definition.period_kind, definition.organization.timezone, count=PERIODS_OFFERED[definition.period_kind]
    )
    return render_template(
        "admin/honor_definition.html",
        definition=definition,
        rolls=definitions.list_honor_rolls(current_user, definition=definition),
        pending=definitions.pending_publications(current_user),
        periods=[(start, honor.period_text(definition.period_kind, start)) for start in periods],
        name_styles=NAME_STYLES,
        form=request.form,
        errors=errors or {},
    ), status


@bp.get("/honor-rolls/definitions/<id:definition_id>")
def honor_rolls_definition(definition_id):
    return _definition_page(definition_id)


@bp.post("/honor-rolls/definitions/<id:definition_id>")
def honor_rolls_redefine(definition_id):
    try:
        definitions.update_honor_definition(
            current_user,
            definition_id,
            size=whole_number(request.form, "size", _("Size"), maximum=MAX_SIZE),
            name_style=request.form.get("name_style", ""),
            active=request.form.get("active") == "1",
        )
    except PointsError as error:
        return _definition_page(definition_id, *_refused(error))
    flash(_("Saved. Rolls computed before keep their settings."), "success")
    return redirect(url_for("admin.honor_rolls_definition", definition_id=definition_id))


@bp.post("/honor-rolls/definitions/<id:definition_id>/drafts")
def honor_rolls_compute(definition_id):
    try:
        roll = definitions.compute_definition_draft(current_user, definition_id, request.form.get("period_start", ""))
    except PointsError as error:
        return _definition_page(definition_id, *_refused(error))
    flash(_("Draft computed. Review it, then ask for its publication."), "success")
    return redirect(url_for("admin.honor_rolls_review", roll_id=roll.id))


# -- one roll ----------------------------------------------------------------------------------------


def _review_page(roll_id, errors=None, status=200):
    roll = definitions.get_managed_honor_roll(current_user, roll_id)
    shown = {entry.id for entry in honor.public_entries(roll)} if roll.status == "published" else None
    return render_template(
        "admin/honor_roll.html",
        roll=roll,
        request_pending=definitions.pending_publications(current_user).get(roll.id),
        left_out=honor.left_out_for_opting_out(roll),
        shown=shown,
        errors=errors or {},
    ), status


@bp.get("/honor-rolls/<id:roll_id>")
def honor_rolls_review(roll_id):
    return _review_page(roll_id)


@bp.post("/honor-rolls/<id:roll_id>/exclusions")
def honor_rolls_exclude(roll_id):
    definitions.get_managed_honor_roll(current_user, roll_id)  # another community's roll: 404
    try:
        honor.exclude_from_honor_roll(
            current_user,
            roll_id,
            whole_number(request.form, "entry", _("Line")),
            request.form.get("reason", ""),
            version=whole_number(request.form, "version", _("Version")),
        )
    except PointsError as error:
        return _review_page(roll_id, *_refused(error))
    flash(_("Left off the roll; the ranks below moved up. The reviewer will see your reason."), "success")
    return redirect(url_for("admin.honor_rolls_review", roll_id=roll_id))


@bp.post("/honor-rolls/<id:roll_id>/publication")
def honor_rolls_request(roll_id):
    definitions.get_managed_honor_roll(current_user, roll_id)  # another community's roll: 404
    try:
        change = honor.request_honor_roll_publication(current_user, roll_id)
    except PointsError as error:
        return _review_page(roll_id, *_refused(error))
    flash(_("Publication requested: another administrator reviews the list and approves it."), "success")
    return redirect(url_for("admin.change_request", request_id=change.id))


@bp.get("/honor-rolls/<id:roll_id>/poster.pdf")
def honor_rolls_poster(roll_id):
    roll = definitions.get_managed_honor_roll(current_user, roll_id)
    if roll.status != "published":
        raise honor.HonorRollNotFound()
    return Response(
        render_honor_poster(roll),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="honor-roll-{roll.id}.pdf"'},
    )


def _export_rows(roll, entries):
    for entry in entries:
        if roll.metric == "hours":
            hours = (Decimal(entry.value) / 60).quantize(Decimal("0.01"))
            yield [entry.rank, entry.display_name, entry.home_community, hours, entry.value]
        else:
            yield [entry.rank, entry.display_name, entry.home_community, entry.value]


@bp.get("/honor-rolls/<id:roll_id>/export.<any(csv, xlsx):fmt>")
def honor_rolls_export(roll_id, fmt):
    roll = definitions.get_managed_honor_roll(current_user, roll_id)
    entries = honor.public_entries(roll) if roll.status == "published" else roll.entries
    header = [_("Rank"), _("Volunteer"), _("Community")]
    header += [_("Hours"), _("Minutes")] if roll.metric == "hours" else [_("Points")]
    return export_response(
        fmt, honor.honor_roll_title(roll), header, _export_rows(roll, entries), title=_("Honor roll")
    )
