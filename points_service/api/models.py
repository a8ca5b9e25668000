"""Models of the API face: stored idempotent responses (API tokens are accounts').

An ``IdempotentRequest`` is the first response to a request that carried an
``Idempotency-Key``. The row is written (without a response) before the request runs,
so the unique (principal, key) constraint lets exactly one request do the work; the
others wait for the stored response and replay it.
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow


class IdempotentRequest(db.Model):
    __tablename__ = "idempotent_requests"
    __table_args__ = (
        UniqueConstraint("principal", "key"),
        CheckConstraint("status_code IS NULL OR (status_code >= 200 AND status_code < 500)", name="status_stored"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    principal: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(128))
    method_path: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str] = mapped_column(String(32))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(index=True)

    def __repr__(self):
        return f"<IdempotentRequest {self.id} {self.method_path} {self.status_code}>"
