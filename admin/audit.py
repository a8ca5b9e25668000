"""The audit log: every staff and admin write in the admin's subtree, filtered and exported.

One table definition (``AUDIT_COLUMNS`` and ``event_rows``, with ``changes_of``)
feeds the page and the CSV/xlsx export. Personal data in before/after values (names of people, mobile and
member numbers) is masked on the page and in the export, unless the admin asks for an
unmasked export, which the log records as such. Who may read which events, and the
filters, are decided by ``points_service.audit.queries``.
"""

import json

from flask import current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from points_service import authz
from points_service.accounts.service import mask_mobile, mask_name
from points_service.audit import queries
from points_service.errors import ValidationError
from points_service.exports import FORMATS, export_response
from points_service.timeutil import to_local

from . import bp

ACTIONS = {
    "activity.cancel": _l("Activity cancelled"),
    "activity.create": _l("Activity published"),
    "audit.export": _l("Audit log exported"),
    "audit.export_unmasked": _l("Audit log exported unmasked"),
    "certificate.revoke": _l("Certificate revoked"),
    "change.approve": _l("Change approved"),
    "change.reject": _l("Change rejected"),
    "change.request": _l("Change requested"),
    "change.withdraw": _l("Change withdrawn"),
    "honor.compute": _l("Honor roll computed"),
    "honor.publish": _l("Honor roll published"),
    "import.apply": _l("Spreadsheet imported"),
    "ledger.adjust": _l("Points adjusted"),
    "organization.create": _l("Organization added"),
    "perk.create": _l("Perk added"),
    "perk.update": _l("Perk changed"),
    "record.approve": _l("Hours approved"),
    "record.calendar_rerate": _l("Hours re-rated for a holiday calendar"),
    "record.enter": _l("Hours entered"),
    "record.reject": _l("Hours rejected"),
    "record.rerate": _l("Hours re-rated"),
    "record.reverse": _l("Hours reversed"),
    "redemption.fulfil": _l("Voucher used"),
    "redemption.redeem": _l("Perk redeemed"),
    "redemption.refund": _l("Co-payment refunded"),
    "redemption.void": _l("Redemption voided"),
    "role.grant": _l("Role granted"),
    "rules.calendar_enter": _l("Holiday calendar entered"),
    "rules.category_create": _l("Category added"),
    "rules.category_update": _l("Category changed"),
    "rules.create": _l("Rule set drafted"),
    "rules.holiday_override": _l("Holiday set"),
    "rules.holiday_override_remove": _l("Holiday removed"),
    "rules.publish": _l("Rule set published"),
    "rules.retire": _l("Rule set retired"),
    "rules.update_draft": _l("Rule set draft changed"),
    "shortfall.write_off": _l("Shortfall written off"),
    "token.create": _l("API token issued"),
    "token.revoke": _l("API token revoked"),
    "user.create": _l("User created"),
    "user.password_change": _l("Password changed"),
    "volunteer.merge": _l("Volunteers merged"),
}

OBJECT_TYPES = {
    "activity": _l("Activity"),
    "activity_signup": _l("Sign-up"),
    "api_token": _l("API token"),
    "audit_log": _l("Audit log"),
    "change_request": _l("Change request"),
    "holiday_calendar": _l("Holiday calendar"),
    "holiday_override": _l("Holiday"),
    "holiday_year": _l("Holiday year"),
    "honor_roll": _l("Honor roll"),
    "import_batch": _l("Import"),
    "organization": _l("Organization"),
    "perk": _l("Perk"),
    "points_account": _l("Points account"),
    "redemption": _l("Redemption"),
    "reversal_shortfall": _l("Shortfall"),
    "rule_set": _l("Rule set"),
    "service_category": _l("Category"),
    "service_certificate": _l("Certificate"),
    "service_record": _l("Service record"),
    "user": _l("User"),
    "volunteer_profile": _l("Volunteer"),
}

# The page an object of a type has, where one exists: (endpoint, its id argument).
OBJECT_PAGES = {
    "activity": ("organizer.activity", "activity_id"),
    "change_request": ("admin.change_request", "request_id"),
    "redemption": ("counter.receipt", "redemption_id"),
    "rule_set": ("admin.rules_view", "rule_set_id"),
}

SOURCES = {"web": _l("Web"), "api": _l("API"), "cli": _l("Command line")}

# Values that are personal data wherever they appear, and "name" where the object is a person.
PERSONAL_FIELDS = {"mobile": mask_mobile, "member_no": lambda value: "*" * 8 + value[-4:], "display_name": mask_name}
PEOPLE = ("user", "volunteer_profile")


def _masked(target_type, field, value):
    masker = PERSONAL_FIELDS.get(field)
    if masker is None and field == "name" and target_type in PEOPLE:
        masker = mask_name
    if masker is None:
        if isinstance(value, list):
            return [_masked(target_type, field, inner) for inner in value]
        return value
    if isinstance(value, str):
        return masker(value)
    if isinstance(value, list):
        return [masker(inner) if isinstance(inner, str) else inner for inner in value]
    return value


def _flat(values, target_type, unmasked, prefix=""):
    """``{"a": {"b": 1}}`` as ``{"a.b": 1}``, each value masked by its own key unless ``unmasked``."""
    if not isinstance(values, dict):
        values = {"value": values}
    flat = {}
    for key, value in values.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flat(value, target_type, unmasked, prefix=f"{path}."))
        else:
            flat[path] = value if unmasked else _masked(target_type, str(key), value)
    return flat


def _text(value):
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def changes_of(event, *, unmasked=False):
    """The event's before/after field by field (nested values as ``a.b``): ``[(field, before, after)]``."""
    before = _flat(event.before or {}, event.target_type, unmasked)
    after = _flat(event.after or {}, event.target_type, unmasked)
    lines = []
    for field in list(before) + [name for name in after if name not in before]:
        old = _text(before[field]) if field in before else ""
        new = _text(after[field]) if field in after else ""
        lines.append((field, old, new))
    return lines


def action_label(code):
    label = ACTIONS.get(code)
    return str(label) if label is not None else code


def object_label(target_type):
    label = OBJECT_TYPES.get(target_type)
    return str(label) if label is not None else target_type


def object_url(event):
    page = OBJECT_PAGES.get(event.target_type)
    if page is None or not (event.target_id or "").isdigit() or page[0] not in current_app.view_functions:
        return None
    return url_for(page[0], **{page[1]: int(event.target_id)})


def actor_text(event, names, *, unmasked=False):
    """Who acted: a staff user's login name, a volunteer's (masked) name, or the command line's label."""
    if event.actor_id is None:
        return event.actor_label or _("System")
    username, name = names.get(event.actor_id, (None, ""))
    text = username or (name if unmasked else mask_name(name))
    return f"{text} ({event.actor_label})" if event.actor_label else text


AUDIT_COLUMNS = (
    _l("Event"),
    _l("Time"),
    _l("Actor"),
    _l("Action"),
    _l("Object type"),
    _l("Object"),
    _l("Field"),
    _l("Before"),
    _l("After"),
    _l("Request id"),
    _l("Source"),
)


def event_rows(event, names, timezone, *, unmasked=False):
    """One event as rows of ``AUDIT_COLUMNS``: one row per changed field (one row when none),
    so each before and after value has a cell of its own in the spreadsheet."""
    common = (
        event.id,
        to_local(event.created_at, timezone).replace(tzinfo=None),
        actor_text(event, names, unmasked=unmasked),
        action_label(event.action),
        object_label(event.target_type),
        event.target_id or "",
    )
    origin = (event.request_id or "", str(SOURCES.get(event.source, "")))
    for field, old, new in changes_of(event, unmasked=unmasked) or [("", "", "")]:
        yield (*common, field, old, new, *origin)


@bp.context_processor
def audit_links():
    """``audit_trail_url(type, id)`` for the desk's object pages: None when the admin may not read the log."""

    def audit_trail_url(target_type, target_id):
        if not authz.can(current_user, "audit.view", None):
            return None
        return url_for("admin.audit", target_type=target_type, target_id=target_id)

    return {"audit_trail_url": audit_trail_url}


def _filters_or_errors():
    try:
        return queries.parse_filters(request.args), queries.parse_before_id(request.args.get("before")), None
    except ValidationError as error:
        return queries.AuditFilters(), None, error


@bp.get("/audit")
def audit():
    filters, before_id, error = _filters_or_errors()
    if error is not None:
        events, next_before = [], None
    else:
        events, next_before = queries.find_events(current_user, filters, before_id=before_id)
    names = queries.actor_names(events)
    return (
        render_template(
            "admin/audit.html",
            events=events,
            names=names,
            filters=filters,
            values=request.args,
            error=error,
            next_before=next_before,
            timezone=queries.reader_timezone(current_user),
            actions=sorted(ACTIONS.items(), key=lambda item: str(item[1])),
            object_types=sorted(OBJECT_TYPES.items(), key=lambda item: str(item[1])),
            sources=SOURCES,
            changes_of=changes_of,
            action_label=action_label,
            object_label=object_label,
            object_url=object_url,
            actor_text=actor_text,
        ),
        422 if error is not None else 200,
    )


@bp.post("/audit/export")
def audit_export():
    filters = queries.parse_filters(request.form)
    fmt = request.form.get("format", "csv")
    if fmt not in FORMATS:
        raise ValidationError(_l("Choose CSV or Excel."), details={"field": "format"})
    unmasked = request.form.get("unmasked") == "1"
    queries.record_export(current_user, filters, fmt, unmasked=unmasked)
    timezone = queries.reader_timezone(current_user)
    reader = current_user._get_current_object()

    def rows():
        batch = []
        for event in queries.iter_events(reader, filters):
            batch.append(event)
            if len(batch) == 500:
                yield from _rows_of(batch, timezone, unmasked)
                batch = []
        yield from _rows_of(batch, timezone, unmasked)

    return export_response(fmt, _("audit-log"), [str(column) for column in AUDIT_COLUMNS], rows(), title=_("Audit"))


def _rows_of(events, timezone, unmasked):
    names = queries.actor_names(events)
    for event in events:
        yield from event_rows(event, names, timezone, unmasked=unmasked)
