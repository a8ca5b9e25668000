"""Organization nodes and their settings. ``path`` is a materialised path (``/1/4/9/``)
so that a subtree is one indexed prefix query and "is X inside Y" is a string test."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..timeutil import utcnow

ORGANIZATION_KINDS = ("city", "district", "street", "community")


class Organization(db.Model):
    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint("kind IN ('city', 'district', 'street', 'community')", name="kind_known"),
        Index("ix_organizations_path", "path"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    path: Mapped[str] = mapped_column(String(255), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped["Organization | None"] = relationship(remote_side=[id])

    def contains(self, other):
        """True when ``other`` is this node or lies in its subtree."""
        return other is not None and other.path.startswith(self.path)

    @property
    def ancestor_ids(self):
        return [int(part) for part in self.path.strip("/").split("/") if part]

    def __repr__(self):
        return f"<Organization {self.id} {self.kind} {self.name!r}>"


class OrganizationSetting(db.Model):
    """One setting an administrator set on a node; it applies to the node's subtree unless a
    node below sets its own (see ``settings``). The value is stored as text and read by the
    setting's type; a setting no node sets falls back to the application configuration."""

    __tablename__ = "organization_settings"
    __table_args__ = (UniqueConstraint("organization_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(64))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self):
        return f"<OrganizationSetting {self.organization_id} {self.key}={self.value!r}>"
