"""Manual adjustments: find a volunteer, credit or debit points with a reason and a category.

The search text (a member number, a mobile, a name) is posted, never put in a URL; the
results are masked. Large adjustments wait for a second administrator on the approvals
page; the accounts domain decides which, and the ledger refuses a debit that would
overdraw.
"""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from points_service.accounts import service as accounts
from points_service.changes import service as changes
from points_service.errors import PointsError, ValidationError
from points_service.ledger import service as ledger
from points_service.web.forms import whole_number
from points_service.web.rewards import posted_request_key, request_key_for_form

from . import bp

HISTORY = 20


@bp.context_processor
def adjustment_words():
    # ``kind_label`` comes from the approvals page's words (one name, one page).
    return {"adjustment_categories": accounts.ADJUSTMENT_CATEGORIES}


@bp.route("/adjustments", methods=["GET", "POST"])
def adjustments():
    found, error, status = None, None, 200
    query = request.form.get("query", "")[:80] if request.method == "POST" else ""
    if request.method == "POST":
        try:
            found = accounts.find_volunteers(current_user, query)
        except PointsError as exc:
            error, status = exc.render_message(), exc.status
    waiting = changes.list_change_requests(current_user, kinds=[accounts.ADJUST_KIND], limit=50)
    return (
        render_template(
            "admin/adjustments.html",
            query=query,
            found=found,
            waiting=waiting,
            error=error,
            threshold=accounts.adjustment_threshold(),
        ),
        status,
    )


def _volunteer_page(profile, *, error=None, status=200):
    account = ledger.account_of_volunteer(profile.id)
    return (
        render_template(
            "admin/adjustment_volunteer.html",
            profile=profile,
            name=accounts.mask_name(profile.user.name),
            member_no=accounts.mask_member_number(profile.member_no),
            account=account,
            entries=ledger.list_entries(account.id, limit=HISTORY),
            threshold=accounts.adjustment_threshold(),
            request_key=request_key_for_form(),
            form=request.form,
            error=error,
        ),
        status,
    )


@bp.get("/adjustments/volunteers/<id:profile_id>")
def adjustment_volunteer(profile_id):
    return _volunteer_page(accounts.volunteer_for_staff(current_user, profile_id))


@bp.post("/adjustments/volunteers/<id:profile_id>")
def adjust_points(profile_id):
    profile = accounts.volunteer_for_staff(current_user, profile_id)
    try:
        points = whole_number(request.form, "points", _l("Points"), maximum=ledger.MAX_POINTS_PER_ENTRY)
        sign = {"credit": 1, "debit": -1}.get(request.form.get("direction"))
        if sign is None:
            raise ValidationError(_l("Choose credit or debit."), details={"field": "direction"})
        outcome = accounts.request_points_adjustment(
            current_user,
            profile,
            sign * points,
            request.form.get("reason", ""),
            category=request.form.get("category"),
            idempotency_key=posted_request_key(),
        )
    except PointsError as exc:
        if exc.status == 404:
            raise
        return _volunteer_page(profile, error=exc.render_message(), status=exc.status)
    if outcome.request is not None:
        flash(
            _(
                "More than %(threshold)s points: request #%(id)s waits for a second administrator.",
                threshold=accounts.adjustment_threshold(),
                id=outcome.request.id,
            ),
            "success",
        )
    else:
        flash(
            _(
                "%(points)s points; the balance is now %(balance)s.",
                points=f"{outcome.entry.delta:+d}",
                balance=outcome.entry.balance_after,
            ),
            "success",
        )
    return redirect(url_for("admin.adjustment_volunteer", profile_id=profile.id))
