"""Users, role memberships, volunteer profiles, API tokens and login counters.

A role membership grants a role on an organization node and its whole subtree.
Contact data (mobile number) is personal data: staff views show it masked, and it
never appears in URLs or logs.

A user is a person, or a *service account*: a named integration (a counter terminal,
a city system) that an administrator created and answers for. A service account never
logs in with a password; it acts only through API tokens, and every audit row it
writes names it and its creator.

An ``ApiToken`` lets a counter or an integration call the API as one user, limited to
one role and one organization subtree (either may be left open, which means "as the
user"). It acts as the person who issued it for themselves, or as a service account.
Only the SHA-256 of the token is stored; the token itself is shown once.

A ``LoginThrottle`` row counts failed logins for one account or one source address,
in the database so that every app process sees the same count (``throttle``).
"""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, false
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
    is_service_account: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    session_token: Mapped[str] = mapped_column(String(64), default="")
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the person deleted their account: personal data is gone, the ledger stays.
    deleted_at: Mapped[datetime | None]

    memberships: Mapped[list["RoleMembership"]] = relationship(
        back_populates="user",
        cascade="all, delete-orphan",
        lazy="selectin",
        foreign_keys="RoleMembership.user_id",
    )
    volunteer: Mapped["VolunteerProfile | None"] = relationship(back_populates="user", uselist=False)
    created_by: Mapped["User | None"] = relationship(remote_side=[id], foreign_keys=[created_by_id])

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        # The session token rotates on every login and password change, which
        # ends every other session of this user.
        return f"{self.id}:{self.session_token}"

    @property
    def audit_label(self):
        """How the audit log names this actor beyond its id: a service account says so."""
        if not self.is_service_account:
            return None
        creator = self.created_by.username or f"user {self.created_by_id}"
        return f"service account {self.username}, created by {creator}"

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
    # A duplicate merged into another profile (``people.merge``): its member number
    # resolves to that one. Always a profile that is not merged itself.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("volunteer_profiles.id"), index=True)
    merged_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="volunteer", lazy="joined")
    home_organization: Mapped[Organization] = relationship(lazy="joined")

    __table_args__ = (CheckConstraint("verified_minutes >= 0", name="verified_minutes_not_negative"),)

    def __repr__(self):
        return f"<VolunteerProfile {self.id}>"


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

    def __repr__(self):
        return f"<ApiToken {self.id} {self.prefix}>"


class LoginThrottle(db.Model):
    """Failed logins counted for one key: an account, a source address, or the pair.

    ``key`` is a keyed hash, so the table holds no login name or address in clear.
    ``succeeded_at`` (pair rows only) marks a source the account's owner logged in from.
    """

    __tablename__ = "login_throttles"
    __table_args__ = (CheckConstraint("failures >= 0", name="failures_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    failures: Mapped[int] = mapped_column(default=0)
    blocked_until: Mapped[datetime | None]
    counted_at: Mapped[datetime | None] = mapped_column(index=True)
    succeeded_at: Mapped[datetime | None]

    def __repr__(self):
        return f"<LoginThrottle {self.id} failures={self.failures}>"


class MemberCredential(db.Model):
    """What lets a volunteer spend points at a counter, beside the printed member number.

    - ``code_nonce``: the per-member part of the rotating code's secret. The secret itself
      is derived from it and the application's secret key, so a copy of the database
      alone cannot make codes. A new nonce ends every code made before it.
    - ``pin_hash``: the Argon2 hash of the PIN the volunteer chose, if any.
    - Wrong codes and PINs are counted; too many lock spending for a while.
    """

    __tablename__ = "member_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteer_profiles.id"), unique=True)
    code_nonce: Mapped[str] = mapped_column(String(32))
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    pin_set_at: Mapped[datetime | None]
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self):
        return f"<MemberCredential volunteer={self.volunteer_id}>"
