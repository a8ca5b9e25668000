from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..database import refuse_history_changes
from ..extensions import db
from ..timeutil import utcnow


class AuditEvent(db.Model):
    """One staff or admin write. ``before``/``after`` hold masked or non-personal values.

    ``actor_id`` is the user who acted; ``actor_label`` says more where a user id alone
    would not: ``cli:NAME`` for a command run at the shell (no user), or
    ``service account X, created by Y`` for an integration's token.

    ``request_id`` ties the event to the web or API request that wrote it (the
    ``X-Request-Id`` of its response); ``source`` says where the write came from:
    ``web``, ``api`` or ``cli`` (None for events written before these were kept).
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_target", "target_type", "target_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_label: Mapped[str | None] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(64))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    request_id: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(8))

    def __repr__(self):
        return f"<AuditEvent {self.id} {self.action}>"


# An audit event, once written, is never changed or removed, not even by the app itself.
refuse_history_changes(AuditEvent.__table__, "audit events")
