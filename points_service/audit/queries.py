"""Reading the audit log for the administrator's desk: filtered, scoped, newest first.

An administrator reads the events of their organization subtree (``audit.view``). An
event with no organization (creating a user, issuing a token at the command line) is
global: only administrators holding ``audit.view`` on a top node of the tree (a city,
which has no parent) read those. Pages are keyed by event id (``before_id``), never by
offset, so a page costs the same on the first day and after ten million events.

Filters arrive as text from a form; ``parse_filters`` checks each one and names the
field it refuses. Exporting the log is itself an audited write (``record_export``).
"""

import re
from dataclasses import asdict, dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import false, or_, select

from .. import authz
from ..accounts.models import User
from ..database import write_transaction
from ..errors import PermissionDenied, ValidationError
from ..extensions import db
from ..inputs import EARLIEST_TIME, LATEST_TIME, MAX_ID
from ..organizations.models import Organization
from ..timeutil import local_midnight_utc
from .models import AuditEvent
from .service import record_audit

PAGE_SIZE = 50
_CODE_RE = re.compile(r"^[a-z][a-z_.]{0,63}$")
_TARGET_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_ACTOR_RE = re.compile(r"^[^\x00-\x1f\x7f]{1,120}$")


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    target_type: str = ""
    target_id: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def as_query(self):
        """The filters as query-string values (for links to the next page and the export)."""
        values = asdict(self)
        return {
            name: value.isoformat() if isinstance(value, date) else value for name, value in values.items() if value
        }


def _refuse(message, field, **params):
    raise ValidationError(message, details={"field": field}, **params)


def _date(text, field):
    text = (text or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        _refuse(_l("Enter a date as YYYY-MM-DD."), field)
    if not EARLIEST_TIME.date() <= day < LATEST_TIME.date():
        _refuse(_l("Enter a date between 2000 and 2099."), field)
    return day


def parse_filters(values):
    """``AuditFilters`` from form or query values; a value that cannot be right is refused, naming its field."""
    actor = (values.get("actor") or "").strip()
    if actor and not _ACTOR_RE.match(actor):
        _refuse(_l("Enter a user name of at most 120 characters."), "actor")
    action = (values.get("action") or "").strip()
    if action and not _CODE_RE.match(action):
        _refuse(_l("Choose an action from the list."), "action")
    target_type = (values.get("target_type") or "").strip()
    if target_type and not _CODE_RE.match(target_type):
        _refuse(_l("Choose an object type from the list."), "target_type")
    target_id = (values.get("target_id") or "").strip()
    if target_id and not _TARGET_ID_RE.match(target_id):
        _refuse(_l("An object number has 1 to 64 letters or digits."), "target_id")
    if target_id and not target_type:
        _refuse(_l("Choose the object type for this number."), "target_type")
    date_from = _date(values.get("date_from"), "date_from")
    date_to = _date(values.get("date_to"), "date_to")
    if date_from and date_to and date_from > date_to:
        _refuse(_l("The end date is before the start date."), "date_to")
    return AuditFilters(actor, action, target_type, target_id, date_from, date_to)


def parse_before_id(text):
    """The keyset cursor: the id below which the next page starts, or None for the newest."""
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        _refuse(_l("That page link is not valid; start again from the newest events."), "before")
    return int(text)


def reader_timezone(reader):
    """The time zone the reader's events are shown in: that of the top node of their scope."""
    roots = authz.scope_roots(reader, "audit.view")
    return roots[0].timezone if roots else "Asia/Shanghai"


def reads_global_events(reader):
    """True when ``reader`` may read events that belong to no organization."""
    return any(root.parent_id is None for root in authz.scope_roots(reader, "audit.view"))


def _scoped(reader, statement):
    if not authz.can(reader, "audit.view", None):
        raise PermissionDenied()
    in_subtree = AuditEvent.organization_id.in_(
        select(Organization.id).where(authz.scope_filter(reader, "audit.view", Organization.path))
    )
    global_events = AuditEvent.organization_id.is_(None) if reads_global_events(reader) else false()
    return statement.where(or_(in_subtree, global_events))


def _filtered(statement, filters, timezone):
    if filters.actor:
        statement = statement.outerjoin(User, User.id == AuditEvent.actor_id).where(
            or_(
                User.username == filters.actor,
                AuditEvent.actor_label == filters.actor,
                AuditEvent.actor_label == f"cli:{filters.actor}",
            )
        )
    if filters.action:
        statement = statement.where(AuditEvent.action == filters.action)
    if filters.target_type:
        statement = statement.where(AuditEvent.target_type == filters.target_type)
    if filters.target_id:
        statement = statement.where(AuditEvent.target_id == filters.target_id)
    if filters.date_from:
        statement = statement.where(AuditEvent.created_at >= local_midnight_utc(filters.date_from, timezone))
    if filters.date_to:
        end = filters.date_to + timedelta(days=1)
        statement = statement.where(AuditEvent.created_at < local_midnight_utc(end, timezone))
    return statement


def find_events(reader, filters, *, before_id=None, limit=None):
    """One page of events the reader may see, newest first: ``(events, next_before_id or None)``."""
    limit = max(1, min(int(PAGE_SIZE if limit is None else limit), 200))
    statement = _filtered(_scoped(reader, select(AuditEvent)), filters, reader_timezone(reader))
    if before_id is not None:
        statement = statement.where(AuditEvent.id < before_id)
    events = db.session.execute(statement.order_by(AuditEvent.id.desc()).limit(limit + 1)).scalars().all()
    if len(events) > limit:
        return events[:limit], events[limit - 1].id
    return events, None


def iter_events(reader, filters, *, batch=500):
    """Every event matching ``filters`` in the reader's scope, newest first, read in keyset batches."""
    before_id = None
    while True:
        events, before_id = find_events(reader, filters, before_id=before_id, limit=batch)
        yield from events
        if before_id is None:
            return


def actor_names(event_list):
    """{user id: user name} of the users who acted in ``event_list`` (staff log in by user name)."""
    ids = {event.actor_id for event in event_list if event.actor_id is not None}
    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.username, User.name).where(User.id.in_(ids))).all()
    return {user_id: (username, name) for user_id, username, name in rows}


def record_export(reader, filters, fmt, *, unmasked):
    """Write the audit event saying that ``reader`` exported the log (filters, format, masked or not)."""
    if not authz.can(reader, "audit.view", None):
        raise PermissionDenied()
    roots = authz.scope_roots(reader, "audit.view")
    with write_transaction():
        record_audit(
            reader,
            "audit.export_unmasked" if unmasked else "audit.export",
            "audit_log",
            None,
            organization_id=roots[0].id if len(roots) == 1 else None,
            after={"format": fmt, "unmasked": bool(unmasked), "filters": filters.as_query()},
        )
