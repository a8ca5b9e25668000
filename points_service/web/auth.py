"""Login, logout, registration, the password change and the language switch.

Answers to an anonymous caller never tell whether a login name or a mobile number
exists: one message for every failed login, one page after every registration.
"""

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..accounts import service as accounts
from ..errors import PointsError
from ..extensions import limiter
from ..myaccount import resets
from ..organizations.service import list_organizations
from ..redirects import safe_redirect_target
from .forms import ChangePasswordForm, LoginForm, RegistrationForm, ResetPasswordForm

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    form = LoginForm()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.login.data, form.password.data, source=request.remote_addr)
        except PointsError as exc:
            error, status = exc.render_message(), exc.status
        else:
            session.clear()
            login_user(user)
            if user.locale:
                session["locale"] = user.locale
            return redirect(safe_redirect_target(request.args.get("next"), _landing(user)))
    elif request.method == "POST":
        error, status = _("Enter your user name or mobile number and your password."), 422
    return render_template("auth/login.html", form=form, error=error), status


def _landing(user):
    roles = {m.role for m in user.memberships}
    if "counter" in roles and "counter.index" in current_app.view_functions:
        return url_for("counter.index")
    if "organizer" in roles or "admin" in roles:
        return url_for("organizer.index")
    if user.volunteer is not None:
        return url_for("volunteer.home")
    return url_for("public.index")


@bp.route("/logout", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        accounts.end_session(current_user)
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("5 per minute", methods=["POST"])
def register():
    form = RegistrationForm()
    communities = list_organizations(kind="community")
    form.community.choices = [(0, _("Choose your community"))] + [(c.id, c.name) for c in communities]
    error = None
    if form.validate_on_submit():
        try:
            accounts.register_volunteer(
                name=form.name.data,
                mobile=form.mobile.data,
                home_organization_id=form.community.data,
                password=form.password.data,
                consent=bool(form.consent.data),
                consent_version=current_app.config["PRIVACY_NOTICE_VERSION"],
            )
        except PointsError as exc:
            error = exc.render_message()
        else:
            # The same answer whether the number was new or registered already.
            flash(
                _(
                    "Thank you. Log in with your mobile number and password. If this number was "
                    "registered before, nothing changed: use the password you chose then."
                ),
                "success",
            )
            return redirect(url_for("auth.login"))
    elif request.method == "POST":
        error = _("Please fill in every field.")
    return render_template("auth/register.html", form=form, error=error), (422 if error else 200)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    error, status = None, 200
    if form.validate_on_submit():
        if form.new_password.data != form.confirm.data:
            error, status = _("The two new passwords are not the same."), 422
        else:
            try:
                user = accounts.change_password(
                    current_user, form.current_password.data, form.new_password.data, source=request.remote_addr
                )
            except PointsError as exc:
                error, status = exc.render_message(), exc.status
            else:
                login_user(user)  # this session takes the new token; every other session has ended
                flash(_("Your password is changed. You were logged out everywhere else."), "success")
                return redirect(_landing(user))
    elif request.method == "POST":
        error, status = _("Please fill in every field."), 422
    return render_template("auth/password.html", form=form, error=error), status


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit("5 per minute", methods=["POST"])
def reset_with_code():
    """Set a new password with the one-time code a staff member gave after checking identity."""
    form = ResetPasswordForm()
    error, status = None, 200
    if form.validate_on_submit():
        if form.new_password.data != form.confirm.data:
            error, status = _("The two new passwords are not the same."), 422
        else:
            try:
                resets.reset_password(form.login.data, form.code.data, form.new_password.data)
            except PointsError as exc:
                error, status = exc.render_message(), exc.status
            else:
                flash(_("Your new password is set. Log in with it."), "success")
                return redirect(url_for("auth.login"))
    elif request.method == "POST":
        error, status = _("Please fill in every field."), 422
    return render_template("auth/reset.html", form=form, error=error), status


@bp.route("/language/<locale>", methods=["POST"])
def set_language(locale):
    if locale in ("zh_CN", "en"):
        session["locale"] = locale
        if current_user.is_authenticated:
            accounts.set_locale(current_user, locale)
    return redirect(safe_redirect_target(request.form.get("next"), url_for("public.index")))


@bp.route("/privacy")
def privacy():
    return render_template("auth/privacy.html")


@bp.route("/account")
@login_required
def account():
    """A volunteer's account page; staff have only the password page."""
    if current_user.volunteer is not None:
        return redirect(url_for("account.index"))
    return redirect(url_for("auth.change_password"))
