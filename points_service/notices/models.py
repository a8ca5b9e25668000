from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..timeutil import utcnow


class Notice(db.Model):
    """A message for one person: what happened (``kind``) and its facts (``params``).

    The words are not stored: the page says them in the reader's language from the kind
    and the facts, so a notice reads right after the reader switches language. A notice
    that a job leaves has a ``key`` naming what it tells about, unique, so the job never
    leaves it twice.
    """

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_user_id_read_at", "user_id", "read_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON)
    key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    def __repr__(self):
        return f"<Notice {self.id} {self.kind} user={self.user_id}>"
