"""Service certificates: the volunteer asks for one and downloads it; anyone checks one.

The public check is by verification code only (``/verify/<code>``) and shows the
masked name and the figures; it is rate-limited so codes cannot be tried in bulk.
"""

from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import DataRequired

from ..certificates import service as certificates
from ..certificates.pdf import hours_text, render_certificate
from ..errors import PointsError
from ..extensions import limiter
from ..rules.service import category_label
from ..timeutil import to_local, utcnow

bp = Blueprint("certificates", __name__)


class CertificateForm(FlaskForm):
    period_start = DateField(_l("From"), validators=[DataRequired()])
    period_end = DateField(_l("To"), validators=[DataRequired()])


@bp.context_processor
def certificate_helpers():
    return {"hours_text": hours_text, "category_label": category_label}


def _today():
    profile = current_user.volunteer
    return to_local(utcnow(), profile.home_organization.timezone).date()


@bp.route("/me/certificates", methods=["GET", "POST"])
@login_required
def my_certificates():
    if current_user.volunteer is None:
        abort(404)
    form = CertificateForm()
    if request.method == "GET":
        today = _today()
        form.period_start.data = date(today.year, 1, 1)
        form.period_end.data = today
    elif form.validate_on_submit():
        try:
            certificate = certificates.issue_certificate(current_user, form.period_start.data, form.period_end.data)
        except PointsError as error:
            field = getattr(form, error.details.get("field", ""), form.period_start)
            field.errors = [*field.errors, error.render_message()]
        else:
            flash(_("Certificate %(number)s is ready to download.", number=certificate.number), "success")
            return redirect(url_for("certificates.my_certificates"))
    return render_template(
        "certificates/list.html", form=form, certificates=certificates.list_my_certificates(current_user)
    )


@bp.get("/me/certificates/<id:certificate_id>.pdf")
@login_required
def download(certificate_id):
    certificate = certificates.my_certificate(current_user, certificate_id)
    timezone = certificate.organization.timezone
    pdf = render_certificate(
        certificate,
        volunteer_name=current_user.name,
        verify_url=url_for("certificates.verify", code=certificate.verification_code, _external=True),
        day_text=lambda moment: format_date(to_local(moment, timezone).date(), "long"),
    )
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="certificate-{certificate.number}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/verify")
@limiter.limit("30 per minute")
def verify_form():
    code = request.args.get("code", "")
    if code:
        return redirect(url_for("certificates.verify", code=code[:64]))
    return render_template("certificates/verify.html", verification=None, asked=False)


@bp.get("/verify/<code>")
@limiter.limit("30 per minute")
def verify(code):
    verification = certificates.verify_certificate(code)
    status = 200 if verification is not None else 404
    return render_template("certificates/verify.html", verification=verification, asked=True), status
