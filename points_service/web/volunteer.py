"""The volunteer's own pages (phone-first): balance and star level, member QR, history,
activities to join, check-in by scanning the activity QR, own service records with the
reasons for their points, and reporting service for approval."""

from datetime import timedelta

import segno
from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..accounts import member_codes
from ..activities import service as activities
from ..codes import normalise_code
from ..errors import PointsError
from ..extensions import limiter
from ..ledger import service as ledger
from ..myaccount import service as myaccount
from ..notices import service as notices
from ..replicas import replica_reads
from ..rules import service as rules
from ..timeutil import to_local, to_utc, utcnow
from .forms import within_calendar

bp = Blueprint("volunteer", __name__, url_prefix="/me")

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token."""


class CheckinForm(FlaskForm):
    code = HiddenField(filters=[normalise_code], validators=[DataRequired(), Length(max=16)])


class TypedCheckinForm(FlaskForm):
    code = StringField(_l("Check-in code"), validators=[DataRequired(), Length(max=32)])


def _per_volunteer():
    """Typed check-in codes are limited per person: guessing six digits from one account is throttled."""
    return f"user:{current_user.get_id()}"


class ReportForm(FlaskForm):
    category = SelectField(_l("Kind of service"), validators=[DataRequired()])
    started_at = DateTimeLocalField(_l("Started"), format=LOCAL_FORMAT, validators=[DataRequired(), within_calendar])
    ended_at = DateTimeLocalField(_l("Ended"), format=LOCAL_FORMAT, validators=[DataRequired(), within_calendar])
    evidence = TextAreaField(
        _l("What did you do, and who can confirm it?"), validators=[DataRequired(), Length(max=4000)]
    )


@bp.context_processor
def volunteer_helpers():
    return {"category_label": rules.category_label}


def _profile():
    profile = current_user.volunteer
    if profile is None:
        abort(404)
    return profile


@bp.route("/")
@login_required
def home():
    profile = _profile()
    account = ledger.account_of_volunteer(profile.id)
    entries = ledger.list_entries(account.id, limit=20)
    expiring = myaccount.expiring_soon(profile)
    return render_template(
        "volunteer/home.html",
        profile=profile,
        account=account,
        entries=entries,
        expiring=expiring,
        level=activities.volunteer_level(profile),
        records=activities.my_records(current_user, limit=5),
        signups=activities.list_my_signups(current_user),
        notices=notices.unread_notices(current_user),
    )


@bp.route("/code")
@login_required
def member_code():
    """The rotating code a counter scans to spend the volunteer's points; the page reloads when it changes."""
    profile = _profile()
    code = member_codes.rotating_code(profile)
    qr = segno.make(code.scan, error="m").svg_data_uri(scale=6, border=2)
    page = render_template("volunteer/code.html", profile=profile, code=code, code_qr=qr)
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Refresh"] = str(code.seconds_left + 1)
    return response


@bp.route("/notices/<id:notice_id>/read", methods=["POST"])
@login_required
def dismiss_notice(notice_id):
    notices.dismiss(current_user, notice_id)
    return redirect(url_for(".home"))


# -- activities --------------------------------------------------------------------------


@bp.route("/activities")
@login_required
def activity_list():
    _profile()
    return render_template(
        "volunteer/activities.html",
        activities=activities.list_open_activities(current_user),
        signups=activities.list_my_signups(current_user),
    )


@bp.route("/activities/<id:activity_id>")
@login_required
def activity(activity_id):
    _profile()
    return render_template(
        "volunteer/activity.html",
        view=activities.activity_for_volunteer(current_user, activity_id),
        form=ActionForm(),
        now=utcnow(),
    )


@bp.route("/activities/<id:activity_id>/signup", methods=["POST"])
@login_required
def sign_up(activity_id):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        signup = activities.sign_up(current_user, activity_id)
    except PointsError as exc:
        flash(exc.render_message(), "error")
    else:
        if signup.status == "confirmed":
            flash(_("You are signed up. See you there!"), "success")
        else:
            flash(_("The activity is full; you are on the waiting list and move up when a place frees."), "info")
    return redirect(url_for(".activity", activity_id=activity_id))


@bp.route("/activities/<id:activity_id>/cancel", methods=["POST"])
@login_required
def cancel_signup(activity_id):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        activities.cancel_signup(current_user, activity_id)
    except PointsError as exc:
        flash(exc.render_message(), "error")
    else:
        flash(_("Your sign-up is cancelled."), "success")
    return redirect(url_for(".activity", activity_id=activity_id))


@bp.route("/checkin/<id:activity_id>/<code>", methods=["GET", "POST"])
@login_required
def checkin(activity_id, code):
    """The address in the activity's QR: confirm, then check in (or out on the second scan)."""
    _profile()
    form = CheckinForm(code=code)
    error, result = None, None
    if form.validate_on_submit():
        try:
            result = activities.check_in_with_code(current_user, activity_id, form.code.data)
        except PointsError as exc:
            error = exc.render_message()
    return (
        render_template(
            "volunteer/checkin.html",
            view=activities.activity_for_volunteer(current_user, activity_id),
            form=form,
            error=error,
            result=result,
        ),
        422 if error else 200,
    )


@bp.route("/checkin", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"], key_func=_per_volunteer)
@login_required
def checkin_typed():
    """Check in (or out) by typing the six digits shown on the organizer's screen."""
    _profile()
    form = TypedCheckinForm()
    error, result = None, None
    if form.validate_on_submit():
        try:
            result = activities.check_in_with_typed_code(current_user, form.code.data)
        except PointsError as exc:
            error = exc.render_message()
    elif request.method == "POST":
        error = _("Type the check-in code.")
    page = render_template("volunteer/checkin_typed.html", form=form, error=error, result=result)
    return page, (422 if error else 200)


# -- service records ---------------------------------------------------------------------


@bp.route("/records")
@login_required
@replica_reads
def records():
    _profile()
    return render_template("volunteer/records.html", records=activities.my_records(current_user, limit=200))


@bp.route("/records/new", methods=["GET", "POST"])
@login_required
def report():
    profile = _profile()
    form = ReportForm()
    form.category.choices = [(c.code, rules.category_label(c.code)) for c in activities.list_categories()]
    timezone = profile.home_organization.timezone
    error = None
    if request.method == "GET":
        now = to_local(utcnow(), timezone).replace(second=0, microsecond=0, tzinfo=None)
        form.ended_at.data = now.replace(minute=0)
        form.started_at.data = form.ended_at.data - timedelta(hours=2)
    if form.validate_on_submit():
        try:
            activities.report_service(
                current_user,
                category=form.category.data,
                started_at=to_utc(form.started_at.data, timezone),
                ended_at=to_utc(form.ended_at.data, timezone),
                evidence=form.evidence.data,
            )
        except PointsError as exc:
            error = exc.render_message()
        else:
            flash(_("Thank you! Your report waits for approval by your community."), "success")
            return redirect(url_for(".records"))
    elif request.method == "POST":
        error = _("Fill in every field: the kind of service, when it started and ended, and what you did.")
    return render_template("volunteer/report.html", form=form, error=error), (422 if error else 200)
