"""Service certificates: find one by its printed number and revoke it with a reason."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from points_service.certificates import service as certificates
from points_service.certificates.pdf import hours_text
from points_service.errors import NotFound, PointsError

from . import bp


@bp.get("/certificates")
def certificates_page():
    number = request.args.get("number", "").strip()[:32]
    certificate = None
    if number:
        try:
            certificate = certificates.find_certificate(current_user, number)
        except NotFound as error:
            flash(error.render_message(), "error")
    return render_template("admin/certificates.html", number=number, certificate=certificate, hours_text=hours_text)


@bp.post("/certificates/<id:certificate_id>/revoke")
def revoke_certificate(certificate_id):
    try:
        certificate = certificates.revoke_certificate(current_user, certificate_id, request.form.get("reason", ""))
    except PointsError as error:
        if error.status == 404:
            raise
        flash(error.render_message(), "error")
        return redirect(url_for("admin.certificates_page"))
    flash(_("Certificate %(number)s is revoked; its check page now says so.", number=certificate.number), "success")
    return redirect(url_for("admin.certificates_page", number=certificate.number))
