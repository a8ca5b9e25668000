"""The volunteer's own pages (phone-first): profile, balance, member QR, history."""

from datetime import timedelta

import segno
from flask import Blueprint, abort, render_template
from flask_login import current_user, login_required

from ..ledger import service as ledger
from ..timeutil import utcnow

bp = Blueprint("volunteer", __name__, url_prefix="/me")


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
    expiring = ledger.expiring_points(account.id, before=utcnow() + timedelta(days=60))
    qr = segno.make(profile.member_no, error="m").svg_data_uri(scale=5, border=2)
    return render_template(
        "volunteer/home.html", profile=profile, account=account, entries=entries, expiring=expiring, member_qr=qr
    )
