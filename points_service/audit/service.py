"""Writing audit events. Called by domain services inside their unit of work, so an
event exists exactly when the change it describes was committed.

A command run at the shell has no user: ``command_line_operator`` names who ran it
(``cli:NAME``) for every event written inside it with no user as actor.
"""

import unicodedata
from contextlib import contextmanager
from contextvars import ContextVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..errors import ValidationError
from ..extensions import db
from .models import AuditEvent

_operator_label = ContextVar("audit_operator_label", default=None)


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
    event = AuditEvent(
        actor_id=getattr(actor, "id", actor),
        actor_label=_operator_label.get() if actor is None else getattr(actor, "audit_label", None),
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        organization_id=organization_id,
        before=before,
        after=after,
    )
    db.session.add(event)
    return event


def list_audit_events(action=None, limit=100):
    statement = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        statement = statement.where(AuditEvent.action == action)
    return db.session.execute(statement).scalars().all()
