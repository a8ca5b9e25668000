"""Settings per organization: each value, where it comes from (set here, inherited from
an ancestor, or the configuration's default), set or cleared to inherit again.

The organization is one of the admin's subtree (another is a 404); the organizations
domain checks each value and audits every change.
"""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from points_service import authz
from points_service.activities import service as activities
from points_service.errors import PointsError
from points_service.organizations import settings as organization_settings
from points_service.organizations.service import get_organization

from . import bp


def _choices():
    nodes = activities.organizations_in_scope(current_user, organization_settings.PERMISSION)
    if not nodes:
        abort(403)
    return nodes


def _organization(value, nodes):
    """The organization ``value`` names, if the admin may manage it; 404 otherwise."""
    if value is None or value == "":
        return nodes[0]
    text = str(value).strip()
    if not text.isdigit() or len(text) > 10:
        abort(404)
    node = next((node for node in nodes if node.id == int(text)), None)
    if node is None or not authz.can(current_user, organization_settings.PERMISSION, node):
        abort(404)
    return node


def _page(organization, nodes, *, errors=None, typed=None, status=200):
    return (
        render_template(
            "admin/settings.html",
            organization=organization,
            nodes=nodes,
            values=organization_settings.effective_settings(organization),
            parent=get_organization(organization.parent_id) if organization.parent_id else None,
            errors=errors or {},
            typed=typed or {},
        ),
        status,
    )


@bp.get("/settings")
def settings():
    nodes = _choices()
    return _page(_organization(request.args.get("org"), nodes), nodes)


@bp.post("/settings/<id:organization_id>")
def settings_change(organization_id):
    nodes = _choices()
    organization = _organization(str(organization_id), nodes)
    key = request.form.get("key", "")
    value = request.form.get("value", "")
    try:
        if request.form.get("action") == "clear":
            organization_settings.clear_setting(current_user, organization, key)
            message = _(
                "%(setting)s is no longer set here; it is inherited again.",
                setting=organization_settings.BY_KEY[key].label,
            )
        else:
            organization_settings.set_setting(current_user, organization, key, value)
            message = _(
                "%(setting)s is saved for %(organization)s and the organizations under it.",
                setting=organization_settings.BY_KEY[key].label,
                organization=organization.name,
            )
    except PointsError as error:
        if error.status == 404:
            raise
        field = error.details.get("field", key) if isinstance(error.details, dict) else key
        return _page(
            organization, nodes, errors={field: error.render_message()}, typed={key: value}, status=error.status
        )
    flash(message, "success")
    return redirect(url_for("admin.settings", org=organization.id))
