"""The rules desk: rule tables per organization, their drafts, diff, backtest and publication.

Every change goes through the rules domain (``create_rule_set``, ``update_draft``,
``request_rule_set_publication``), which validates the whole table, audits, and refuses
a stale save; publishing is a change request another administrator approves on
``/admin/approvals``. A rule set outside the administrator's subtree is not found.

The edit form's inputs are named by their path in the rule-table document
(``rates.patrol.points``, ``bonuses.milestones.0.hours``), so the form reads back into
the same JSON the command line imports, and each validation error lands on its input.
"""

import json
import re
import unicodedata
from datetime import date, timedelta

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from points_service import authz
from points_service.activities import service as activities
from points_service.errors import NotFound, PointsError, ValidationError
from points_service.inputs import MAX_ID, InvalidJson, UnreadableJson, loads_json
from points_service.organizations.service import get_organization, list_organizations
from points_service.rules import service as rules
from points_service.rules.diff import config_fields, field_label, value_words
from points_service.rules.errors import RuleSetNotFound
from points_service.rules.schemas import EXPIRY_POLICIES, ROUNDING_MODES, STACKING_POLICIES
from points_service.timeutil import to_local, utcnow

from . import bp
from .charts import chart

MAX_IMPORT_BYTES = 256 * 1024
TABLE_ROWS = 4  # rounding-table rows and milestones offered in the form (more: import JSON)
STAR_LEVELS = 5
_WHOLE = re.compile(r"-?[0-9]+")


def _organizations():
    """The nodes of the administrator's subtrees, outermost first."""
    nodes = {}
    for root in authz.scope_roots(current_user, "rules.manage"):
        nodes.update((node.id, node) for node in list_organizations(within=root))
    return sorted(nodes.values(), key=lambda node: node.path)


def _organization(value):
    """The organization a form chose, when it lies in the administrator's subtree."""
    try:
        node = get_organization(int(value)) if str(value).isdigit() and 0 < int(value) <= MAX_ID else None
    except NotFound:
        node = None
    if node is None or not authz.can(current_user, "rules.manage", node):
        raise ValidationError(_("Choose an organization from the list."), details={"field": "organization"})
    return node


def _rule_set(rule_set_id):
    """The rule set, or 404 when it does not exist or lies outside the admin's subtree."""
    try:
        rule_set = rules.get_rule_set(rule_set_id)
    except RuleSetNotFound:
        abort(404)
    if not authz.can(current_user, "rules.manage", rule_set.organization):
        abort(404)
    return rule_set


def _shown(config):
    """A function path -> the value of ``config``'s field in words (for the tables)."""
    fields = config_fields(config)
    return lambda path: value_words(path, fields.get(path))


def _state(rule_set, waiting):
    if rule_set.id in waiting:
        return _("awaiting approval")
    return {"draft": _("draft"), "published": _("published"), "retired": _("retired")}[rule_set.status]


@bp.get("/rules", endpoint="rules")
def rules_page():
    organizations = _organizations()
    visible = [
        rule_set
        for rule_set in rules.list_rule_sets()
        if authz.can(current_user, "rules.manage", rule_set.organization)
    ]
    waiting = rules.rule_sets_awaiting_publication({node.id for node in organizations})
    return render_template(
        "admin/rules.html", rule_sets=visible, waiting=waiting, organizations=organizations, state=_state
    )


def _fail(error, endpoint, **values):
    if error.status == 404:
        abort(404)
    flash(error.render_message(), "error")
    return redirect(url_for(endpoint, **values))


@bp.post("/rules/new")
def rules_new_draft():
    try:
        draft = rules.create_rule_set(current_user, _organization(request.form.get("organization")))
    except PointsError as error:
        return _fail(error, "admin.rules")
    flash(_("Draft version %(version)s is ready to edit.", version=draft.version), "success")
    return redirect(url_for("admin.rules_edit", rule_set_id=draft.id))


@bp.post("/rules/<id:rule_set_id>/clone")
def rules_clone(rule_set_id):
    source = _rule_set(rule_set_id)
    try:
        draft = rules.create_rule_set(current_user, source.organization, copy_from=source)
    except PointsError as error:
        return _fail(error, "admin.rules_view", rule_set_id=source.id)
    flash(_("Draft version %(version)s is a copy of version %(source)s.", version=draft.version, source=source.version))
    return redirect(url_for("admin.rules_edit", rule_set_id=draft.id))


@bp.post("/rules/import")
def rules_import():
    upload = request.files.get("file")
    try:
        organization = _organization(request.form.get("organization"))
        if upload is None or not upload.filename:
            raise ValidationError(_("Choose a JSON file."), details={"field": "file"})
        content = upload.stream.read(MAX_IMPORT_BYTES + 1)
        if len(content) > MAX_IMPORT_BYTES:
            raise ValidationError(
                _("The file is larger than %(kb)s KB.", kb=MAX_IMPORT_BYTES // 1024), details={"field": "file"}
            )
        try:
            document = loads_json(content)
        except UnreadableJson as error:
            raise InvalidJson(error.message, details={"field": "file"}, **error.params) from None
        draft = rules.create_rule_set(
            current_user, organization, document, effective_from=request.form.get("effective_from") or None
        )
    except PointsError as error:
        return _import_refused(error)
    flash(_("Imported as draft version %(version)s.", version=draft.version), "success")
    return redirect(url_for("admin.rules_view", rule_set_id=draft.id))


def _import_refused(error):
    fields = error.details.get("fields") or {}
    names = rules.category_labels()
    for path, messages in fields.items():
        flash(f"{field_label(path, names)}: {messages[0]}", "error")
    if not fields:
        flash(error.render_message(), "error")
    return redirect(url_for("admin.rules"))


@bp.get("/rules/<id:rule_set_id>")
def rules_view(rule_set_id):
    rule_set = _rule_set(rule_set_id)
    base, changes = rules.describe_rule_set_changes(rule_set)
    return render_template(
        "admin/rules_view.html",
        rule_set=rule_set,
        shown=_shown(rule_set.config),
        categories=_categories(rule_set.config),
        names=rules.category_labels(),
        base=base,
        changes=changes,
        pending=rules.pending_publication(rule_set),
        history=rules.rule_set_history(rule_set.organization),
        waiting=rules.rule_sets_awaiting_publication([rule_set.organization_id]),
        state=_state,
    )


@bp.get("/rules/<id:rule_set_id>/export.json")
def rules_export(rule_set_id):
    rule_set = _rule_set(rule_set_id)
    body = json.dumps(rule_set.config, ensure_ascii=False, indent=2) + "\n"
    filename = f"rules-{rule_set.organization_id}-v{rule_set.version}.json"
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# -- the edit form ---------------------------------------------------------------------


def _categories(config):
    """[(code, name)] of the active categories and those the table rates, by name."""
    names = rules.category_labels()
    active = {category.code for category in rules.list_categories()}
    codes = active | set(config.get("rates") or {})
    return sorted(((code, names.get(code, code)) for code in codes), key=lambda item: item[1])


def _number(text):
    """A typed number as an int (full-width digits too); other text stays text, so the rule
    table's check names the field ("Enter a whole number")."""
    plain = unicodedata.normalize("NFKC", text).strip()
    return int(plain) if _WHOLE.fullmatch(plain) and len(plain) <= 12 else text


def _rows(mapping):
    """Numbered entries ({"0": {...}, "1": {...}}) as a list, leaving out empty rows."""
    return [mapping[key] for key in sorted(mapping, key=int) if mapping[key] not in ({}, None)]


def _nest(pairs):
    tree = {}
    for path, value in pairs:
        node, parts = tree, path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree


def _listify(node):
    if not isinstance(node, dict):
        return node
    node = {key: _listify(value) for key, value in node.items()}
    if node and all(key.isdigit() for key in node):
        return _rows(node)
    return node


_TEXT_FIELDS = ("mode", "stacking", "policy", "night_start", "night_end")
_CONFIG_HEADS = ("rates.", "default_rate.", "multipliers.", "caps.", "bonuses.", "expiry.", "star_thresholds_hours.")


def config_from_form(form):
    """The rule-table document the edit form describes; blank inputs are left out, and a
    rate whose points and minutes are both blank is no rate."""
    pairs = []
    for path, value in form.items(multi=False):
        if not path.startswith(_CONFIG_HEADS) or len(path) > 120 or not value.strip():
            continue
        leaf = path.rsplit(".", 1)[-1]
        pairs.append((path, value.strip() if leaf in _TEXT_FIELDS else _number(value)))
    config = _listify(_nest(pairs))
    rates = config.get("rates") or {}
    for code in list(rates):
        if "points" not in rates[code] and "per_minutes" not in rates[code]:
            del rates[code]
    default = config.get("default_rate")
    if default is not None and "points" not in default and "per_minutes" not in default:
        del config["default_rate"]
    config["rates"] = rates
    for rate in [*rates.values(), config.get("default_rate") or {}]:
        rounding = rate.get("rounding") or {}
        if rounding.get("mode") == "table":
            rounding.pop("step_minutes", None)
        else:
            rounding.pop("table", None)
    if "star_thresholds_hours" in config:
        config["star_thresholds_hours"] = list(config["star_thresholds_hours"])
    return config


def _form_values(rule_set, form=None):
    """{input name: text} to fill the form: what was typed, else the draft's table."""
    if form is not None:
        return {key: value for key, value in form.items(multi=False)}
    values = {
        "name": rule_set.name,
        "effective_from": rule_set.effective_from.isoformat() if rule_set.effective_from else "",
    }

    def walk(prefix, node):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else key, value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(f"{prefix}.{index}", value)
        elif node is not None:
            values[prefix] = str(node)

    walk("", rule_set.config)
    return values


def _render_edit(rule_set, values, errors, status=200, revision=None):
    return (
        render_template(
            "admin/rules_edit.html",
            rule_set=rule_set,
            values=values,
            errors=errors,
            names=rules.category_labels(),
            field_label=field_label,
            categories=_categories(rule_set.config),
            revision=revision if revision is not None else rule_set.revision,
            rounding_modes=ROUNDING_MODES,
            rounding_words={
                "down": _("round down"),
                "nearest": _("round to nearest"),
                "up": _("round up"),
                "table": _("by table"),
            },
            stacking_policies=STACKING_POLICIES,
            expiry_policies=EXPIRY_POLICIES,
            table_rows=TABLE_ROWS,
            star_levels=STAR_LEVELS,
        ),
        status,
    )


def _revision(value):
    try:
        revision = int(value)
    except (TypeError, ValueError):
        revision = 0
    if not 1 <= revision < 2**31:
        raise ValidationError(_("The form is missing the revision it was opened at; open it again."))
    return revision


@bp.route("/rules/<id:rule_set_id>/edit", methods=["GET", "POST"])
def rules_edit(rule_set_id):
    rule_set = _rule_set(rule_set_id)
    if rule_set.status != "draft":
        flash(_("Only a draft can be changed; clone this version into a new draft."), "error")
        return redirect(url_for("admin.rules_view", rule_set_id=rule_set.id))
    if request.method == "GET":
        return _render_edit(rule_set, _form_values(rule_set), {})
    try:
        rules.update_draft(
            current_user,
            rule_set,
            config_from_form(request.form),
            name=request.form.get("name", ""),
            effective_from=request.form.get("effective_from") or None,
            expected_revision=_revision(request.form.get("revision")),
        )
    except PointsError as error:
        if error.status == 404:
            abort(404)
        fields = error.details.get("fields") or {}
        if not fields and "field" in error.details and error.status != 409:
            fields = {error.details["field"]: [error.render_message()]}
        if not fields:
            flash(error.render_message(), "error")
        return _render_edit(
            rule_set,
            _form_values(rule_set, request.form),
            fields,
            status=409 if error.status == 409 else 422,
            revision=request.form.get("revision"),
        )
    flash(_("Saved."), "success")
    return redirect(url_for("admin.rules_view", rule_set_id=rule_set.id))


# -- backtest and publication ------------------------------------------------------------


def _day(values, name, default):
    text = values.get(name, "").strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValidationError(_("Enter a date as YYYY-MM-DD."), details={"field": name}) from None


def _render_backtest_form(rule_set, first_day, last_day, error=None):
    return (
        render_template(
            "admin/rules_backtest.html",
            rule_set=rule_set,
            first_day=first_day,
            last_day=last_day,
            latest=activities.latest_backtest_run(rule_set),
            error=error,
        ),
        422 if error else 200,
    )


@bp.get("/rules/<id:rule_set_id>/backtest")
def rules_backtest(rule_set_id):
    rule_set = _rule_set(rule_set_id)
    today = to_local(utcnow(), rule_set.organization.timezone).date()
    first_day, last_day = today - timedelta(days=90), today - timedelta(days=1)
    try:
        first_day = _day(request.args, "first_day", first_day)
        last_day = _day(request.args, "last_day", last_day)
    except PointsError as problem:
        return _render_backtest_form(rule_set, first_day, last_day, problem.render_message())
    return _render_backtest_form(rule_set, first_day, last_day)


@bp.post("/rules/<id:rule_set_id>/backtests")
def rules_backtest_start(rule_set_id):
    rule_set = _rule_set(rule_set_id)
    first_day = last_day = None
    try:
        first_day = _day(request.form, "first_day", None)
        last_day = _day(request.form, "last_day", None)
        run, _thread = activities.request_backtest(current_user, rule_set, first_day, last_day)
    except PointsError as problem:
        if problem.status == 404:
            abort(404)
        today = to_local(utcnow(), rule_set.organization.timezone).date()
        return _render_backtest_form(
            rule_set,
            first_day or today - timedelta(days=90),
            last_day or today - timedelta(days=1),
            problem.render_message(),
        )
    return redirect(url_for("admin.rules_backtest_run", rule_set_id=rule_set.id, run_id=run.id), 303)


@bp.get("/rules/<id:rule_set_id>/backtests/<id:run_id>")
def rules_backtest_run(rule_set_id, run_id):
    rule_set = _rule_set(rule_set_id)
    try:
        run = activities.get_backtest_run(current_user, rule_set, run_id)
    except PointsError:
        abort(404)
    state = activities.backtest_run_state(run)
    result, volunteers, figures = None, {}, None
    if state == "done":
        result = activities.backtest_from_json(run.result)
        volunteers = activities.volunteer_names(
            current_user, [change.volunteer_id for change in result.simulation.most_affected]
        )
        figures = _category_chart(result.simulation)
    return render_template(
        "admin/rules_backtest_run.html",
        rule_set=rule_set,
        run=run,
        state=state,
        stale=run.rule_set_revision != rule_set.revision,
        result=result,
        volunteers=volunteers,
        figures=figures,
        names=rules.category_labels(),
    )


@bp.context_processor
def _rules_template_helpers():
    """``rules_latest_backtest(rule_set_id)``: the newest finished run of the rule set at
    its current revision, for the reviewer's change-request page."""

    def rules_latest_backtest(rule_set_id):
        try:
            return activities.latest_backtest_run(rules.get_rule_set(rule_set_id), finished=True)
        except RuleSetNotFound:
            return None

    return {"rules_latest_backtest": rules_latest_backtest}


def _category_chart(simulation):
    if not simulation.categories:
        return None
    names = rules.category_labels()
    return chart(
        "bar",
        _("Points per category: now and with this table"),
        [names.get(change.category, change.category) for change in simulation.categories],
        [
            (_("Now"), [change.points_before for change in simulation.categories]),
            (_("With this table"), [change.points_after for change in simulation.categories]),
        ],
    )


@bp.post("/rules/<id:rule_set_id>/publish")
def rules_request_publication(rule_set_id):
    rule_set = _rule_set(rule_set_id)
    try:
        change = rules.request_rule_set_publication(current_user, rule_set)
    except PointsError as error:
        return _fail(error, "admin.rules_view", rule_set_id=rule_set.id)
    flash(_("Publication requested. Another administrator must approve it."), "success")
    return redirect(url_for("admin.change_request", request_id=change.id))
