"""Administrators managing people: finding users, granting and revoking staff roles,
disabling and re-enabling users. Everything here needs ``user.manage`` on the nodes it
touches; another subtree's user or role is simply not found.

- A user is within an administrator's reach when one of the user's roles lies in the
  administrator's subtree; only those roles are shown. Lists show names and mobile
  numbers masked; search text is compared, never stored or logged.
- Granting ``admin`` is a change request (kind ``role.grant_admin``) that a second
  administrator approves (``changes``); other staff roles are granted at once.
- Disabling a user ends their sessions at once (the session token rotates and the
  session loader refuses a disabled user) and stops their API tokens (a token of a
  disabled user does not authenticate). Nobody disables themselves; a user holding
  roles outside the administrator's subtree is left to an administrator who reaches
  all of them.
- The last administrator: taking the admin role from the last active administrator
  *of a node itself* (directly, not from above) needs a confirmation, because the node
  is then managed only from the levels above; taking the last one who reaches a node at
  all (only possible for oneself) is refused.
"""

import contextlib
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from .. import authz
from ..audit.service import record_audit
from ..changes import service as changes
from ..codes import is_valid_member_number, normalise_code
from ..database import lock, lock_one, write_transaction
from ..errors import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..i18n import list_text
from ..organizations.models import Organization
from ..organizations.service import organization_paths
from . import service as accounts
from .models import RoleMembership, User, VolunteerProfile

MANAGE = "user.manage"
GRANT_ADMIN_KIND = "role.grant_admin"
DESK_ROLES = authz.STAFF_ROLES
MAX_QUERY_LENGTH = 80
MAX_RESULTS = 50


class LastAdministrator(Conflict):
    """The change would leave a node with no administrator of its own; confirm to go on."""

    code = "last_administrator"


# -- finding -----------------------------------------------------------------------------------


def _reachable_user_ids(actor):
    return (
        select(RoleMembership.user_id)
        .join(Organization, Organization.id == RoleMembership.organization_id)
        .where(authz.scope_filter(actor, MANAGE, Organization.path))
    )


def search_users(actor, query):
    """Users within ``actor``'s reach matching ``query``: an exact mobile number, member
    number or user name, or the start of a name. At most ``MAX_RESULTS``, by name."""
    authz.require(actor, MANAGE)
    text = query.strip() if isinstance(query, str) else ""
    if not 1 <= len(text) <= MAX_QUERY_LENGTH:
        raise ValidationError(
            _l("Type a name, a mobile number or a member number (1 to %(n)s characters)."),
            n=MAX_QUERY_LENGTH,
            details={"field": "query"},
        )
    matches = [User.name.startswith(text, autoescape=True), User.username == text]
    with contextlib.suppress(ValidationError):  # not a mobile number: no match by mobile
        matches.append(User.mobile == accounts.normalise_mobile(text))
    code = normalise_code(text)
    if is_valid_member_number(code):
        matches.append(User.id.in_(select(VolunteerProfile.user_id).where(VolunteerProfile.member_no == code)))
    statement = (
        select(User)
        .where(User.id.in_(_reachable_user_ids(actor)), or_(*matches))
        .order_by(User.name, User.id)
        .limit(MAX_RESULTS)
    )
    return db.session.execute(statement).scalars().all()


def get_managed_user(actor, user_id):
    """A user within ``actor``'s reach; anyone else is simply not found."""
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not visible_roles(actor, user):
        raise NotFound(_l("That user does not exist."))
    return user


def visible_roles(actor, user):
    """The user's role memberships that lie in ``actor``'s subtree, by place then role."""
    return sorted(
        (m for m in user.memberships if authz.can(actor, MANAGE, m.organization)),
        key=lambda m: (m.organization.path, m.role),
    )


def _check_reaches_all(actor, user):
    if not all(authz.can(actor, MANAGE, m.organization) for m in user.memberships):
        raise PermissionDenied(
            _l(
                "This person also holds roles outside your part of the tree; only an administrator"
                " who reaches all of them can do this."
            ),
        )


# -- the last administrator --------------------------------------------------------------------


def _active_admins(organization_ids, *, other_than=None):
    statement = (
        select(func.count(RoleMembership.id))
        .join(User, User.id == RoleMembership.user_id)
        .where(
            RoleMembership.role == "admin",
            RoleMembership.organization_id.in_(organization_ids),
            User.active.is_(True),
        )
    )
    if other_than is not None:
        statement = statement.where(RoleMembership.user_id != other_than.id)
    return db.session.execute(statement).scalar_one()


def _check_last_administrator(actor, user, organizations, confirmed):
    """Refuse to leave a node nobody can manage; ask for a confirmation before leaving a
    node with no administrator of its own."""
    alone_here = []
    for organization in organizations:
        if _active_admins([organization.id], other_than=user):
            continue
        # Only an administrator taking their own role can leave a node nobody reaches: anyone
        # else doing it reaches the node themselves.
        if actor.id == user.id and not _active_admins(organization.ancestor_ids[:-1]):
            raise Conflict(
                _l("You are the last administrator who can manage %(place)s; grant the role to someone else first."),
                details={"field": "role"},
                place=organization.name,
            )
        alone_here.append(organization)
    if alone_here and not confirmed:
        raise LastAdministrator(
            _l(
                "This is the last administrator of %(places)s itself; afterwards only the administrators of the"
                " levels above can manage it. Confirm to go ahead."
            ),
            details={"field": "confirm", "organization_ids": [o.id for o in alone_here]},
            places=list_text(o.name for o in alone_here),
        )


# -- roles -------------------------------------------------------------------------------------


def _check_desk_role(role):
    if role not in DESK_ROLES:
        raise ValidationError(
            _l("Choose a staff role: organizer, counter or admin."), details={"field": "role"}, role=role
        )


@dataclass(frozen=True)
class RoleGrant:
    """What granting did: a membership at once, or a change request waiting for a second admin."""

    membership: RoleMembership | None = None
    request: object = None


def grant_staff_role(actor, user, role, organization):
    """Grant a staff role on ``organization``: at once, except ``admin``, which becomes a
    request a second administrator approves."""
    _check_desk_role(role)
    authz.require(actor, MANAGE, organization)
    if not user.active:
        raise ValidationError(_l("This user is disabled; enable them first."), details={"field": "user"})
    if role != "admin":
        return RoleGrant(membership=accounts.grant_role(user, role, organization, actor=actor))
    if any(m.role == "admin" and m.organization_id == organization.id for m in user.memberships):
        raise Conflict(_l("This user is an administrator there already."), details={"field": "role"})
    who = user.username or accounts.mask_name(user.name)
    request = changes.request_change(
        actor,
        GRANT_ADMIN_KIND,
        organization,
        target_type="role_membership",
        target_id=f"{user.id}@{organization.id}",
        payload={"user_id": user.id, "organization_id": organization.id},
        diff=[
            {"field": "user", "before": None, "after": f"#{user.id} {who}"},
            {"field": "organization", "before": None, "after": organization_paths([organization])[organization.id]},
            {"field": "role", "before": None, "after": "admin"},
        ],
    )
    return RoleGrant(request=request)


def _apply_admin_grant(reviewer, request, now):
    """Grant the admin role the request names (inside the approval's transaction)."""
    user = db.session.get(User, request.payload["user_id"])
    organization = db.session.get(Organization, request.payload["organization_id"])
    if user is None or organization is None:
        raise NotFound(_l("That user does not exist."))
    if not user.active:
        raise Conflict(_l("This user was disabled after the request was made; reject the request."))
    membership = accounts.grant_role(user, "admin", organization, actor=reviewer, approved_request=request)
    return {"membership_id": membership.id}


changes.register_change_kind(
    GRANT_ADMIN_KIND, permission=MANAGE, label=_l("Grant the admin role"), apply=_apply_admin_grant
)


def revoke_role(actor, user, membership_id, *, confirm_last_admin=False):
    """Take a staff role of ``user`` away; their sessions and tokens lose it on their next
    request. Audited with before and after."""
    membership = db.session.get(RoleMembership, membership_id) if isinstance(membership_id, int) else None
    if membership is None or membership.user_id != user.id or not authz.can(actor, MANAGE, membership.organization):
        raise NotFound(_l("That role does not exist."))
    _check_desk_role(membership.role)
    with write_transaction() as session:
        # Changes to one node's roles are made one at a time, so two administrators taking
        # away the node's last two admins at once cannot both pass the check below.
        lock_one(Organization, Organization.id == membership.organization_id)
        membership = session.get(RoleMembership, membership.id, populate_existing=True)
        if membership is None:
            raise NotFound(_l("That role does not exist."))
        if membership.role == "admin":
            _check_last_administrator(actor, user, [membership.organization], confirm_last_admin)
        before = {"role": membership.role, "organization_id": membership.organization_id}
        session.delete(membership)
        record_audit(actor, "role.revoke", "user", user.id, membership.organization_id, before=before, after=None)
    db.session.refresh(user)
    return user


# -- disabling ---------------------------------------------------------------------------------


def set_user_active(actor, user, active, *, confirm_last_admin=False):
    """Disable (``active`` False) or re-enable a user. Disabling ends every session and
    stops every API token of the user at once. Audited with before and after."""
    if not isinstance(active, bool):
        raise ValidationError(_l("Choose disable or enable."), details={"field": "active"})
    get_managed_user(actor, user.id)
    if user.id == actor.id:
        raise ValidationError(_l("You cannot disable or enable yourself."), details={"field": "user"})
    _check_reaches_all(actor, user)
    if user.active == active:
        return user
    admin_place_ids = [m.organization_id for m in user.memberships if m.role == "admin"]
    with write_transaction():
        admin_places = lock(Organization, Organization.id.in_(admin_place_ids))  # as ``revoke_role`` does
        fresh = lock_one(User, User.id == user.id)
        if not active:
            _check_last_administrator(actor, fresh, admin_places, confirm_last_admin)
        fresh.active = active
        if not active:
            accounts.end_session(fresh)
        record_audit(
            actor,
            "user.enable" if active else "user.disable",
            "user",
            fresh.id,
            before={"active": not active},
            after={"active": active},
        )
    return db.session.get(User, user.id)
