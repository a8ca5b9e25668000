"""Users, role memberships and volunteer profiles.

A role membership grants a role on an organization node and its whole subtree.
Contact data (mobile number) is personal data: staff views show it masked, and it
never appears in URLs or logs.
"""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..organizations.models import Organization
from ..timeutil import utcnow

ROLES = ("volunteer", "organizer", "counter", "admin")


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    mobile: Mapped[str | None] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(10))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    session_token: Mapped[str] = mapped_column(String(64), default="")
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list["RoleMembership"]] = relationship(
        back_populates="user",
        cascade="all, delete-orphan",
        lazy="selectin",
        foreign_keys="RoleMembership.user_id",
    )
    volunteer: Mapped["VolunteerProfile | None"] = relationship(back_populates="user", uselist=False)

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        # The session token rotates on every login and password change, which
        # ends every other session of this user.
        return f"{self.id}:{self.session_token}"

    def __repr__(self):
        return f"<User {self.id}>"


class RoleMembership(db.Model):
    __tablename__ = "role_memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "organization_id", "role"),
        CheckConstraint("role IN ('volunteer', 'organizer', 'counter', 'admin')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships", foreign_keys=[user_id])
    organization: Mapped[Organization] = relationship(lazy="joined")

    def __repr__(self):
        return f"<RoleMembership user={self.user_id} {self.role}@{self.organization_id}>"


class VolunteerProfile(db.Model):
    __tablename__ = "volunteer_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    member_no: Mapped[str] = mapped_column(String(12), unique=True)
    home_organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    consent_version: Mapped[str] = mapped_column(String(20))
    consent_at: Mapped[datetime]
    public_listing_opt_out: Mapped[bool] = mapped_column(default=False)
    verified_minutes: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="volunteer", lazy="joined")
    home_organization: Mapped[Organization] = relationship(lazy="joined")

    __table_args__ = (CheckConstraint("verified_minutes >= 0", name="verified_minutes_not_negative"),)

    def __repr__(self):
        return f"<VolunteerProfile {self.id}>"
