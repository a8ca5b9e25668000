"""Volunteer perk pages: browse perks, reserve one, show the voucher.

Voucher codes never appear in URLs: a voucher page is addressed by its redemption id
and shows the code (and its QR) only to the volunteer who owns it.
"""

import uuid

import segno
from flask import Blueprint, Response, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..activities.service import volunteer_level
from ..errors import PointsError
from ..idempotency_keys import client_key, is_valid_sent_key
from ..myaccount import service as myaccount
from ..payments import gateway
from ..payments.errors import PAYMENT_FAILURES
from ..perks import payments as perk_payments
from ..perks import pictures
from ..perks import service as perks
from ..security import allow_card_form
from .forms import whole_number

bp = Blueprint("rewards", __name__, url_prefix="/perks")


def request_key_for_form():
    """The request key to render into a confirm form (shared with the counter page).

    A new one, except when the form is shown again after an error: then the key just
    posted, so that sending the form again cannot apply it twice, even when the first
    outcome is unknown.
    """
    posted = request.form.get("idempotency_key")
    return posted if is_valid_sent_key(posted) else str(uuid.uuid4())


def posted_request_key():
    """The posted form's request key in this user's own namespace for this form (see ``idempotency_keys``)."""
    operation = f"{request.method} {request.path}"
    return client_key(f"user:{current_user.id}", operation, request.form.get("idempotency_key"))


@bp.route("/")
@login_required
def catalog():
    expiring = myaccount.expiring_soon(current_user.volunteer) if current_user.volunteer else []
    return render_template(
        "rewards/catalog.html",
        catalog=perks.volunteer_catalog(current_user, level_of=volunteer_level),
        expiring=expiring,
    )


def _perk_page(perk_id, error=None, fresh_key=False):
    catalog = perks.volunteer_catalog(current_user, level_of=volunteer_level, perk_id=perk_id)
    # After a failed card payment the hold was released: trying again is a new reservation.
    key = str(uuid.uuid4()) if fresh_key else request_key_for_form()
    option = catalog.option
    card_form = gateway.card_form() if option.eligible and option.perk.copay_amount else None
    page = render_template("rewards/perk.html", catalog=catalog, request_key=key, error=error, card_form=card_form)
    return _with_card_form(page, card_form)


def _with_card_form(page, card_form):
    """The page as a response, allowed to run Stripe.js when it takes a card."""
    response = make_response(page)
    return allow_card_form(response, card_form.origin) if card_form else response


@bp.route("/<id:perk_id>")
@login_required
def perk(perk_id):
    return _perk_page(perk_id)


@bp.route("/<id:perk_id>/reserve", methods=["POST"])
@login_required
def reserve(perk_id):
    try:
        redemption = perks.reserve_perk(
            current_user,
            perk_id,
            whole_number(
                request.form, "quantity", _l("Quantity"), required=False, default=1, maximum=perks.MAX_QUANTITY
            ),
            posted_request_key(),
            level_of=volunteer_level,
            payment_method=request.form.get("payment_method") or None,
        )
    except PAYMENT_FAILURES as error:
        return _with_status(_perk_page(perk_id, error.render_message(), fresh_key=True), error.status)
    except PointsError as error:
        return _with_status(_perk_page(perk_id, error.render_message()), error.status)
    if redemption.payment_status == "pending":
        flash(_("Reserved: confirm the card payment with your bank to get the voucher."), "success")
        return redirect(url_for("rewards.voucher", redemption_id=redemption.id))
    flash(_("Reserved. Show this voucher at a service counter before it expires."), "success")
    return redirect(url_for("rewards.voucher", redemption_id=redemption.id))


def _with_status(response, status):
    response.status_code = status
    return response


@bp.route("/pictures/<name>")
def picture(name):
    """A perk picture, public like the catalog's text; its name is its content's hash, so it never changes."""
    path = pictures.picture_path(name)
    if path is None:
        abort(404)
    # Read whole (a stored picture is small): no file handle stays open with the response.
    response = Response(path.read_bytes(), mimetype=pictures.content_type_of(name))
    response.cache_control.max_age = 365 * 24 * 3600
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response


@bp.route("/vouchers")
@login_required
def vouchers():
    return render_template("rewards/vouchers.html", redemptions=perks.volunteer_vouchers(current_user))


@bp.route("/vouchers/<id:redemption_id>")
@login_required
def voucher(redemption_id):
    return _voucher_page(perks.voucher_of(current_user, redemption_id))


def _voucher_page(redemption, error=None, status=200):
    qr = None
    if redemption.status == "reserved" and redemption.payment_status != "pending":
        qr = segno.make(redemption.voucher_code, error="m").svg_data_uri(scale=5, border=2)
    card_form = gateway.card_form() if redemption.payment_status == "pending" else None
    secret = perk_payments.card_action_secret(redemption) if card_form else None
    page = render_template(
        "rewards/voucher.html",
        redemption=redemption,
        voucher_qr=qr,
        card_form=card_form if secret else None,
        client_secret=secret,
        error=error,
    )
    return _with_status(_with_card_form(page, card_form if secret else None), status)


@bp.route("/vouchers/<id:redemption_id>/check-payment", methods=["POST"])
@login_required
def check_payment(redemption_id):
    """The volunteer is back from their bank's confirmation: ask Stripe how the payment ended."""
    redemption = perks.voucher_of(current_user, redemption_id)
    try:
        redemption = perk_payments.check_card_payment(redemption)
    except PAYMENT_FAILURES as error:
        return _voucher_page(perks.voucher_of(current_user, redemption_id), error.render_message(), error.status)
    if redemption.payment_status == "paid":
        flash(_("Paid. Show this voucher at a service counter before it expires."), "success")
    elif redemption.payment_status == "pending":
        flash(_("The card payment is still waiting for your bank's confirmation."), "warning")
    return redirect(url_for("rewards.voucher", redemption_id=redemption_id))


@bp.route("/vouchers/<id:redemption_id>/cancel", methods=["POST"])
@login_required
def cancel(redemption_id):
    perks.cancel_reservation(current_user, redemption_id)
    flash(_("The reservation was cancelled and its points were returned."), "success")
    return redirect(url_for("rewards.voucher", redemption_id=redemption_id))
