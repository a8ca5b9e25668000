"""Settings per organization, inherited down the tree.

A value set on a node applies to its whole subtree unless a node below sets its own; a
setting no node on the way up sets falls back to the application configuration (the
environment variable of the same meaning, see ``config``), so the configuration holds
the defaults of a deployment and administrators adjust them per district or community.

``setting(organization, key)`` is what the code reading a setting calls. It loads the
values of the node and all its ancestors in one query and keeps them for the unit of
work (the session's current transaction: a commit or rollback forgets them), so a loop
that reads a setting per record costs one query, and a change is seen by the next
transaction. The time zone is the exception: every node keeps its own in
``Organization.timezone`` (a new node starts with its parent's), so it is read from
there and changed through ``service.set_organization_timezone``.

Every change is audited with the value before and after.
"""

from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from .. import authz
from ..audit.service import record_audit
from ..codes import normalise_typed
from ..database import lock_one, write_transaction
from ..errors import ValidationError
from ..extensions import db
from ..i18n import list_text
from ..timeutil import utcnow
from .models import Organization, OrganizationSetting
from .service import set_organization_timezone

PERMISSION = "rules.manage"
INTEGER, CHOICE, TIMEZONE = "integer", "choice", "timezone"
HERE, INHERITED, DEFAULT = "here", "inherited", "default"
_CACHE = "organization_settings"


@dataclass(frozen=True)
class Setting:
    key: str
    kind: str  # integer | choice | timezone
    config_key: str  # the application configuration value that is the default
    label: object  # lazy, translated
    help: object  # lazy, translated
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple = ()  # (value, lazy label) for a choice

    def choice_label(self, value):
        return dict(self.choices).get(value, value)


SETTINGS = (
    Setting(
        "timezone",
        TIMEZONE,
        "DEFAULT_TIMEZONE",
        _l("Time zone"),
        _l("Local dates and times of this organization: service days, periods, what staff see."),
    ),
    Setting(
        "voucher_ttl_minutes",
        INTEGER,
        "VOUCHER_TTL_MINUTES",
        _l("Voucher validity (minutes)"),
        _l("How long a perk reserved online can be collected before its points and stock go back."),
        minimum=10,
        maximum=90 * 24 * 60,
    ),
    Setting(
        "max_service_minutes",
        INTEGER,
        "MAX_SERVICE_MINUTES",
        _l("Longest service record (minutes)"),
        _l("A record longer than this is refused; longer service is split into several records."),
        minimum=30,
        maximum=24 * 60,
    ),
    Setting(
        "checkin_grace_minutes",
        INTEGER,
        "CHECKIN_GRACE_MINUTES",
        _l("Check-in grace (minutes)"),
        _l("Check-in opens this long before an activity starts and check-out closes this long after it ends."),
        minimum=0,
        maximum=12 * 60,
    ),
    Setting(
        "self_report_window_days",
        INTEGER,
        "SELF_REPORT_WINDOW_DAYS",
        _l("Self-report window (days)"),
        _l("A volunteer may report their own service up to this many days after it."),
        minimum=1,
        maximum=366,
    ),
    Setting(
        "expiry_warning_days",
        INTEGER,
        "EXPIRY_WARNING_DAYS",
        _l("Expiry warning (days)"),
        _l("Volunteers see the points that expire within this many days; 0 shows no warning."),
        minimum=0,
        maximum=366,
    ),
    Setting(
        "honor_roll_names",
        CHOICE,
        "HONOR_ROLL_NAMES",
        _l("Names on honor rolls"),
        _l("How a new honor roll shows names, unless the administrator computing it chooses otherwise."),
        choices=(("masked", _l("Masked (Zhang *)")), ("full", _l("Full names"))),
    ),
)
BY_KEY = {item.key: item for item in SETTINGS}


@dataclass(frozen=True)
class SettingValue:
    """What applies to a node: the value, and where it comes from (``here``, ``inherited``
    from ``source_organization``, or the configuration's ``default``)."""

    setting: Setting
    value: object
    source: str
    source_organization: Organization | None = None


def _definition(key):
    try:
        return BY_KEY[key]
    except KeyError:
        raise ValidationError(_l("Unknown setting %(key)s."), key=str(key)[:40], details={"field": "key"}) from None


def _default(item):
    value = current_app.config[item.config_key]
    return int(value) if item.kind == INTEGER else value


def _stored(text, item):
    return int(text) if item.kind == INTEGER else text


def _values_of(organization):
    """{key: (stored text, organization id)} of the nearest node up the tree that sets each key."""
    session = db.session()
    cache = session.info.setdefault(_CACHE, {})
    if organization.id not in cache:
        ancestors = organization.ancestor_ids
        rows = session.execute(
            select(OrganizationSetting.organization_id, OrganizationSetting.key, OrganizationSetting.value).where(
                OrganizationSetting.organization_id.in_(ancestors)
            )
        ).all()
        depth = {organization_id: index for index, organization_id in enumerate(ancestors)}
        nearest = {}
        for row in sorted(rows, key=lambda row: depth[row.organization_id]):
            nearest[row.key] = (row.value, row.organization_id)  # deeper nodes come later and win
        cache[organization.id] = nearest
    return cache[organization.id]


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_settings(session):
    session.info.pop(_CACHE, None)


def setting(organization, key):
    """The value of setting ``key`` that applies to ``organization`` (the configuration's
    default when no node up the tree sets it, or when ``organization`` is None)."""
    item = BY_KEY[key]
    if organization is None:
        return _default(item)
    if item.kind == TIMEZONE:
        return organization.timezone
    found = _values_of(organization).get(key)
    return _default(item) if found is None else _stored(found[0], item)


def largest_value(key):
    """The largest value an integer setting can take anywhere: a bound for queries that
    must reach every record however its organization is set."""
    item = BY_KEY[key]
    return max(item.maximum, _default(item))


def effective_settings(organization) -> list[SettingValue]:
    """Every setting of ``organization`` with its value and where that comes from."""
    values = _values_of(organization)
    nodes = {}
    ids = {organization_id for _text, organization_id in values.values() if organization_id != organization.id}
    if ids:
        nodes = {
            node.id: node for node in db.session.execute(select(Organization).where(Organization.id.in_(ids))).scalars()
        }
    result = []
    for item in SETTINGS:
        if item.kind == TIMEZONE:
            result.append(SettingValue(item, organization.timezone, HERE, organization))
            continue
        found = values.get(item.key)
        if found is None:
            result.append(SettingValue(item, _default(item), DEFAULT))
        elif found[1] == organization.id:
            result.append(SettingValue(item, _stored(found[0], item), HERE, organization))
        else:
            result.append(SettingValue(item, _stored(found[0], item), INHERITED, nodes.get(found[1])))
    return result


def _checked(item, value):
    """``value`` (as typed, or a Python value) as the setting's stored text; refuses it with
    the setting named when it is out of bounds or not one of the choices."""
    if item.kind == INTEGER:
        text = normalise_typed(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
        if not text.isdigit() or len(text) > 9 or not item.minimum <= int(text) <= item.maximum:
            raise ValidationError(
                _l("%(setting)s must be a whole number from %(minimum)s to %(maximum)s."),
                setting=item.label,
                minimum=item.minimum,
                maximum=item.maximum,
                details={"field": item.key},
            )
        return str(int(text))
    if value not in dict(item.choices):
        raise ValidationError(
            _l("%(setting)s must be one of: %(choices)s."),
            setting=item.label,
            choices=list_text((label for _value, label in item.choices), style="or"),
            details={"field": item.key},
        )
    return value


def _lock_row(organization, key):
    return lock_one(
        OrganizationSetting, OrganizationSetting.organization_id == organization.id, OrganizationSetting.key == key
    )


def set_setting(actor, organization, key, value):
    """Set ``key`` on ``organization`` (for its subtree, unless a node below sets its own).
    Needs ``rules.manage`` on the node; the value is checked against the setting's type
    and bounds; audited with before and after. Returns the value now set."""
    item = _definition(key)
    if actor is not None:
        authz.require(actor, PERMISSION, organization)
    if item.kind == TIMEZONE:
        return set_organization_timezone(actor, organization, value).timezone
    text = _checked(item, value)
    with write_transaction() as session:
        row = _lock_row(organization, key)
        before = None if row is None else row.value
        if before == text:
            return _stored(text, item)
        actor_id = getattr(actor, "id", None)
        if row is None:
            row = OrganizationSetting(organization_id=organization.id, key=key, value=text)
            session.add(row)
        row.value, row.updated_by_id, row.updated_at = text, actor_id, utcnow()
        session.flush()
        record_audit(
            actor,
            "organization.setting",
            "organization_setting",
            row.id,
            organization_id=organization.id,
            before={key: before},
            after={key: text},
        )
        session.info.pop(_CACHE, None)
    return _stored(text, item)


def clear_setting(actor, organization, key):
    """Let ``organization`` inherit ``key`` again (from the nearest ancestor that sets it, or
    the configuration). Audited; False when it was not set here."""
    item = _definition(key)
    if actor is not None:
        authz.require(actor, PERMISSION, organization)
    if item.kind == TIMEZONE:
        raise ValidationError(
            _l("Every organization keeps its own time zone; choose one instead."), details={"field": key}
        )
    with write_transaction() as session:
        row = _lock_row(organization, key)
        if row is None:
            return False
        record_audit(
            actor,
            "organization.setting",
            "organization_setting",
            row.id,
            organization_id=organization.id,
            before={key: row.value},
            after={key: None},
        )
        session.delete(row)
        session.info.pop(_CACHE, None)
    return True
