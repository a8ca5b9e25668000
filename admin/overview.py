"""The desk's first page: what is waiting for this administrator."""

from flask import render_template
from flask_login import current_user

from points_service.activities import service as activities
from points_service.changes import service as changes

from . import bp


@bp.get("/")
def overview():
    return render_template(
        "admin/overview.html",
        pending_records=activities.count_pending_records(current_user),
        awaiting_review=changes.count_awaiting_review(current_user),
    )
