"""Duplicate volunteers: the likely pairs in the admin's subtree, a merge's preview, the merge.

The pairs, what a merge moves, the refusals and whether a second administrator must
approve are decided by ``points_service.people.merge``; this page shows them masked.
"""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from points_service.errors import PointsError
from points_service.people import merge

from . import bp


@bp.get("/duplicates")
def duplicates():
    pairs = merge.find_duplicates(current_user)
    return render_template(
        "admin/duplicates.html",
        pairs=[(merge.masked_profile(pair.first), merge.masked_profile(pair.second)) for pair in pairs],
    )


@bp.get("/duplicates/<id:absorbed_id>/into/<id:survivor_id>")
def merge_preview(absorbed_id, survivor_id):
    try:
        plan = merge.plan_merge(current_user, absorbed_id, survivor_id)
    except merge.MergeRefused as refusal:
        # A pair that cannot merge yet is a state to explain (what to settle first), not a bad request.
        return _preview(None, absorbed_id, survivor_id, refusal)
    except PointsError as error:
        if error.status == 404:
            raise
        return _preview(None, absorbed_id, survivor_id, error), error.status
    return _preview(plan, absorbed_id, survivor_id, None)


def _preview(plan, absorbed_id, survivor_id, error):
    return render_template(
        "admin/duplicates_merge.html",
        plan=plan,
        absorbed=merge.masked_profile(plan.absorbed) if plan else None,
        survivor=merge.masked_profile(plan.survivor) if plan else None,
        absorbed_id=absorbed_id,
        survivor_id=survivor_id,
        error=error,
    )


@bp.post("/duplicates/<id:absorbed_id>/into/<id:survivor_id>")
def merge_volunteers(absorbed_id, survivor_id):
    try:
        outcome, result = merge.request_merge(current_user, absorbed_id, survivor_id)
    except PointsError as error:
        if error.status == 404:
            raise
        flash(error.render_message(), "error")
        return redirect(url_for("admin.merge_preview", absorbed_id=absorbed_id, survivor_id=survivor_id))
    if outcome == "requested":
        flash(_("Points move in this merge: another administrator must approve it."), "success")
        return redirect(url_for("admin.change_request", request_id=result.id))
    flash(_("Merged. The old member number now finds the profile that was kept."), "success")
    return redirect(url_for("admin.duplicates"))
