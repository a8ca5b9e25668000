"""Change requests: a change that needs a second person before it is applied.

A request names its kind (``rule_set.publish``, ``role.grant``, ``points.adjust`` ...),
the organization whose subtree it belongs to, its target, the payload the owning domain
will apply and the diff shown to the reviewer. It moves ``pending -> approved |
rejected | withdrawn`` exactly once; approval applies the payload in the same
transaction. The row is never deleted: it is the history of who asked and who agreed.
"""

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..database import one_of
from ..extensions import db
from ..organizations.models import Organization
from ..timeutil import utcnow

REQUEST_STATUSES = ("pending", "approved", "rejected", "withdrawn")
MAX_DECISION_REASON = 500


class ChangeRequest(db.Model):
    __tablename__ = "change_requests"
    __table_args__ = (
        CheckConstraint(one_of("status", REQUEST_STATUSES), name="status_known"),
        CheckConstraint(
            "(status = 'pending') = (decided_at IS NULL)",
            name="decided_exactly_when_not_pending",
        ),
        CheckConstraint("status <> 'approved' OR reviewer_id <> author_id", name="reviewer_is_not_author"),
        Index("ix_change_requests_status_organization", "status", "organization_id", "id"),
        # One pending request per kind and target (two admins asking at once: one wins).
        Index(
            "uq_change_requests_one_pending",
            "kind",
            "target_type",
            "target_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(64))
    # The version of the target the author saw; the owning domain refuses to apply a
    # request whose target changed since (the reviewer would approve a stale diff).
    target_version: Mapped[int | None]
    payload: Mapped[dict] = mapped_column(JSON)
    # [{"field": ..., "before": ..., "after": ...}], values already safe to show.
    diff: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(String(MAX_DECISION_REASON))
    # What applying returned (ids it created), for the request's page and the audit log.
    result: Mapped[dict | None] = mapped_column(JSON)

    organization: Mapped[Organization] = relationship(lazy="selectin")
    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="selectin")
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id], lazy="selectin")

    def __repr__(self):
        return f"<ChangeRequest {self.id} {self.kind} {self.status}>"
