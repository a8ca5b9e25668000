"""Organizer pages: activities, check-in QR, roster, approval, imports, simulation, and
the staff work list (shortfalls, refunds due, changes waiting for a second person).

Desk pages for community workers. Every page parses a form, authorizes through the
services (which ask ``authz``), calls one service and renders. Volunteer names are
masked on every page here; member numbers travel only in form bodies.
"""

from datetime import timedelta
from io import BytesIO

import segno
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from .. import authz
from ..accounts import service as accounts
from ..accounts.service import mask_name
from ..activities import imports
from ..activities import service as activities
from ..changes import service as changes
from ..codes import normalise_typed
from ..errors import PointsError, ValidationError
from ..extensions import login_manager
from ..i18n import sentence
from ..inputs import MAX_ID
from ..myaccount import resets
from ..perks import payments
from ..perks import service as perks
from ..rules import service as rules
from ..timeutil import to_local, to_utc, utcnow
from ..worklist import service as worklist
from .forms import within_calendar

bp = Blueprint("organizer", __name__, url_prefix="/organizer")

STAFF_PERMISSIONS = ("activity.manage", "record.enter", "record.approve", "import.run", "rules.manage")
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


@bp.before_request
def require_organizer():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not any(authz.can(current_user, permission, None) for permission in STAFF_PERMISSIONS):
        abort(403)
    return None


@bp.context_processor
def organizer_helpers():
    return {
        "masked": mask_name,
        "category_label": rules.category_label,
        "can": lambda permission, organization=None: authz.can(current_user, permission, organization),
        "calendar_warnings": _calendar_warnings,
        "may_see_work_list": lambda: worklist.may_see_work_list(current_user),
    }


def _calendar_warnings():
    """Years of the staff member's trees that lack holiday data (the banner of every page)."""
    today = to_local(utcnow(), current_app.config["DEFAULT_TIMEZONE"]).date()
    return rules.calendar_warnings(today, authz.scope_roots(current_user, "record.approve"))


# -- forms ---------------------------------------------------------------------------


class ActivityEditForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)])
    place = StringField(_l("Place"), validators=[DataRequired(), Length(max=200)])
    starts_at = DateTimeLocalField(_l("Starts"), format=LOCAL_FORMAT, validators=[DataRequired(), within_calendar])
    ends_at = DateTimeLocalField(_l("Ends"), format=LOCAL_FORMAT, validators=[DataRequired(), within_calendar])
    capacity = IntegerField(_l("Places"), default=20, validators=[InputRequired(), NumberRange(min=1, max=10000)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)])


class ActivityForm(ActivityEditForm):
    organization = SelectField(_l("Organization"), coerce=int, validators=[DataRequired()])
    category = SelectField(_l("Category"), validators=[DataRequired()])
    urgent = BooleanField(_l("Urgent task"))
    confirm_past = BooleanField(_l("Yes, publish it although it starts in the past"))


class RecordForm(FlaskForm):
    member_no = StringField(_l("Member number"), filters=[normalise_typed], validators=[Optional(), Length(max=20)])
    volunteer = IntegerField(validators=[Optional(), NumberRange(min=1, max=MAX_ID)])
    organization = SelectField(_l("Organization"), coerce=int, validators=[DataRequired()])
    category = SelectField(_l("Category"), validators=[DataRequired()])
    started_at = DateTimeLocalField(_l("Started"), format=LOCAL_FORMAT, validators=[DataRequired(), within_calendar])
    ended_at = DateTimeLocalField(_l("Ended"), format=LOCAL_FORMAT, validators=[DataRequired(), within_calendar])
    urgent = BooleanField(_l("Urgent task"))
    note = StringField(_l("Note"), validators=[Optional(), Length(max=255)])


class ScanForm(FlaskForm):
    member_no = StringField(_l("Member number"), filters=[normalise_typed], validators=[DataRequired(), Length(max=20)])


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=255)])


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token; dynamic fields are read from the form body."""


class ImportForm(FlaskForm):
    organization = SelectField(_l("Records are for"), coerce=int, validators=[DataRequired()])
    file = FileField(_l("Spreadsheet (.xlsx or .csv)"), validators=[FileRequired()])


class SimulationForm(FlaskForm):
    rule_set = SelectField(_l("Draft rule set"), coerce=int, validators=[DataRequired()])
    months = IntegerField(_l("Months of past records"), default=6, validators=[InputRequired(), NumberRange(1, 36)])


class RerateForm(FlaskForm):
    rule_set = SelectField(_l("Published rule set"), coerce=int, validators=[DataRequired()])
    start = DateField(_l("First day"), validators=[DataRequired(), within_calendar])
    end = DateField(_l("Last day"), validators=[DataRequired(), within_calendar])


def _organization_choices(form_field, permission):
    nodes = activities.organizations_in_scope(current_user, permission)
    form_field.choices = [(node.id, node.name) for node in nodes]
    return {node.id: node for node in nodes}


def _category_choices(form_field):
    form_field.choices = [(c.code, rules.category_label(c.code)) for c in activities.list_categories()]


def _form_errors(form):
    return " ".join(f"{form[name].label.text}: {' '.join(errors)}" for name, errors in form.errors.items())


# -- start page and activities -----------------------------------------------------------


@bp.route("/")
def index():
    return render_template(
        "organizer/index.html",
        upcoming=activities.list_activities(current_user, upcoming=True, limit=20),
        pending=activities.count_pending_records(current_user),
    )


@bp.route("/activities")
def activity_list():
    return render_template("organizer/activities.html", activities=activities.list_activities(current_user, limit=200))


@bp.route("/activities/new", methods=["GET", "POST"])
def new_activity():
    form = ActivityForm()
    nodes = _organization_choices(form.organization, "activity.manage")
    _category_choices(form.category)
    if not nodes:
        abort(403)
    error = None
    if request.method == "GET":
        start = to_local(utcnow(), next(iter(nodes.values())).timezone).replace(minute=0, second=0, microsecond=0)
        form.starts_at.data = start.replace(tzinfo=None) + timedelta(days=1)
        form.ends_at.data = form.starts_at.data + timedelta(hours=2)
    asks_past = False
    if form.validate_on_submit():
        node = nodes.get(form.organization.data)
        asks_past = to_utc(form.starts_at.data, node.timezone) < utcnow() and not form.confirm_past.data
        if asks_past:
            error = _(
                "This activity starts in the past. To record service that already happened,"
                " tick the box below and publish again."
            )
        else:
            try:
                activity = activities.create_activity(
                    current_user,
                    organization=node,
                    title=form.title.data,
                    category=form.category.data,
                    place=form.place.data,
                    starts_at=to_utc(form.starts_at.data, node.timezone),
                    ends_at=to_utc(form.ends_at.data, node.timezone),
                    capacity=form.capacity.data,
                    description=form.description.data or "",
                    urgent=form.urgent.data,
                )
            except PointsError as exc:
                error = exc.render_message()
            else:
                flash(_("The activity is published."), "success")
                return redirect(url_for(".activity", activity_id=activity.id))
    elif request.method == "POST":
        error = _form_errors(form)
    page = render_template("organizer/activity_form.html", form=form, error=error, asks_past=asks_past)
    return page, (422 if error else 200)


@bp.route("/activities/<id:activity_id>/edit", methods=["GET", "POST"])
def edit_activity(activity_id):
    item = activities.activity_for_staff(current_user, activity_id)
    timezone = item.organization.timezone
    form = ActivityEditForm(
        data={
            "title": item.title,
            "place": item.place,
            "starts_at": to_local(item.starts_at, timezone).replace(tzinfo=None),
            "ends_at": to_local(item.ends_at, timezone).replace(tzinfo=None),
            "capacity": item.capacity,
            "description": item.description,
        }
        if request.method == "GET"
        else None
    )
    error = None
    if form.validate_on_submit():
        try:
            changed = activities.update_activity(
                current_user,
                activity_id,
                title=form.title.data,
                place=form.place.data,
                starts_at=to_utc(form.starts_at.data, timezone),
                ends_at=to_utc(form.ends_at.data, timezone),
                capacity=form.capacity.data,
                description=form.description.data or "",
            )
        except PointsError as exc:
            error = exc.render_message()
        else:
            if not changed:
                flash(_("Nothing was changed."), "info")
            elif {"starts_at", "ends_at", "place"} & set(changed):
                flash(_("The activity is saved; everyone signed up is told of the new time or place."), "success")
            else:
                flash(_("The activity is saved."), "success")
            return redirect(url_for(".activity", activity_id=item.id))
    elif request.method == "POST":
        error = _form_errors(form)
    page = render_template("organizer/activity_form.html", form=form, error=error, activity=item)
    return page, (422 if error else 200)


def _checkin_payload(activity_id):
    code = activities.current_checkin_code(current_user, activity_id)
    url = url_for("volunteer.checkin", activity_id=code.activity_id, code=code.code, _external=True)
    seconds = max(0, int((code.expires_at - utcnow()).total_seconds()))
    return {
        "code": code.code,
        "typed": code.typed,
        "url": url,
        "qr": segno.make(url, error="m").svg_data_uri(scale=6, border=2),
        "expires_in": seconds,
    }


@bp.route("/activities/<id:activity_id>")
def activity(activity_id):
    item = activities.activity_for_staff(current_user, activity_id)
    now = utcnow()
    return render_template(
        "organizer/activity.html",
        activity=item,
        roster=activities.roster(current_user, activity_id),
        checkin=_checkin_payload(activity_id) if activities.checkin_is_open(item, now) else None,
        ended=now >= item.ends_at,
        may_approve=authz.can(current_user, "record.approve", item.organization),
        scan_form=ScanForm(),
        action_form=ActionForm(),
    )


@bp.route("/activities/<id:activity_id>/checkin-code")
def checkin_code(activity_id):
    """The current code as JSON, polled by static/js/organizer.js to refresh the QR."""
    return jsonify(_checkin_payload(activity_id))


@bp.route("/activities/<id:activity_id>/scan", methods=["POST"])
def scan_member(activity_id):
    form = ScanForm()
    if not form.validate_on_submit():
        flash(_("Scan or type a member number."), "error")
        return redirect(url_for(".activity", activity_id=activity_id))
    try:
        result = activities.check_in_member(current_user, activity_id, form.member_no.data)
    except PointsError as exc:
        flash(exc.render_message(), "error")
    else:
        name = mask_name(result.signup.volunteer.user.name)
        if result.action == "checked_in":
            flash(_("%(name)s is checked in.", name=name), "success")
        else:
            flash(_("%(name)s is checked out; the record waits for approval.", name=name), "success")
    return redirect(url_for(".activity", activity_id=activity_id))


@bp.route("/activities/<id:activity_id>/roster", methods=["POST"])
def roster_action(activity_id):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    ticked = request.form.getlist("volunteer")
    try:
        if request.form.get("action") == "present":
            results = activities.mark_present(current_user, activity_id, ticked)
            flash(_("%(n)s records created; another person approves them.", n=len(results)), "success")
        else:
            results = activities.toggle_attendance(current_user, activity_id, ticked)
            checked_in = sum(1 for r in results if r.action == "checked_in")
            flash(
                _("%(a)s checked in, %(b)s checked out.", a=checked_in, b=len(results) - checked_in),
                "success",
            )
    except PointsError as exc:
        flash(exc.render_message(), "error")
    return redirect(url_for(".activity", activity_id=activity_id))


def _decisions_message(decisions):
    parts = [_("%(n)s approved", n=len(decisions.approved))]
    if decisions.rejected:
        parts.append(_("%(n)s rejected", n=len(decisions.rejected)))
    if decisions.excluded:
        parts.append(_("%(n)s left pending", n=len(decisions.excluded)))
    message = sentence(parts)
    if decisions.skipped:
        message += " " + _(
            "%(n)s records you entered or performed yourself need another person's approval.",
            n=len(decisions.skipped),
        )
    if decisions.not_pending:
        message += " " + _("%(n)s records were already decided by someone else.", n=len(decisions.not_pending))
    reasons = {}
    for item in decisions.not_approved:
        reasons[item.message] = reasons.get(item.message, 0) + 1
    for reason, count in reasons.items():
        message += " " + _("%(n)s records stay pending: %(reason)s", n=count, reason=reason)
    return message


@bp.route("/activities/<id:activity_id>/approve", methods=["POST"])
def approve_activity(activity_id):
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    shown = request.form.getlist("record")
    exclude = [rid for rid in shown if request.form.get(f"decision-{rid}") == "exclude"]
    reject = {
        rid: request.form.get(f"reason-{rid}", "") for rid in shown if request.form.get(f"decision-{rid}") == "reject"
    }
    try:
        decisions = activities.approve_activity(current_user, activity_id, exclude=exclude, reject=reject, only=shown)
    except PointsError as exc:
        flash(exc.render_message(), "error")
    else:
        flash(_decisions_message(decisions), "error" if decisions.not_approved else "success")
    return redirect(url_for(".activity", activity_id=activity_id))


@bp.route("/activities/<id:activity_id>/cancel", methods=["POST"])
def cancel_activity(activity_id):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        activities.cancel_activity(current_user, activity_id)
    except PointsError as exc:
        flash(exc.render_message(), "error")
    else:
        flash(_("The activity is cancelled."), "success")
    return redirect(url_for(".activity", activity_id=activity_id))


# -- records ------------------------------------------------------------------------------


@bp.route("/records")
def records():
    return render_template(
        "organizer/records.html",
        pending=activities.pending_records(current_user),
        decided=activities.recent_decisions(current_user),
        action_form=ActionForm(),
        may_approve=lambda record: activities.may_approve(current_user, record),
    )


class FindVolunteerForm(FlaskForm):
    who = StringField(_l("Member number, mobile number or name"), validators=[DataRequired(), Length(max=80)])


def _chosen_volunteer(profile_id):
    """The volunteer picked from a search (by profile id), when the organizer may enter their service."""
    if profile_id is None:
        return None
    return accounts.volunteer_for_staff(current_user, profile_id, permission="record.enter")


@bp.route("/records/new", methods=["GET", "POST"])
def new_record():
    form = RecordForm()
    nodes = _organization_choices(form.organization, "record.enter")
    _category_choices(form.category)
    if not nodes:
        abort(403)
    error, chosen = None, None
    try:
        chosen = _chosen_volunteer(form.volunteer.data or request.args.get("volunteer", type=int))
    except PointsError as exc:
        error = exc.render_message()
    if chosen is not None:
        form.volunteer.data = chosen.id
    if error is None and form.validate_on_submit():
        node = nodes.get(form.organization.data)
        try:
            member_no = chosen.member_no if chosen is not None else form.member_no.data
            if not member_no:
                raise ValidationError(
                    _l("Find the volunteer or type their member number."), details={"field": "member_no"}
                )
            activities.enter_record(
                current_user,
                member_no=member_no,
                organization=node,
                category=form.category.data,
                started_at=to_utc(form.started_at.data, node.timezone),
                ended_at=to_utc(form.ended_at.data, node.timezone),
                urgent=form.urgent.data,
                note=form.note.data,
            )
        except PointsError as exc:
            error = exc.render_message()
        else:
            flash(_("The record is saved; another person approves it."), "success")
            return redirect(url_for(".records"))
    elif request.method == "POST" and error is None:
        error = _form_errors(form)
    page = render_template(
        "organizer/record_form.html", form=form, error=error, chosen=chosen, find=FindVolunteerForm(prefix="find")
    )
    return page, (422 if error else 200)


@bp.route("/records/find", methods=["POST"])
def find_volunteer():
    """Search volunteers by member number, mobile number or name (posted: it is personal data)."""
    find = FindVolunteerForm(prefix="find")
    form = RecordForm(formdata=None)
    _organization_choices(form.organization, "record.enter")
    _category_choices(form.category)
    found, error = None, None
    if find.validate_on_submit():
        try:
            found = accounts.find_volunteers(current_user, find.who.data, permission="record.enter")
        except PointsError as exc:
            error = exc.render_message()
    else:
        error = _form_errors(find)
    page = render_template("organizer/record_form.html", form=form, error=error, chosen=None, find=find, found=found)
    return page, (422 if error else 200)


@bp.route("/records/<id:record_id>/approve", methods=["POST"])
def approve_record(record_id):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        record = activities.approve_record(current_user, record_id)
    except PointsError as exc:
        flash(exc.render_message(), "error")
    else:
        flash(_("Approved: %(points)s points.", points=record.points), "success")
    return redirect(url_for(".records"))


@bp.route("/records/<id:record_id>/reject", methods=["POST"])
def reject_record(record_id):
    form = ReasonForm()
    reason = form.reason.data if form.validate_on_submit() else ""
    try:
        activities.reject_record(current_user, record_id, reason)
    except PointsError as exc:
        flash(exc.render_message(), "error")
    else:
        flash(_("Rejected; the volunteer sees your reason."), "success")
    return redirect(url_for(".records"))


@bp.route("/records/<id:record_id>/reverse", methods=["POST"])
def reverse_record(record_id):
    form = ReasonForm()
    reason = form.reason.data if form.validate_on_submit() else ""
    try:
        result = activities.reverse_record(current_user, record_id, reason)
    except PointsError as exc:
        flash(exc.render_message(), "error")
    else:
        message = _("Reversed: %(points)s points taken back.", points=result.points_removed)
        if result.shortfall:
            message += " " + _(
                "%(points)s points were already spent; they are listed as a shortfall to settle.",
                points=result.shortfall,
            )
        flash(message, "success")
    return redirect(url_for(".records"))


# -- imports -------------------------------------------------------------------------------


@bp.route("/imports", methods=["GET", "POST"])
def import_page():
    form = ImportForm()
    nodes = _organization_choices(form.organization, "import.run")
    if not nodes:
        abort(403)
    error, rows, status = None, [], 200
    if form.validate_on_submit():
        upload = form.file.data
        try:
            result = imports.import_records(
                current_user, nodes.get(form.organization.data), upload.filename, imports.upload_bytes(upload)
            )
        except imports.ImportRejected as exc:
            error, rows, status = exc.render_message(), exc.errors[: imports.MAX_REPORTED], 422
        except PointsError as exc:
            error, status = exc.render_message(), exc.status
        else:
            if result.replayed:
                flash(
                    _(
                        "This file was already imported on %(date)s (%(n)s records); nothing was imported again.",
                        date=to_local(result.batch.created_at, result.batch.organization.timezone).strftime(
                            "%Y-%m-%d %H:%M"
                        ),
                        n=result.batch.row_count,
                    ),
                    "info",
                )
            else:
                flash(_("%(n)s records imported; another person approves them.", n=result.created), "success")
            return redirect(url_for(".import_page"))
    elif request.method == "POST":
        error, status = _form_errors(form), 422
    return (
        render_template(
            "organizer/imports.html",
            form=form,
            error=error,
            rows=rows,
            batches=imports.list_batches(current_user),
            max_reported=imports.MAX_REPORTED,
            limits={"rows": imports.MAX_ROWS, "columns": imports.MAX_COLUMNS, "mb": imports.MAX_FILE_MB},
        ),
        status,
    )


@bp.route("/imports/template-<language>.xlsx")
def import_template(language):
    if language not in ("en", "zh_CN"):
        abort(404)
    return send_file(
        BytesIO(imports.import_template(language)),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"service-records-{language}.xlsx",
    )


# -- simulation and re-rating (administrators) ---------------------------------------------------


@bp.route("/simulation", methods=["GET", "POST"])
def simulation():
    if not authz.can(current_user, "rules.manage", None):
        abort(403)
    form = SimulationForm(prefix="simulate")
    rerate_form = RerateForm(prefix="rerate")
    drafts = {
        s.id: s for s in rules.list_rule_sets(status="draft") if authz.can(current_user, "rules.manage", s.organization)
    }
    published = {
        s.id: s
        for s in rules.list_rule_sets(status="published")
        if authz.can(current_user, "rules.manage", s.organization)
    }
    form.rule_set.choices = [(s.id, f"{s.name} v{s.version} · {s.organization.name}") for s in drafts.values()]
    rerate_form.rule_set.choices = [
        (s.id, f"{s.name} v{s.version} · {s.organization.name}") for s in published.values()
    ]
    result, error, status, volunteers = None, None, 200, {}
    try:
        if request.form.get("run") == "simulate" and form.validate_on_submit():
            result = activities.simulate_draft(current_user, drafts[form.rule_set.data], form.months.data)
            volunteers = activities.volunteer_names(current_user, [c.volunteer_id for c in result.most_affected])
        elif request.form.get("run") == "rerate" and rerate_form.validate_on_submit():
            done = activities.rerate_period(
                current_user, published[rerate_form.rule_set.data], rerate_form.start.data, rerate_form.end.data
            )
            flash(
                _(
                    "Re-rated %(changed)s of %(records)s records: %(added)s points added, %(removed)s removed"
                    " (%(shortfall)s could not be taken back); %(done)s were done before.",
                    changed=done.changed,
                    records=done.records,
                    added=done.points_added,
                    removed=done.points_removed,
                    shortfall=done.shortfall,
                    done=done.already_done,
                ),
                "success",
            )
            return redirect(url_for(".simulation"))
        elif request.method == "POST":
            error, status = _form_errors(form) or _form_errors(rerate_form), 422
    except (PointsError, KeyError) as exc:
        error = exc.render_message() if isinstance(exc, PointsError) else _("Choose a rule set from the list.")
        status = 422
    return (
        render_template(
            "organizer/simulation.html",
            form=form,
            rerate_form=rerate_form,
            result=result,
            volunteers=volunteers,
            error=error,
        ),
        status,
    )


# -- work list: states that wait for staff ---------------------------------------------------------


class ReasonTextForm(FlaskForm):
    """A reason the service checks (it names the field when the reason is missing or too long)."""

    reason = StringField(_l("Reason"))


class RefundForm(FlaskForm):
    method = SelectField(_l("How it was handed back"), validate_choice=False)
    note = StringField(_l("Note"))


# Field names of the change requests shown here, in the reader's language.
DIFF_LABELS = {
    "open_points": _l("Points still owed"),
    "written_off_points": _l("Points written off"),
    "reason": _l("Reason"),
    "organization": _l("Organization"),
    "period": _l("Period"),
    "metric": _l("Ranked by"),
    "status": _l("Status"),
    "rank": _l("Rank"),
}


def work_list_context():
    """What the work list's sections need (``organizer/_work_list.html``): this page's
    and the administrator's desk's."""
    refund_form = RefundForm()
    refund_form.method.choices = list(payments.REFUND_METHODS.items())
    return {
        "work": worklist.work_list(current_user),
        "write_off_form": ReasonTextForm(formdata=None),
        "refund_form": refund_form,
        "action_form": ActionForm(),
        "kind_label": changes.kind_label,
        "diff_labels": DIFF_LABELS,
    }


def _work_list_page(error=None, status=200):
    if not worklist.may_see_work_list(current_user):
        abort(403)
    return (
        render_template(
            "organizer/work_list.html", error=error, is_admin=authz.is_admin(current_user), **work_list_context()
        ),
        status,
    )


def _work_list_action(form, action, success):
    """Run one work-list action; on refusal show the page again with the service's message.

    A form sent from the administrator's desk (``back=admin``) returns there."""
    if not worklist.may_see_work_list(current_user):
        abort(403)
    if not form.validate_on_submit():
        abort(400)
    from_desk = request.form.get("back") == "admin"
    try:
        result = action()
    except PointsError as exc:
        if not from_desk:
            return _work_list_page(exc.render_message(), exc.status)
        flash(exc.render_message(), "error")
    else:
        flash(success(result), "success")
    return redirect(url_for("admin.work_list" if from_desk else ".work_list"))


@bp.route("/work-list")
def work_list():
    return _work_list_page()


@bp.route("/work-list/shortfalls/<id:shortfall_id>/write-off", methods=["POST"])
def request_write_off(shortfall_id):
    form = ReasonTextForm()
    return _work_list_action(
        form,
        lambda: worklist.request_shortfall_write_off(current_user, shortfall_id, form.reason.data),
        lambda request: _("Write-off requested; another administrator must approve it."),
    )


@bp.route("/work-list/refunds/<id:redemption_id>/refunded", methods=["POST"])
def mark_refunded(redemption_id):
    form = RefundForm()
    return _work_list_action(
        form,
        lambda: perks.settle_refund(current_user, redemption_id, form.method.data, form.note.data),
        lambda redemption: _("Receipt %(number)s: the refund is recorded.", number=redemption.receipt_number),
    )


@bp.route("/work-list/refunds/<id:redemption_id>/retry", methods=["POST"])
def retry_card_refund(redemption_id):
    return _work_list_action(
        ActionForm(),
        lambda: payments.retry_card_refund(current_user, redemption_id),
        lambda redemption: _("Receipt %(number)s: the card refund went through.", number=redemption.receipt_number),
    )


@bp.route("/work-list/requests/<id:request_id>/approve", methods=["POST"])
def approve_change_request(request_id):
    return _work_list_action(
        ActionForm(),
        lambda: changes.approve_change(current_user, request_id),
        lambda request: _("Approved and applied: %(kind)s.", kind=changes.kind_label(request.kind)),
    )


@bp.route("/work-list/requests/<id:request_id>/reject", methods=["POST"])
def reject_change_request(request_id):
    form = ReasonTextForm()
    return _work_list_action(
        form,
        lambda: changes.reject_change(current_user, request_id, form.reason.data),
        lambda request: _("Rejected: %(kind)s; nothing was changed.", kind=changes.kind_label(request.kind)),
    )


@bp.route("/work-list/requests/<id:request_id>/withdraw", methods=["POST"])
def withdraw_change_request(request_id):
    return _work_list_action(
        ActionForm(),
        lambda: changes.withdraw_change(current_user, request_id),
        lambda request: _("Your request is withdrawn."),
    )


# -- password reset codes ----------------------------------------------------------------


class ResetLookupForm(FlaskForm):
    who = StringField(_l("Member number, mobile number or name"), validators=[DataRequired(), Length(max=80)])


class ResetIssueForm(FlaskForm):
    user_id = IntegerField(validators=[InputRequired(), NumberRange(min=1, max=MAX_ID)])
    identity_checked = BooleanField(_l("I have checked the person's identity document, and the name matches."))


@bp.route("/password-reset", methods=["GET", "POST"])
def password_reset():
    """Find a volunteer by member number, mobile or name (posted, never in the address), then issue a code."""
    if not authz.can(current_user, "password.reset", None):
        abort(403)
    lookup, issue = ResetLookupForm(prefix="find"), ResetIssueForm(prefix="issue")
    found, code, error = None, None, None
    try:
        if request.form.get("step") == "find" and lookup.validate_on_submit():
            found = resets.find_volunteers(current_user, lookup.who.data)
        elif request.form.get("step") == "issue" and issue.validate_on_submit():
            code = resets.issue_reset_code(
                current_user, issue.user_id.data, identity_checked=issue.identity_checked.data is True
            )
        elif request.method == "POST":
            error = _("Please fill in every field.")
    except PointsError as exc:
        error = exc.render_message()
    page = render_template(
        "organizer/password_reset.html",
        lookup=lookup,
        issue=issue,
        found=found,
        code=code,
        error=error,
        lifetime=int(resets.CODE_LIFETIME.total_seconds() // 60),
    )
    return page, (422 if error else 200)
