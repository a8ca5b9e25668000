"""The volunteer's own account page: mobile number, public lists, a copy of my data, deletion.

Staff accounts have the password page only; this page is a volunteer's.
"""

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..accounts import member_codes
from ..errors import PointsError
from ..myaccount import service as myaccount
from ..timeutil import utcnow

bp = Blueprint("account", __name__, url_prefix="/account")


class MobileForm(FlaskForm):
    mobile = StringField(
        _l("New mobile number"),
        validators=[DataRequired(), Length(max=32)],
        render_kw={"inputmode": "tel", "autocomplete": "tel"},
    )
    password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(), Length(max=128)],
        render_kw={"autocomplete": "current-password"},
    )


class PinForm(FlaskForm):
    pin = PasswordField(
        _l("New PIN (4 to 6 digits)"),
        validators=[DataRequired(), Length(max=16)],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    pin_again = PasswordField(
        _l("The PIN again"),
        validators=[DataRequired(), Length(max=16)],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(), Length(max=128)],
        render_kw={"autocomplete": "current-password"},
    )


class RemovePinForm(FlaskForm):
    password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(), Length(max=128)],
        render_kw={"autocomplete": "current-password"},
    )


class ListingForm(FlaskForm):
    listed = BooleanField(_l("Show my name (masked) on public honor rolls"))


class DeleteForm(FlaskForm):
    password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(), Length(max=128)],
        render_kw={"autocomplete": "current-password"},
    )
    understood = BooleanField(_l("I understand that this cannot be undone."), validators=[DataRequired()])


# Headings for the readable copy of my data (the JSON keeps the keys).
DATA_LABELS = {
    "name": _l("Name"),
    "mobile": _l("Mobile number"),
    "username": _l("User name"),
    "language": _l("Language"),
    "created_at": _l("Created"),
    "last_login_at": _l("Last login"),
    "member_no": _l("Member number"),
    "home_organization": _l("Home community"),
    "consent_version": _l("Privacy notice agreed"),
    "on_public_honor_rolls": _l("On public honor rolls"),
    "verified_minutes": _l("Verified minutes"),
    "balance": _l("Balance"),
    "earned": _l("Earned"),
    "spent": _l("Spent"),
    "expired": _l("Expired"),
    "id": _l("No."),
    "at": _l("Time"),
    "kind": _l("Kind"),
    "points": _l("Points"),
    "balance_after": _l("Balance after"),
    "reason": _l("Reason"),
    "note": _l("Note"),
    "activity_id": _l("Activity no."),
    "category": _l("Category"),
    "started_at": _l("Started"),
    "ended_at": _l("Ended"),
    "minutes": _l("Minutes"),
    "status": _l("Status"),
    "source": _l("Source"),
    "evidence": _l("Evidence"),
    "rejection_reason": _l("Reason for rejection"),
    "activity": _l("Activity"),
    "starts_at": _l("Starts"),
    "signed_up_at": _l("Signed up"),
    "checked_in_at": _l("Checked in"),
    "checked_out_at": _l("Checked out"),
    "perk": _l("Perk"),
    "quantity": _l("Quantity"),
    "cash_part_minor_units": _l("Cash part (fen)"),
    "currency": _l("Currency"),
    "channel": _l("Channel"),
    "number": _l("Certificate number"),
    "verification_code": _l("Verification code"),
    "issued_at": _l("Issued"),
    "revoked": _l("Revoked"),
    "facts": _l("Details"),
}


def _volunteer():
    if current_user.volunteer is None:
        abort(404)
    return current_user.volunteer


def _page(mobile_form=None, error=None, status=200, pin_form=None):
    profile = _volunteer()
    return (
        render_template(
            "account/index.html",
            profile=profile,
            mobile_form=mobile_form or MobileForm(),
            pin_form=pin_form or PinForm(),
            remove_pin_form=RemovePinForm(prefix="remove"),
            has_pin=member_codes.has_pin(profile),
            listing_form=ListingForm(listed=not profile.public_listing_opt_out),
            error=error,
        ),
        status,
    )


@bp.get("/")
@login_required
def index():
    return _page()


@bp.post("/mobile")
@login_required
def change_mobile():
    _volunteer()
    form = MobileForm()
    if not form.validate_on_submit():
        return _page(form, _("Please fill in every field."), 422)
    try:
        user = myaccount.change_mobile(current_user, form.password.data, form.mobile.data, source=request.remote_addr)
    except PointsError as exc:
        return _page(form, exc.render_message(), exc.status)
    login_user(user)
    flash(_("Your mobile number is changed; log in with it from now on."), "success")
    return redirect(url_for(".index"))


@bp.post("/pin")
@login_required
def set_pin():
    _volunteer()
    form = PinForm()
    if not form.validate_on_submit():
        return _page(error=_("Please fill in every field."), status=422, pin_form=form)
    try:
        myaccount.set_counter_pin(
            current_user, form.password.data, form.pin.data, form.pin_again.data, source=request.remote_addr
        )
    except PointsError as exc:
        return _page(error=exc.render_message(), status=exc.status, pin_form=form)
    flash(_("Your counter PIN is set: a counter accepts your member number with it."), "success")
    return redirect(url_for(".index"))


@bp.post("/pin/remove")
@login_required
def remove_pin():
    _volunteer()
    form = RemovePinForm(prefix="remove")
    if not form.validate_on_submit():
        return _page(error=_("Please fill in every field."), status=422)
    try:
        myaccount.remove_counter_pin(current_user, form.password.data, source=request.remote_addr)
    except PointsError as exc:
        return _page(error=exc.render_message(), status=exc.status)
    flash(_("Your counter PIN is removed: only the code on your phone spends your points now."), "success")
    return redirect(url_for(".index"))


@bp.post("/public-listing")
@login_required
def public_listing():
    _volunteer()
    form = ListingForm()
    if not form.validate_on_submit():
        return _page(error=_("This request has no valid request key; reload the page and try again."), status=422)
    myaccount.set_public_listing(current_user, form.listed.data)
    if form.listed.data:
        flash(_("Your masked name may appear on public honor rolls."), "success")
    else:
        flash(_("Your name is left out of public honor rolls, also those published before."), "success")
    return redirect(url_for(".index"))


@bp.get("/my-data.json")
@login_required
def my_data_json():
    _volunteer()
    data = myaccount.my_data(current_user)
    body = json.dumps(data, ensure_ascii=False, indent=2)
    filename = f"my-data-{utcnow():%Y-%m-%d}.json"
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/my-data")
@login_required
def my_data_page():
    _volunteer()
    return render_template("account/my_data.html", data=myaccount.my_data(current_user), labels=DATA_LABELS)


@bp.route("/delete", methods=["GET", "POST"])
@login_required
def delete():
    _volunteer()
    form = DeleteForm()
    check = myaccount.deletion_check(current_user)
    error, status = None, 200
    if form.validate_on_submit():
        try:
            myaccount.delete_account(current_user, form.password.data, source=request.remote_addr)
        except PointsError as exc:
            error, status = exc.render_message(), exc.status
        else:
            logout_user()
            flash(_("Your account is deleted. Thank you for your service."), "success")
            return redirect(url_for("public.index"))
    elif request.method == "POST":
        error, status = _("Type your password and tick the box to confirm."), 422
    return render_template("account/delete.html", form=form, check=check, error=error), status
