"""Models of the API face: tokens and stored idempotent responses.

An ``ApiToken`` lets a counter or an integration call the API as one user, limited to
one role and one organization subtree (either may be left open, which means "as the
user"). Only the SHA-256 of the token is stored; the token itself is shown once.

An ``IdempotentRequest`` is the first response to a request that carried an
``Idempotency-Key``. The row is written (without a response) before the request runs,
so the unique (principal, key) constraint lets exactly one request do the work; the
others wait for the stored response and replay it.
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..extensions import db
from ..organizations.models import Organization
from ..timeutil import utcnow


class ApiToken(db.Model):
    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint("role IS NULL OR role IN ('volunteer', 'organizer', 'counter', 'admin')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    role: Mapped[str | None] = mapped_column(String(16))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    organization: Mapped[Organization | None] = relationship(lazy="joined")

    def is_usable(self, now):
        return self.revoked_at is None and self.expires_at > now

    def __repr__(self):
        return f"<ApiToken {self.id} {self.prefix}>"


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
