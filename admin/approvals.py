"""Changes waiting for a second person: the list, one request with its diff, the decision.

Approving or rejecting calls the change-request module, which checks that the reviewer
is not the author and holds the kind's permission on the request's subtree, and lets the
owning domain apply the change.
"""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from points_service.changes import service as changes
from points_service.errors import PointsError

from . import bp

STATUSES = tuple(changes.STATUS_WORDS)


@bp.context_processor
def change_words():
    return {"status_words": changes.STATUS_WORDS, "kind_label": changes.kind_label}


@bp.get("/approvals")
def approvals():
    status = request.args.get("status", "pending")
    if status not in STATUSES:
        status = "pending"
    mine = request.args.get("mine") == "1"
    requests = changes.list_change_requests(
        current_user, status=status, mine=mine, awaiting_review=not mine and status == "pending"
    )
    return render_template("admin/approvals.html", requests=requests, status=status, statuses=STATUSES, mine=mine)


@bp.get("/approvals/<id:request_id>")
def change_request(request_id):
    return render_template(
        "admin/change_request.html",
        change=changes.get_change_request(current_user, request_id),
    )


@bp.post("/approvals/<id:request_id>/decision")
def decide_change(request_id):
    decision = request.form.get("decision")
    try:
        if decision == "approve":
            changes.approve_change(current_user, request_id)
            flash(_("Approved and applied."), "success")
        elif decision == "reject":
            changes.reject_change(current_user, request_id, request.form.get("reason", ""))
            flash(_("Rejected. The author will see your reason."), "success")
        elif decision == "withdraw":
            changes.withdraw_change(current_user, request_id, request.form.get("reason", ""))
            flash(_("Withdrawn."), "success")
        else:
            flash(_("Choose approve or reject."), "error")
    except PointsError as error:
        if error.status == 404:
            raise
        flash(error.render_message(), "error")
    return redirect(url_for("admin.change_request", request_id=request_id))
