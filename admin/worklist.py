"""The staff work list in the desk: reversal shortfalls, refunds due and the changes of
those kinds waiting for a second person. The list is ``worklist.work_list`` and its
sections are the organizer page's; their forms post to the same actions, which return
here."""

from flask import abort, render_template
from flask_login import current_user

from points_service import authz
from points_service.web.organizer import work_list_context
from points_service.worklist import service as worklist

from . import bp


@bp.get("/work-list")
def work_list():
    if not worklist.may_see_work_list(current_user):
        abort(403)
    return render_template(
        "admin/work_list.html",
        can=lambda permission, organization=None: authz.can(current_user, permission, organization),
        back="admin",
        **work_list_context(),
    )
