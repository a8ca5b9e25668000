"""API tokens: issue, authenticate, list, revoke.

A token is ``vpt_`` and 43 URL-safe characters from ``secrets`` (256 bits). Only its
SHA-256 is stored, so a copy of the database cannot be used to call the API; the token
itself is shown once, when it is issued. A token acts as its user, narrowed to its role
and organization subtree (``TokenScope``): it never grants more than the user holds,
and a role the user loses is lost by the token at once.

Whom a token acts as: the person who issued it for themselves, or a service account
(issued by an administrator who manages it, or at the command line). Nobody issues a
token that acts as another person, so an action is never recorded as someone's who did
not take it; a service account's actions name it and its creator in the audit log.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import aliased, joinedload

from .. import authz
from ..audit.service import record_audit
from ..database import prepared, write_transaction
from ..errors import NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..organizations.models import Organization
from ..timeutil import utcnow
from .models import ROLES, ApiToken, User

# The public marker every token starts with, not a secret (hence noqa/nosec).
TOKEN_PREFIX = "vpt_"  # noqa: S105  # nosec B105
_TOKEN_BYTES = 32
_TOKEN_LENGTH = len(TOKEN_PREFIX) + 43
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class ScopedMembership:
    """A role membership as a token sees it: the token's node when that lies deeper."""

    user_id: int
    role: str
    organization: Organization

    @property
    def organization_id(self):
        return self.organization.id


class TokenScope:
    """What a token may do: the user's memberships within one role and one subtree."""

    def __init__(self, role=None, organization=None):
        self.role = role
        self.organization = organization

    def narrow(self, memberships):
        narrowed = []
        for membership in memberships:
            if self.role is not None and membership.role != self.role:
                continue
            if self.organization is None or self.organization.contains(membership.organization):
                narrowed.append(membership)
            elif membership.organization.contains(self.organization):
                narrowed.append(ScopedMembership(membership.user_id, membership.role, self.organization))
        return narrowed


def hash_token(token):
    return hashlib.sha256(token.encode()).hexdigest()


def _check_days(days):
    maximum = current_app.config["API_TOKEN_MAX_DAYS"]
    if days is None:
        return current_app.config["API_TOKEN_DEFAULT_DAYS"]
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= maximum:
        raise ValidationError(
            _l("A token is valid for 1 to %(maximum)s days."), maximum=maximum, details={"field": "days"}
        )
    return days


def _check_name(name):
    text = name.strip() if isinstance(name, str) else ""
    if not 1 <= len(text) <= 80:
        raise ValidationError(_l("Give the token a name of 1 to 80 characters."), details={"field": "name"})
    return text


def _nodes_of(user, role, organization):
    """The organization nodes a token for ``user`` with this scope would act on."""
    memberships = TokenScope(role, organization).narrow(user.memberships)
    return [m.organization for m in memberships]


def _within_own_scope(actor, role, organization):
    """True when a token for ``actor`` with this scope grants nothing the caller lacks now.

    A request made with a token sees only that token's scope, so a token never issues
    a wider one for its user."""
    held = authz.effective_memberships(actor)
    return all(
        any(mine.role == wanted.role and mine.organization.contains(wanted.organization) for mine in held)
        for wanted in TokenScope(role, organization).narrow(actor.memberships)
    )


def token_holder(login, actor):
    """The user a token that ``actor`` issues may act as, named by ``login``.

    ``actor`` themselves (by user name or mobile number), or a service account (by user
    name). Any other name gets one answer, so nobody learns whether a person exists.
    """
    login = login.strip() if isinstance(login, str) else ""
    if login and login in (actor.username, actor.mobile):
        return actor
    account = db.session.execute(
        select(User).where(User.username == login, User.is_service_account.is_(True))
    ).scalar_one_or_none()
    if account is None:
        raise NotFound(
            _l("A token acts as yourself or as a service account; no service account has that name."),
            details={"field": "user"},
        )
    return account


def issue_api_token(user, *, name, role=None, organization=None, days=None, actor=None, now=None):
    """Create a token for ``user``; returns ``(token_row, plaintext)``. The plaintext is not kept.

    ``actor`` issues it: for themselves, or for a service account wherever ``actor``
    holds ``token.manage``. ``actor`` None is the command line (the audit row names
    who ran it), which issues tokens for service accounts only.
    """
    now = now or utcnow()
    name = _check_name(name)
    days = _check_days(days)
    if role is not None and role not in ROLES:
        raise ValidationError(
            _l("Unknown role %(role)s; use one of volunteer, organizer, counter, admin."),
            role=role,
            details={"field": "role"},
        )
    if user is None or not user.active:
        raise NotFound(_l("No active user has that name."))
    for_themselves = actor is not None and actor.id == user.id
    if not (for_themselves or user.is_service_account):
        raise PermissionDenied(
            _l("A token acts only as the person who issues it, or as a service account."),
            details={"field": "user"},
        )
    nodes = _nodes_of(user, role, organization)
    if not nodes:
        raise ValidationError(
            _l("That user holds no such role in that organization; grant the role first."),
            details={"field": "role"},
        )
    if for_themselves and not _within_own_scope(actor, role, organization):
        raise PermissionDenied()
    if not for_themselves and actor is not None and not all(authz.can(actor, "token.manage", node) for node in nodes):
        raise PermissionDenied()
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(_TOKEN_BYTES)
    with write_transaction() as session:
        token = ApiToken(
            user_id=user.id,
            name=name,
            token_hash=hash_token(plaintext),
            prefix=plaintext[: len(TOKEN_PREFIX) + 6],
            role=role,
            organization_id=organization.id if organization is not None else None,
            created_by_id=getattr(actor, "id", None),
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
        session.add(token)
        session.flush()
        record_audit(
            actor,
            "token.create",
            "api_token",
            token.id,
            organization_id=token.organization_id,
            after={"user_id": user.id, "role": role, "name": name, "expires_at": token.expires_at.isoformat()},
        )
    return token, plaintext


@dataclass(frozen=True)
class AuthenticatedToken:
    """A usable token as the request it authenticates sees it: plain values, and the user
    it acts as (the session's, with their role memberships and their nodes)."""

    id: int
    user: User
    user_id: int
    created_by_id: int | None
    role: str | None
    organization: Organization | None
    expires_at: datetime


_TOKEN_AND_HOLDER = {}
_TOKEN_ORGANIZATION = aliased(Organization, name="token_organization")


def _token_and_holder_statement():
    # The holder's roles come in the same query: every API request needs them.
    return (
        select(
            ApiToken.id,
            ApiToken.token_hash,
            ApiToken.created_by_id,
            ApiToken.role,
            ApiToken.expires_at,
            ApiToken.revoked_at,
            ApiToken.last_used_at,
            User,
            _TOKEN_ORGANIZATION,
        )
        .join(User, User.id == ApiToken.user_id)
        .outerjoin(_TOKEN_ORGANIZATION, _TOKEN_ORGANIZATION.id == ApiToken.organization_id)
        .where(ApiToken.token_hash == bindparam("digest"))
        .options(joinedload(User.memberships))
    )


def _usable(found, now):
    """Not revoked, not expired, its user active, and acting for its issuer: a service
    account's token, or one a person issued for themselves. Tokens issued before that
    rule (an administrator's token acting as someone else, or a command-line token for a
    person) fail this and no longer work."""
    user = found.User
    return (
        found.revoked_at is None
        and found.expires_at > now
        and user.active
        and (user.is_service_account or found.created_by_id == user.id)
    )


def authenticate_token(plaintext, now=None):
    """The usable token matching ``plaintext`` (an ``AuthenticatedToken``), or None.
    Records when it was last used.

    One query, built once (``database.prepared``), reads the token's values as a plain
    row along with its user and their role memberships."""
    now = now or utcnow()
    if not isinstance(plaintext, str) or len(plaintext) != _TOKEN_LENGTH or not plaintext.startswith(TOKEN_PREFIX):
        return None
    digest = hash_token(plaintext)
    statement = prepared(_TOKEN_AND_HOLDER, _token_and_holder_statement)
    found = db.session.execute(statement, {"digest": digest}).unique().one_or_none()
    if found is None or not hmac.compare_digest(found.token_hash, digest) or not _usable(found, now):
        return None
    token = AuthenticatedToken(
        id=found.id,
        user=found.User,
        user_id=found.User.id,
        created_by_id=found.created_by_id,
        role=found.role,
        organization=found.token_organization,
        expires_at=found.expires_at,
    )
    if found.last_used_at is None or found.last_used_at < now - LAST_USED_RESOLUTION:
        with write_transaction(bookkeeping=True) as session:
            session.execute(
                update(ApiToken)
                .where(
                    ApiToken.id == token.id,
                    or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - LAST_USED_RESOLUTION),
                )
                .values(last_used_at=now)
            )
    return token


def _manageable(actor, token):
    nodes = [token.organization] if token.organization is not None else _nodes_of(token.user, token.role, None)
    return bool(nodes) and all(authz.can(actor, "token.manage", node) for node in nodes)


def list_api_tokens(actor, include_revoked=False):
    """The tokens ``actor`` may manage, newest first."""
    if not authz.can(actor, "token.manage", None):
        raise PermissionDenied()
    statement = (
        select(ApiToken)
        .outerjoin(Organization, Organization.id == ApiToken.organization_id)
        .where(or_(ApiToken.organization_id.is_(None), authz.scope_filter(actor, "token.manage", Organization.path)))
        .order_by(ApiToken.id.desc())
    )
    if not include_revoked:
        statement = statement.where(ApiToken.revoked_at.is_(None))
    return [token for token in db.session.execute(statement).scalars() if _manageable(actor, token)]


def get_api_token(token_id, actor):
    """A token ``actor`` may revoke: their own, or one they manage."""
    token = db.session.get(ApiToken, token_id) if isinstance(token_id, int) else None
    if token is None or not (token.user_id == actor.id or _manageable(actor, token)):
        raise NotFound(_l("That API token does not exist."))
    return token


def revoke_api_token(token_id, actor, now=None):
    """Revoke a token at once; revoking a revoked token changes nothing."""
    now = now or utcnow()
    token = get_api_token(token_id, actor)
    if token.revoked_at is not None:
        return token
    with write_transaction():
        token = db.session.get(ApiToken, token.id)
        token.revoked_at = now
        token.revoked_by_id = getattr(actor, "id", None)
        record_audit(
            actor,
            "token.revoke",
            "api_token",
            token.id,
            organization_id=token.organization_id,
            before={"revoked_at": None},
            after={"revoked_at": now.isoformat()},
        )
    return token
