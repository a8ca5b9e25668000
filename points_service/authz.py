"""The one authorization helper: a permission on an organization node.

A permission is granted to roles; a role membership on a node covers the node's
whole subtree. Every view, API handler and service asks here (``can`` / ``require``)
or filters its queries with ``scope_filter``; nothing checks roles ad hoc.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import false, or_

from .errors import PermissionDenied

PERMISSIONS = {
    # volunteers act on their own data; these are the staff permissions
    "activity.manage": {"organizer", "admin"},
    "record.enter": {"organizer", "admin"},
    "record.approve": {"organizer", "admin"},
    "record.reverse": {"admin"},
    "import.run": {"organizer", "admin"},
    "volunteer.view": {"organizer", "counter", "admin"},
    "counter.redeem": {"counter", "admin"},
    "redemption.void_any": {"admin"},
    "perk.manage": {"admin"},
    "rules.manage": {"admin"},
    "ledger.adjust": {"admin"},
    "ledger.view": {"organizer", "counter", "admin"},
    "user.manage": {"admin"},
    "token.manage": {"admin"},
    "audit.view": {"admin"},
    "honor.manage": {"admin"},
    "certificate.revoke": {"admin"},
    "password.reset": {"organizer", "admin"},
}

STAFF_ROLES = ("organizer", "counter", "admin")
# The permissions that open the administrator's desk (any one of them, anywhere).
ADMIN_PERMISSIONS = (
    "rules.manage",
    "perk.manage",
    "user.manage",
    "token.manage",
    "audit.view",
    "honor.manage",
    "ledger.adjust",
)


def _roles_for(permission):
    try:
        return PERMISSIONS[permission]
    except KeyError:
        raise ValueError(f"unknown permission {permission!r}") from None


def effective_memberships(user):
    """The user's role memberships, narrowed to the API token's scope when the request has one.

    A request authenticated with an API token acts as the token's user, but only with the
    memberships inside the token's role and organization subtree (``token_scope.narrow``).
    """
    memberships = list(user.memberships)
    scope = getattr(user, "token_scope", None)
    return scope.narrow(memberships) if scope is not None else memberships


def memberships_for(user, permission):
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    roles = _roles_for(permission)
    return [m for m in effective_memberships(user) if m.role in roles]


def can(user, permission, organization):
    """True when ``user`` holds ``permission`` on ``organization`` (or any node if None)."""
    memberships = memberships_for(user, permission)
    if organization is None:
        return bool(memberships)
    return any(m.organization.contains(organization) for m in memberships)


def require(user, permission, organization=None):
    if not can(user, permission, organization):
        raise PermissionDenied(_l("You are not allowed to do that here."))


def scope_filter(user, permission, path_column):
    """A SQL condition limiting rows to the subtrees where ``user`` holds ``permission``."""
    memberships = memberships_for(user, permission)
    if not memberships:
        return false()
    return or_(*(path_column.startswith(m.organization.path) for m in memberships))


def scope_roots(user, permission):
    """The organization nodes whose subtrees ``user`` may act on, outermost only."""
    nodes = [m.organization for m in memberships_for(user, permission)]
    return [n for n in nodes if not any(o is not n and o.contains(n) for o in nodes)]


def is_staff(user):
    return bool(getattr(user, "is_authenticated", False)) and any(
        m.role in STAFF_ROLES for m in effective_memberships(user)
    )


def is_admin(user):
    """True when ``user`` holds any administrator permission on some node."""
    return any(can(user, permission, None) for permission in ADMIN_PERMISSIONS)
