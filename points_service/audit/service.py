"""Writing audit events. Called by domain services inside their unit of work, so an
event exists exactly when the change it describes was committed.

A command run at the shell has no user: ``command_line_operator`` names who ran it
(``cli:NAME``) for every event written inside it with no user as actor.

Every event also says where it came from: the face that handles a request or runs a
command declares it once (``request_origin``: a request id and ``web``, ``api`` or
``cli``), and ``record_audit`` copies it onto each event written meanwhile. Services
never pass it along: they know nothing of requests.
"""

import re
import unicodedata
import uuid
from contextlib import contextmanager
from contextvars import ContextVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..errors import ValidationError
from ..extensions import db
from .models import AuditEvent

_operator_label = ContextVar("audit_operator_label", default=None)
_origin = ContextVar("audit_request_origin", default=None)

SOURCES = ("web", "api", "cli")
# A request id from outside (a proxy's X-Request-Id) is kept only when it looks like one.
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def request_id_from(candidate):
    """``candidate`` when it is a plausible request id (8 to 64 of ``A-Z a-z 0-9 . _ : -``), else a new one."""
    if isinstance(candidate, str) and _REQUEST_ID_RE.match(candidate):
        return candidate
    return uuid.uuid4().hex


def begin_request_origin(request_id, source):
    """From now on (in this context) events come from ``source`` in request ``request_id``."""
    if source not in SOURCES:
        raise ValueError(f"unknown audit source {source!r}")
    _origin.set((request_id_from(request_id), source))


def end_request_origin():
    _origin.set(None)


def current_request_id():
    origin = _origin.get()
    return origin[0] if origin else None


@contextmanager
def request_origin(request_id, source):
    """Inside this block, events are written with ``request_id`` and ``source``."""
    previous = _origin.get()
    begin_request_origin(request_id, source)
    try:
        yield
    finally:
        _origin.set(previous)


def command_line_label(name):
    """``cli:NAME`` for the person running a command; NAME is checked (1 to 64 printable characters)."""
    text = unicodedata.normalize("NFKC", name).strip() if isinstance(name, str) else ""
    if not 1 <= len(text) <= 64 or not text.isprintable():
        raise ValidationError(
            _l("Name who runs the command with 1 to 64 printable characters."), details={"field": "actor"}
        )
    return f"cli:{text}"


@contextmanager
def command_line_operator(label):
    """Inside this block, events written without a user actor are labelled ``label``."""
    token = _operator_label.set(label)
    try:
        yield
    finally:
        _operator_label.reset(token)


def record_audit(actor, action, target_type, target_id=None, organization_id=None, before=None, after=None):
    request_id, source = _origin.get() or (None, "cli" if _operator_label.get() is not None else None)
    event = AuditEvent(
        actor_id=getattr(actor, "id", actor),
        actor_label=_operator_label.get() if actor is None else getattr(actor, "audit_label", None),
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        organization_id=organization_id,
        before=before,
        after=after,
        request_id=request_id,
        source=source,
    )
    db.session.add(event)
    return event


def list_audit_events(action=None, limit=100):
    statement = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        statement = statement.where(AuditEvent.action == action)
    return db.session.execute(statement).scalars().all()
