"""Perks and service categories on the desk.

Perks: the list of the admin's subtree, a form to create one and to edit it (saved only
when nobody changed it since the form was opened), stock adjusted with a reason, a
picture uploaded, retiring and reactivating. Categories: the deployment-wide list of
kinds of service, added, renamed, deactivated and reactivated by a city administrator.

Every write is one call to the perks or rules service, which checks the permission on
the subtree, validates, and writes the audit row. A perk outside the admin's subtree is
not found (404).
"""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from points_service import authz
from points_service.errors import PointsError, ValidationError
from points_service.organizations import service as organizations
from points_service.perks import pictures
from points_service.perks import service as perks
from points_service.perks.models import LIMIT_PERIODS, PERK_KINDS
from points_service.rules import service as rules
from points_service.web.forms import whole_number

from . import bp

STATES = ("active", "retired", "all")


@bp.context_processor
def perk_words():
    return {"perk_kinds": PERK_KINDS, "limit_periods": LIMIT_PERIODS, "format_copay": perks.format_copay}


def _places():
    """The organizations where the admin manages perks, with their paths for labels."""
    nodes = [
        node
        for root in authz.scope_roots(current_user, "perk.manage")
        for node in organizations.list_organizations(within=root)
    ]
    return nodes, organizations.organization_paths(nodes)


def _organization(form, name, label):
    node_id = whole_number(form, name, label)
    try:
        return organizations.get_organization(node_id)
    except PointsError:
        raise ValidationError(_l("Choose an organization from the list."), details={"field": name}) from None


def _venues(form):
    try:
        return [
            organizations.get_organization(whole_number({"venues": value}, "venues", _l("Honored at")))
            for value in form.getlist("venues")
        ]
    except PointsError:
        raise ValidationError(_l("Choose the places from the list."), details={"field": "venues"}) from None


def _perk_values(form, owner):
    """The form's fields as the perks service takes them (shape only; the service decides the rules)."""
    valid_from, valid_until = perks.validity_window(owner, form.get("valid_from"), form.get("valid_until"))
    period = form.get("limit_period") or None
    return {
        "name": form.get("name", ""),
        "kind": form.get("kind", ""),
        "points_cost": whole_number(form, "points_cost", _l("Points")),
        "copay_amount": perks.parse_copay(form.get("copay_amount")),
        "limit_quantity": whole_number(form, "limit_quantity", _l("Limit per volunteer"), required=False),
        "limit_period": period,
        "min_stars": whole_number(form, "min_stars", _l("Minimum star level"), required=False, default=0, minimum=0),
        "valid_from": valid_from,
        "valid_until": valid_until,
        "terms": form.get("terms", ""),
        "venues": _venues(form),
    }


def _form_of(perk):
    first, last = perks.validity_days(perk)
    return {
        "name": perk.name,
        "kind": perk.kind,
        "points_cost": perk.points_cost,
        "copay_amount": perks.format_copay(perk.copay_amount) if perk.copay_amount else "",
        "limit_quantity": perk.limit_quantity or "",
        "limit_period": perk.limit_period or "",
        "min_stars": perk.min_stars,
        "valid_from": first.isoformat() if first else "",
        "valid_until": last.isoformat() if last else "",
        "terms": perk.terms,
        "venues": [str(venue.organization_id) for venue in perk.venues],
        "organization": str(perk.organization_id),
        "version": perk.version,
    }


def _refused(error):
    """A refusal the page shows; a perk not found stays a 404 page."""
    if error.status == 404 and not error.details.get("field"):
        raise error
    return error


# -- perks ----------------------------------------------------------------------------------


@bp.get("/perks", endpoint="perks")
def perks_page():
    state = request.args.get("state", "active")
    if state not in STATES:
        state = "active"
    active = None if state == "all" else state == "active"
    return render_template(
        "admin/perks.html", perks=perks.managed_perks(current_user, active=active), state=state, states=STATES
    )


def _perk_form(perk=None, form=None, error=None):
    nodes, paths = _places()
    values = form if form is not None else (_form_of(perk) if perk is not None else {"min_stars": 0})
    return render_template(
        "admin/perks_form.html",
        perk=perk,
        values=values,
        chosen_venues=set(form.getlist("venues")) if form is not None else set(values.get("venues", [])),
        places=nodes,
        paths=paths,
        error=error,
        adjustments=perks.stock_adjustments(current_user, perk.id) if perk is not None else [],
    ), (error.status if error is not None else 200)


@bp.route("/perks/new", methods=["GET", "POST"])
def perks_new():
    if request.method == "GET":
        return _perk_form()
    form = request.form
    try:
        owner = _organization(form, "organization", _l("Offered by"))
        values = _perk_values(form, owner)
        stock = whole_number(form, "stock", _l("Stock"), required=False, minimum=0, maximum=perks.MAX_STOCK)
        perk = perks.create_perk(current_user, organization=owner, stock=stock, **values)
    except PointsError as error:
        return _perk_form(form=form, error=_refused(error))
    flash(_("The perk is saved. Add a picture if you have one."), "success")
    return redirect(url_for("admin.perks_edit", perk_id=perk.id))


@bp.route("/perks/<id:perk_id>", methods=["GET", "POST"])
def perks_edit(perk_id):
    perk = perks.managed_perk(current_user, perk_id)
    if request.method == "GET":
        return _perk_form(perk)
    form = request.form
    try:
        version = whole_number(form, "version", _l("Version"))
        values = _perk_values(form, perk.organization)
        perks.update_perk(current_user, perk.id, expected_version=version, **values)
    except PointsError as error:
        return _perk_form(perk, form=form, error=_refused(error))
    flash(_("The perk is saved."), "success")
    return redirect(url_for("admin.perks_edit", perk_id=perk.id))


@bp.post("/perks/<id:perk_id>/state")
def perks_state(perk_id):
    perk = perks.managed_perk(current_user, perk_id)
    active = request.form.get("active") == "1"
    perks.update_perk(current_user, perk.id, active=active)
    flash(_("The perk is offered again.") if active else _("The perk is retired: nobody can redeem it now."), "success")
    return redirect(url_for("admin.perks_edit", perk_id=perk.id))


@bp.post("/perks/<id:perk_id>/stock")
def perks_stock(perk_id):
    perk = perks.managed_perk(current_user, perk_id)
    form = request.form
    try:
        if form.get("action") == "count":
            count = whole_number(
                form, "count", _l("Count on the shelf"), required=False, minimum=0, maximum=perks.MAX_STOCK
            )
            perks.set_perk_stock(current_user, perk.id, count, form.get("reason", ""))
        else:
            change = _signed_number(form, "change", _l("Add or take off"))
            perks.adjust_perk_stock(current_user, perk.id, change, form.get("reason", ""))
    except PointsError as error:
        return _perk_form(perk, error=_refused(error))
    flash(_("The stock is updated."), "success")
    return redirect(url_for("admin.perks_edit", perk_id=perk.id) + "#stock")


def _signed_number(form, name, label):
    text = (form.get(name) or "").strip()
    sign = -1 if text[:1] in ("-", "−") else 1
    magnitude = whole_number({name: text.lstrip("+-−")}, name, label, maximum=perks.MAX_STOCK_CHANGE)
    return sign * magnitude


@bp.post("/perks/<id:perk_id>/picture")
def perks_picture(perk_id):
    perk = perks.managed_perk(current_user, perk_id)
    try:
        if request.form.get("action") == "remove":
            perks.set_perk_picture(current_user, perk.id, None)
        else:
            upload = request.files.get("picture")
            data = upload.stream.read(pictures.MAX_UPLOAD_BYTES + 1) if upload is not None else b""
            perks.set_perk_picture(current_user, perk.id, data)
    except PointsError as error:
        return _perk_form(perk, error=_refused(error))
    flash(_("The picture is saved."), "success")
    return redirect(url_for("admin.perks_edit", perk_id=perk.id))


# -- service categories -------------------------------------------------------------------------


def _categories_page(error=None, form=None, editing=None):
    return render_template(
        "admin/categories.html",
        categories=rules.list_categories(active_only=False),
        may_change=rules.may_change_categories(current_user),
        error=error,
        values=form or {},
        editing=editing,
    ), (error.status if error is not None else 200)


@bp.get("/categories")
def categories():
    authz.require(current_user, "rules.manage")
    return _categories_page()


@bp.post("/categories")
def categories_add():
    form = request.form
    try:
        category = rules.create_category(
            current_user, form.get("code", "").strip(), form.get("name_en", ""), form.get("name_zh", "")
        )
    except PointsError as error:
        return _categories_page(error, form)
    flash(_("Category %(code)s is added.", code=category.code), "success")
    return redirect(url_for("admin.categories"))


@bp.post("/categories/<code>")
def categories_update(code):
    category = rules.get_category(code)
    form = request.form
    try:
        if "active" in form:
            rules.update_category(current_user, category, active=form.get("active") == "1")
        else:
            rules.update_category(current_user, category, name_en=form.get("name_en"), name_zh=form.get("name_zh"))
    except PointsError as error:
        return _categories_page(error, form, editing=category.code)
    flash(_("Category %(code)s is saved.", code=category.code), "success")
    return redirect(url_for("admin.categories"))
