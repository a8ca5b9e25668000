"""The service counter page: scan, choose, confirm.

A USB barcode scanner types the code and Enter into the focused input, so the page
keeps one scan input focused. Scanned codes are POSTed, never put in a URL. Every
confirm form carries a request key rendered by the server (and filled in by
``counter.js`` when missing), so a double click or a replayed form redeems once.

Where is the counter? At the organization node of the user's counter role; a user
with several chooses one, once per session.
"""

import uuid

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from ..activities.service import volunteer_level
from ..errors import PermissionDenied, PointsError
from ..extensions import limiter
from ..myaccount import service as myaccount
from ..payments.errors import PAYMENT_FAILURES, InvalidPaymentMethod
from ..perks import payments
from ..perks import service as perks
from ..perks.errors import NotEligible
from .forms import whole_number
from .rewards import posted_request_key, request_key_for_form

bp = Blueprint("counter", __name__, url_prefix="/counter")

LOCATION_KEY = "counter_organization_id"


def _code_lookup_limit():
    return current_app.config["CODE_LOOKUP_RATELIMIT"]


def _per_clerk():
    """Limit code lookups per counter clerk: guessing codes from one account is throttled."""
    return f"user:{current_user.get_id()}"


def _places():
    places = perks.counter_locations(current_user)
    if not places:
        raise PermissionDenied(_("This page is for counter staff."))
    return places


def _place():
    """The counter the current user works at, or None while they have not chosen one."""
    places = _places()
    if len(places) == 1:
        return places[0]
    chosen = session.get(LOCATION_KEY)
    return next((place for place in places if place.id == chosen), None)


def _scan_page(place, error=None, status=200):
    if place is None:
        return redirect(url_for("counter.index"))
    redemptions = perks.counter_day(current_user, place)
    return render_template("counter/index.html", place=place, redemptions=redemptions, error=error), status


def _lookup_page(place, code, error=None, status=200, chosen=None, fresh_key=False):
    """The page for a scanned code: the member's perks or the voucher to confirm."""
    view = perks.counter_lookup(current_user, place, code, level_of=volunteer_level)
    member = isinstance(view, perks.MemberView)
    page = render_template(
        "counter/member.html" if member else "counter/voucher.html",
        place=place,
        view=view,
        expiring=myaccount.expiring_soon(view.profile) if member else [],
        request_key=str(uuid.uuid4()) if fresh_key else request_key_for_form(),
        error=error,
        chosen=chosen,
        card_payment_available=payments.online_payment_available(),
    )
    return page, status


@bp.route("/")
@login_required
def index():
    place = _place()
    if place is None:
        return render_template("counter/location.html", places=_places())
    return _scan_page(place)


@bp.route("/location", methods=["POST"])
@login_required
def choose_location():
    chosen = request.form.get("organization_id", type=int)
    if any(place.id == chosen for place in _places()):
        session[LOCATION_KEY] = chosen
    return redirect(url_for("counter.index"))


@bp.route("/scan", methods=["POST"])
@limiter.limit(_code_lookup_limit, key_func=_per_clerk)
@login_required
def scan():
    place = _place()
    if place is None:
        return redirect(url_for("counter.index"))
    try:
        return _lookup_page(place, request.form.get("code", ""))
    except PointsError as error:
        return _scan_page(place, error.render_message(), error.status)


@bp.route("/redeem", methods=["POST"])
@login_required
def redeem():
    place = _place()
    if place is None:
        return redirect(url_for("counter.index"))
    member_no = request.form.get("member_no", "")
    perk_id = None
    try:
        if not request.form.get("perk_id"):
            raise NotEligible(_("Choose a perk first, then confirm."))
        perk_id = whole_number(request.form, "perk_id", _l("The perk"))
        card = None
        if request.form.get("copay") == "card":
            card = request.form.get("payment_method") or None
            if card is None:
                raise InvalidPaymentMethod(details={"field": "payment_method"})
        redemption = perks.redeem_perk(
            current_user,
            place,
            member_no,
            perk_id,
            whole_number(
                request.form, "quantity", _l("Quantity"), required=False, default=1, maximum=perks.MAX_QUANTITY
            ),
            posted_request_key(),
            level_of=volunteer_level,
            credential=request.form.get("member_code"),
            card_payment_method=card,
        )
    except PointsError as error:
        # A card payment that did not go through undid the redemption: a new try is a new request.
        fresh = isinstance(error, PAYMENT_FAILURES)
        try:
            return _lookup_page(place, member_no, error.render_message(), error.status, chosen=perk_id, fresh_key=fresh)
        except PointsError:
            return _scan_page(place, error.render_message(), error.status)
    return redirect(url_for("counter.receipt", redemption_id=redemption.id))


@bp.route("/fulfil", methods=["POST"])
@limiter.limit(_code_lookup_limit, key_func=_per_clerk)
@login_required
def fulfil():
    place = _place()
    if place is None:
        return redirect(url_for("counter.index"))
    try:
        redemption = perks.fulfil_voucher(current_user, place, request.form.get("code", ""), posted_request_key())
    except PointsError as error:
        return _scan_page(place, error.render_message(), error.status)
    return redirect(url_for("counter.receipt", redemption_id=redemption.id))


@bp.route("/hand-over", methods=["POST"])
@limiter.limit(_code_lookup_limit, key_func=_per_clerk)
@login_required
def hand_over():
    """Hand over an open voucher listed on the member's page (the member's code or PIN stands in for the voucher)."""
    place = _place()
    if place is None:
        return redirect(url_for("counter.index"))
    member_no = request.form.get("member_no", "")
    try:
        redemption = perks.hand_over_voucher(
            current_user,
            place,
            member_no,
            whole_number(request.form, "redemption_id", _l("The voucher")),
            request.form.get("member_code"),
            posted_request_key(),
        )
    except PointsError as error:
        try:
            return _lookup_page(place, member_no, error.render_message(), error.status)
        except PointsError:
            return _scan_page(place, error.render_message(), error.status)
    return redirect(url_for("counter.receipt", redemption_id=redemption.id))


def _receipt_page(redemption_id, error=None, status=200):
    receipt = perks.receipt_for(current_user, redemption_id)
    page = render_template(
        "counter/receipt.html",
        receipt=receipt,
        redemption=receipt.redemption,
        request_key=request_key_for_form(),
        error=error,
    )
    return page, status


@bp.route("/redemptions/<id:redemption_id>")
@login_required
def receipt(redemption_id):
    return _receipt_page(redemption_id)


@bp.route("/redemptions/<id:redemption_id>/void", methods=["POST"])
@login_required
def void(redemption_id):
    try:
        key = posted_request_key() if request.form.get("idempotency_key") else None
        perks.void_redemption(current_user, redemption_id, request.form.get("reason", ""), key)
    except PointsError as error:
        return _receipt_page(redemption_id, error.render_message(), error.status)
    flash(_("The redemption was voided: its points and stock were returned."), "success")
    return redirect(url_for("counter.receipt", redemption_id=redemption_id))
