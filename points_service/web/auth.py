"""Login, logout, registration and the language switch."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ..accounts import service as accounts
from ..errors import PointsError
from ..extensions import limiter
from ..organizations.service import list_organizations
from ..redirects import safe_redirect_target
from .forms import LoginForm, RegistrationForm

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.login.data, form.password.data)
        except PointsError as exc:
            error = exc.render_message()
        else:
            session.clear()
            login_user(user)
            if user.locale:
                session["locale"] = user.locale
            return redirect(safe_redirect_target(request.args.get("next"), _landing(user)))
    elif request.method == "POST":
        error = _("Enter your user name or mobile number and your password.")
    return render_template("auth/login.html", form=form, error=error), (422 if error else 200)


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
            user = accounts.register_volunteer(
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
            session.clear()
            login_user(user)
            flash(_("Welcome! Your member number is ready; show its QR code at a service counter."), "success")
            return redirect(url_for("volunteer.home"))
    elif request.method == "POST":
        error = _("Please fill in every field; the password needs at least 8 characters.")
    return render_template("auth/register.html", form=form, error=error), (422 if error else 200)


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
    return redirect(_landing(current_user))
