"""An audit event, once written, stays as it was: the database refuses to change it."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from points_service.audit.models import AuditEvent
from points_service.audit.service import list_audit_events
from points_service.extensions import db
from tests.conftest import ON_POSTGRESQL


@pytest.fixture
def event(build):
    build.staff("organizer")  # granting the role writes an audit event
    [event] = list_audit_events(action="role.grant")
    return event


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET actor_id = NULL WHERE id = :id",
        "UPDATE audit_events SET action = 'nothing.happened' WHERE id = :id",
        "DELETE FROM audit_events WHERE id = :id",
        "DELETE FROM audit_events",
    ]
    + (["TRUNCATE audit_events"] if ON_POSTGRESQL else []),
)
def test_an_audit_event_can_be_neither_changed_nor_removed(event, statement):
    with pytest.raises(DBAPIError, match="audit events are append-only"):
        db.session.execute(text(statement), {"id": event.id})
        db.session.flush()
    db.session.rollback()
    assert db.session.get(AuditEvent, event.id).action == "role.grant"
