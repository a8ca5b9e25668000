"""People: the organization tree, users and their roles, API tokens.

Each view parses the form, asks a domain service (which checks ``user.manage`` or
``token.manage`` on the subtree concerned) and renders. A node, user, role or token of
another subtree is a 404. Search text travels in a POST body only, never in a URL, so
it reaches no access log; results and user pages show names and mobile numbers masked.
A new API token is shown once, in the answer to the POST that created it.
"""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from points_service.accounts import people
from points_service.accounts import tokens as api_tokens
from points_service.accounts.service import mask_mobile, mask_name
from points_service.errors import PointsError, ValidationError
from points_service.organizations import service as organizations

from . import bp

ROLE_WORDS = {
    "volunteer": _l("Volunteer"),
    "organizer": _l("Organizer"),
    "counter": _l("Counter staff"),
    "admin": _l("Administrator"),
}
KIND_WORDS = {
    "city": _l("City"),
    "district": _l("District"),
    "street": _l("Street"),
    "community": _l("Community"),
}


@bp.context_processor
def people_words():
    return {
        "role_words": ROLE_WORDS,
        "level_words": KIND_WORDS,
        "masked_name": mask_name,
        "masked_mobile": mask_mobile,
        "desk_roles": people.DESK_ROLES,
    }


def _flash_refusal(error):
    """Show a refusal on the page; a 404 stays a 404 (another subtree's object)."""
    if error.status == 404:
        raise error
    flash(error.render_message(), "error")


def _form_id(name):
    """A node id from the form, or a 422 naming the field."""
    text = request.form.get(name, "").strip()
    if not text.isdigit() or len(text) > 10:
        raise ValidationError(_l("Choose a place in the tree."), details={"field": name})
    return int(text)


# -- the organization tree -------------------------------------------------------------------


def _tree(nodes):
    """``(roots, children)``: the managed nodes as a tree, siblings by name."""
    ids = {node.id for node in nodes}
    children = {}
    roots = []
    for node in nodes:
        if node.parent_id in ids:
            children.setdefault(node.parent_id, []).append(node)
        else:
            roots.append(node)
    for siblings in children.values():
        siblings.sort(key=lambda node: node.name)
    return sorted(roots, key=lambda node: node.path), children


@bp.get("/people", endpoint="people")
def people_page():
    roots, children = _tree(organizations.list_managed_organizations(current_user))
    return render_template("admin/people.html", roots=roots, children=children)


@bp.get("/people/organizations/<id:organization_id>")
def people_organization(organization_id):
    node = organizations.get_managed_organization(current_user, organization_id)
    targets = organizations.move_targets(current_user, node)
    return render_template(
        "admin/people_organization.html",
        node=node,
        path=organizations.organization_paths([node])[node.id],
        child_kind=organizations.CHILD_KIND.get(node.kind),
        targets=targets,
        target_paths=organizations.organization_paths(targets),
    )


@bp.post("/people/organizations/<id:organization_id>/children")
def people_add_child(organization_id):
    node = organizations.get_managed_organization(current_user, organization_id)
    try:
        child = organizations.create_organization(
            request.form.get("name", ""), organizations.CHILD_KIND.get(node.kind), node, actor=current_user
        )
    except PointsError as error:
        _flash_refusal(error)
        return redirect(url_for("admin.people_organization", organization_id=node.id))
    flash(_("%(name)s is added.", name=child.name), "success")
    return redirect(url_for("admin.people_organization", organization_id=child.id))


@bp.post("/people/organizations/<id:organization_id>/rename")
def people_rename(organization_id):
    node = organizations.get_managed_organization(current_user, organization_id)
    try:
        organizations.rename_organization(current_user, node, request.form.get("name", ""))
        flash(_("The new name is saved."), "success")
    except PointsError as error:
        _flash_refusal(error)
    return redirect(url_for("admin.people_organization", organization_id=organization_id))


@bp.post("/people/organizations/<id:organization_id>/move")
def people_move(organization_id):
    node = organizations.get_managed_organization(current_user, organization_id)
    try:
        new_parent = organizations.get_managed_organization(current_user, _form_id("parent"))
        move = organizations.move_organization(current_user, node, new_parent)
    except PointsError as error:
        _flash_refusal(error)
        return redirect(url_for("admin.people_organization", organization_id=organization_id))
    flash(
        _(
            "Moved. Staff roles on the old levels above that no longer reach it: %(n)s.",
            n=move.staff_roles_left_behind,
        ),
        "success",
    )
    return redirect(url_for("admin.people_organization", organization_id=organization_id))


# -- users and roles -------------------------------------------------------------------------


@bp.route("/people/users", methods=["GET", "POST"])
def people_users():
    results = None
    if request.method == "POST":
        try:
            results = people.search_users(current_user, request.form.get("query", ""))
        except PointsError as error:
            _flash_refusal(error)
    return render_template("admin/people_users.html", results=results, limit=people.MAX_RESULTS)


@bp.get("/people/users/<id:user_id>")
def people_user(user_id):
    user = people.get_managed_user(current_user, user_id)
    places = organizations.list_managed_organizations(current_user)
    return render_template(
        "admin/people_user.html",
        user=user,
        roles=people.visible_roles(current_user, user),
        places=places,
        place_paths=organizations.organization_paths(places),
    )


@bp.post("/people/users/<id:user_id>/roles")
def people_grant_role(user_id):
    user = people.get_managed_user(current_user, user_id)
    try:
        place = organizations.get_managed_organization(current_user, _form_id("organization"))
        grant = people.grant_staff_role(current_user, user, request.form.get("role", ""), place)
    except PointsError as error:
        _flash_refusal(error)
        return redirect(url_for("admin.people_user", user_id=user_id))
    if grant.request is not None:
        flash(_("The admin role is asked for: another administrator must approve it."), "success")
        return redirect(url_for("admin.change_request", request_id=grant.request.id))
    flash(_("The role is granted."), "success")
    return redirect(url_for("admin.people_user", user_id=user_id))


def _confirmed():
    return request.form.get("confirm") == "yes"


@bp.post("/people/users/<id:user_id>/roles/<id:membership_id>/revoke")
def people_revoke_role(user_id, membership_id):
    user = people.get_managed_user(current_user, user_id)
    try:
        people.revoke_role(current_user, user, membership_id, confirm_last_admin=_confirmed())
    except people.LastAdministrator as warning:
        return _confirmation_page(
            warning, url_for("admin.people_revoke_role", user_id=user_id, membership_id=membership_id)
        )
    except PointsError as error:
        _flash_refusal(error)
        return redirect(url_for("admin.people_user", user_id=user_id))
    flash(_("The role is taken away."), "success")
    return redirect(url_for("admin.people_user", user_id=user_id))


def _set_active(user_id, active):
    user = people.get_managed_user(current_user, user_id)
    try:
        people.set_user_active(current_user, user, active, confirm_last_admin=_confirmed())
    except people.LastAdministrator as warning:
        return _confirmation_page(warning, url_for("admin.people_disable_user", user_id=user_id))
    except PointsError as error:
        _flash_refusal(error)
        return redirect(url_for("admin.people_user", user_id=user_id))
    if active:
        flash(_("Enabled."), "success")
    else:
        flash(_("Disabled: the user's sessions and API tokens stopped working."), "success")
    return redirect(url_for("admin.people_user", user_id=user_id))


def _confirmation_page(warning, action):
    return render_template("admin/people_confirm.html", message=warning.render_message(), action=action), 409


@bp.post("/people/users/<id:user_id>/disable")
def people_disable_user(user_id):
    return _set_active(user_id, False)


@bp.post("/people/users/<id:user_id>/enable")
def people_enable_user(user_id):
    return _set_active(user_id, True)


# -- API tokens --------------------------------------------------------------------------------


def _tokens_page(created=None, plaintext=None, status=200):
    places = organizations.list_managed_organizations(current_user)
    return render_template(
        "admin/people_tokens.html",
        tokens=api_tokens.list_api_tokens(current_user, include_revoked=True),
        places=places,
        place_paths=organizations.organization_paths(places),
        created=created,
        plaintext=plaintext,
    ), status


@bp.get("/people/tokens")
def people_tokens():
    return _tokens_page()


def _days():
    text = request.form.get("days", "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 5:
        raise ValidationError(_l("Give the number of days as a whole number."), details={"field": "days"})
    return int(text)


@bp.post("/people/tokens")
def people_create_token():
    try:
        holder = api_tokens.token_holder(request.form.get("user", ""), current_user)
        place_id = request.form.get("organization", "").strip()
        place = organizations.get_managed_organization(current_user, _form_id("organization")) if place_id else None
        role = request.form.get("role", "").strip() or None
        token, plaintext = api_tokens.issue_api_token(
            holder, name=request.form.get("name", ""), role=role, organization=place, days=_days(), actor=current_user
        )
    except PointsError as error:
        if error.status == 404 and error.details.get("field") is None:
            raise
        flash(error.render_message(), "error")
        return _tokens_page(status=error.status)
    return _tokens_page(created=token, plaintext=plaintext)


@bp.post("/people/tokens/<id:token_id>/revoke")
def people_revoke_token(token_id):
    token = api_tokens.revoke_api_token(token_id, current_user)
    flash(_("Token %(name)s is revoked; it stopped working at once.", name=token.name), "success")
    return redirect(url_for("admin.people_tokens"))
