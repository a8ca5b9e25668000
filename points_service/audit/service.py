"""Writing audit events. Called by domain services inside their unit of work, so an
event exists exactly when the change it describes was committed."""

from sqlalchemy import select

from ..extensions import db
from .models import AuditEvent


def record_audit(actor, action, target_type, target_id=None, organization_id=None, before=None, after=None):
    event = AuditEvent(
        actor_id=getattr(actor, "id", actor),
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
