"""Creating, renaming, moving and looking up organization nodes.

A node's ``path`` lists its ancestors' ids, so moving a node rewrites the paths of its
whole subtree in one transaction. What a move means for the rest of the data:

- roles held on the moved nodes move with them; roles held on the old levels above
  stop reaching them, roles on the new levels above start to (the move says how many
  staff lose their reach);
- rule sets and settings of the new levels above apply to service rated from then on;
  points already awarded keep their rule-set version and breakdown;
- a move never leaves its city (the city's time zone, holiday calendar and rule sets
  lie under every record already rated), and never happens while service records of
  the moved nodes wait for approval: their approvers on the old levels would lose them,
  and they would be rated by rules other than those of the place they were entered at.
"""

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from .. import authz
from ..audit.service import record_audit
from ..database import lock, lock_one, write_transaction
from ..errors import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from .models import ORGANIZATION_KINDS, Organization

CHILD_KIND = {"city": "district", "district": "street", "street": "community"}
PATH_SEPARATOR = "/"
_ID_REFERENCE = re.compile(r"(?:#|id:)\s*(\d{1,18})", re.IGNORECASE)
MAX_LISTED_MATCHES = 10


def _check_timezone(timezone):
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            _l("Unknown time zone %(timezone)s; use a name such as Asia/Shanghai."),
            details={"field": "timezone"},
            timezone=timezone,
        ) from None
    return timezone


def _check_name(name):
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 120:
        raise ValidationError(_l("An organization needs a name of 1 to 120 characters."), details={"field": "name"})
    if PATH_SEPARATOR in name:
        raise ValidationError(
            _l("An organization's name cannot contain / (it separates the levels of a path)."),
            details={"field": "name"},
        )
    return name


def _refuse_sibling_named(session, parent_id, name, *, other_than=None):
    statement = select(Organization.id).where(Organization.parent_id == parent_id, Organization.name == name)
    if other_than is not None:
        statement = statement.where(Organization.id != other_than)
    sibling = session.execute(statement).first()
    if sibling is not None:
        raise Conflict(
            _l("There is already an organization named %(name)s at this place in the tree."),
            details={"field": "name", "organization_id": sibling.id},
            name=name,
        )


def create_organization(name, kind, parent=None, timezone=None, *, actor=None):
    """Add a node under ``parent``; the kind must be the next level down, and no sibling
    may have the same name. Audited (``actor`` None: the command line or the demo; a
    person must hold ``user.manage`` on ``parent``)."""
    name = _check_name(name)
    if actor is not None and (parent is None or not authz.can(actor, "user.manage", parent)):
        raise PermissionDenied()
    if kind not in ORGANIZATION_KINDS:
        raise ValidationError(_l("Unknown kind of organization: %(kind)s."), details={"field": "kind"}, kind=kind)
    if parent is None and kind != "city":
        raise ValidationError(_l("Only a city can be at the top of the tree."), details={"field": "parent"})
    if parent is not None and CHILD_KIND.get(parent.kind) != kind:
        raise ValidationError(
            _l("A %(kind)s cannot be placed under a %(parent)s."),
            details={"field": "kind"},
            kind=kind,
            parent=parent.kind,
        )
    timezone = _check_timezone(timezone.strip() if timezone else (parent.timezone if parent else "Asia/Shanghai"))
    with write_transaction() as session:
        if parent is not None:
            lock_one(Organization, Organization.id == parent.id)  # siblings are added one at a time
        _refuse_sibling_named(session, parent.id if parent else None, name)
        node = Organization(name=name, kind=kind, parent_id=parent.id if parent else None, timezone=timezone)
        session.add(node)
        session.flush()
        node.path = (parent.path if parent else "/") + f"{node.id}/"
        record_audit(
            actor,
            "organization.create",
            "organization",
            node.id,
            organization_id=node.id,
            after={"name": name, "kind": kind, "parent_id": node.parent_id, "timezone": timezone},
        )
    return node


def set_organization_timezone(actor, organization, timezone):
    """Change the time zone a node's local dates and times are shown and rated in (checked
    as a zone name). Needs ``rules.manage`` on the node; audited with before and after.
    Nodes below keep their own time zone: each node stores one."""
    if actor is not None:
        authz.require(actor, "rules.manage", organization)
    timezone = timezone.strip() if isinstance(timezone, str) else ""
    if not timezone or len(timezone) > 64:
        raise ValidationError(_l("Enter a time zone name such as Asia/Shanghai."), details={"field": "timezone"})
    timezone = _check_timezone(timezone)
    with write_transaction():
        node = lock_one(Organization, Organization.id == organization.id)
        before = node.timezone
        if before == timezone:
            return node
        node.timezone = timezone
        record_audit(
            actor,
            "organization.timezone",
            "organization",
            node.id,
            organization_id=node.id,
            before={"timezone": before},
            after={"timezone": timezone},
        )
    return node


def get_organization(organization_id):
    node = db.session.get(Organization, organization_id) if organization_id else None
    if node is None:
        raise NotFound(_l("That organization does not exist."))
    return node


def get_managed_organization(actor, organization_id):
    """A node ``actor`` manages (``user.manage``); any other is simply not found."""
    node = db.session.get(Organization, organization_id) if isinstance(organization_id, int) else None
    if node is None or not authz.can(actor, "user.manage", node):
        raise NotFound(_l("That organization does not exist."))
    return node


def rename_organization(actor, node, name):
    """Give ``node`` a new name, unique among its siblings. Audited with before and after."""
    name = _check_name(name)
    authz.require(actor, "user.manage", node)
    with write_transaction() as session:
        node = lock_one(Organization, Organization.id == node.id)
        if node.parent_id is not None:
            lock_one(Organization, Organization.id == node.parent_id)  # one sibling renamed at a time
        if node.name == name:
            return node
        _refuse_sibling_named(session, node.parent_id, name, other_than=node.id)
        before = node.name
        node.name = name
        record_audit(
            actor,
            "organization.rename",
            "organization",
            node.id,
            node.id,
            before={"name": before},
            after={"name": name},
        )
    return node


@dataclass(frozen=True)
class Move:
    """A move that was made: the node, and how many staff roles on its old levels above no
    longer reach it (their holders lose sight of it)."""

    node: Organization
    staff_roles_left_behind: int


def _check_move(actor, node, new_parent):
    if node.parent_id is None:
        raise ValidationError(_l("A city is at the top of the tree and cannot be moved."), details={"field": "parent"})
    if not authz.can(actor, "user.manage", node.parent) or not authz.can(actor, "user.manage", new_parent):
        raise PermissionDenied(
            _l("Only an administrator of both the old and the new place above it can move a node."),
            details={"field": "parent"},
        )
    if node.contains(new_parent):
        raise ValidationError(
            _l("A node cannot be moved under itself or under one of its own nodes."), details={"field": "parent"}
        )
    if CHILD_KIND.get(new_parent.kind) != node.kind:
        raise ValidationError(
            _l("A %(kind)s cannot be placed under a %(parent)s."),
            details={"field": "parent"},
            kind=node.kind,
            parent=new_parent.kind,
        )
    if node.ancestor_ids[0] != new_parent.ancestor_ids[0]:
        raise ValidationError(
            _l(
                "A node cannot move to another city: the city's time zone, holiday calendar and rule sets"
                " stand behind the points already awarded there."
            ),
            details={"field": "parent"},
        )


def _pending_records_within(session, node):
    from ..activities.models import ServiceRecord

    return session.execute(
        select(func.count(ServiceRecord.id))
        .join(Organization, Organization.id == ServiceRecord.organization_id)
        .where(ServiceRecord.status == "pending", Organization.path.startswith(node.path))
    ).scalar_one()


def _staff_roles_on(session, organization_ids):
    from ..accounts.models import RoleMembership

    if not organization_ids:
        return 0
    return session.execute(
        select(func.count(RoleMembership.id)).where(
            RoleMembership.organization_id.in_(organization_ids), RoleMembership.role.in_(authz.STAFF_ROLES)
        )
    ).scalar_one()


def move_organization(actor, node, new_parent):
    """Move ``node`` and its subtree under ``new_parent``, in one transaction.

    Refused, with nothing changed: a city; a place under the node itself or its own
    nodes; a parent of the wrong level; another city; a sibling of the same name; while
    service records of the subtree wait for approval (see the module docstring); unless
    ``actor`` manages both the old and the new place above. Audited with before and after.
    """
    _check_move(actor, node, new_parent)
    if new_parent.id == node.parent_id:
        return Move(node, 0)
    with write_transaction() as session:
        # Lock the three nodes (lowest id first) so that no concurrent move or rename interleaves.
        locked = {
            row.id: row for row in lock(Organization, Organization.id.in_({node.id, node.parent_id, new_parent.id}))
        }
        node, new_parent = locked[node.id], locked[new_parent.id]
        _check_move(actor, node, new_parent)
        _refuse_sibling_named(session, new_parent.id, node.name)
        waiting = _pending_records_within(session, node)
        if waiting:
            raise Conflict(
                _l(
                    "%(n)s service records of %(name)s wait for approval. Have them approved or rejected first:"
                    " after the move their approvers above could no longer reach them, and other rules would"
                    " rate them."
                ),
                details={"field": "parent", "pending_records": waiting},
                n=waiting,
                name=node.name,
            )
        old_ancestors, new_ancestors = node.ancestor_ids[:-1], new_parent.ancestor_ids
        left_behind = _staff_roles_on(session, [i for i in old_ancestors if i not in new_ancestors])
        before = {"parent_id": node.parent_id, "path": node.path}
        old_path, new_path = node.path, f"{new_parent.path}{node.id}/"
        session.execute(
            update(Organization)
            .where(Organization.path.startswith(old_path))
            .values(path=new_path + func.substr(Organization.path, len(old_path) + 1))
            .execution_options(synchronize_session=False)
        )
        node.parent_id = new_parent.id
        session.flush()
        session.expire_all()
        record_audit(
            actor,
            "organization.move",
            "organization",
            node.id,
            node.id,
            before=before,
            after={"parent_id": new_parent.id, "path": new_path, "staff_roles_left_behind": left_behind},
        )
    return Move(db.session.get(Organization, node.id), left_behind)


def _ancestors_by_id(nodes):
    ids = {ancestor_id for node in nodes for ancestor_id in node.ancestor_ids}
    rows = db.session.execute(select(Organization).where(Organization.id.in_(ids))).scalars() if ids else []
    return {node.id: node for node in rows}


def _names_from_root(node, ancestors):
    return [ancestors[ancestor_id].name for ancestor_id in node.ancestor_ids if ancestor_id in ancestors]


def organization_paths(nodes):
    """``{node id: "城市/区/街道/社区"}``: each node's names from the root, joined by ``/``."""
    ancestors = _ancestors_by_id(nodes)
    return {node.id: PATH_SEPARATOR.join(_names_from_root(node, ancestors)) for node in nodes}


def _by_path(text):
    """Nodes whose names from some level down to them are the parts of ``text``; a leading
    ``/`` anchors the path at the root (a city)."""
    anchored = text.startswith(PATH_SEPARATOR)
    parts = [part.strip() for part in text.strip(PATH_SEPARATOR).split(PATH_SEPARATOR)]
    if not all(parts):
        return []
    named = db.session.execute(select(Organization).where(Organization.name == parts[-1])).scalars().all()
    ancestors = _ancestors_by_id(named)
    matches = []
    for node in named:
        names = _names_from_root(node, ancestors)
        if names[-len(parts) :] == parts and (not anchored or len(names) == len(parts)):
            matches.append(node)
    return matches


def find_organization(reference):
    """The one node a person means: an id (``#12``, ``id:12`` or just ``12``), a name, or a
    path of names joined by ``/`` from any level down to the node (``示范市/东城区/和平街道``,
    or ``东城区/和平街道``; a leading ``/`` starts at the city). A reference that fits more
    than one node is refused, listing each match's id and path, so nobody acts on the
    wrong one of two communities with the same name."""
    text = str(reference).strip() if reference is not None else ""
    by_id = _ID_REFERENCE.fullmatch(text)
    if by_id:
        return get_organization(int(by_id.group(1)))
    matches = {node.id: node for node in _by_path(text)} if text else {}
    if PATH_SEPARATOR in text:  # names made before "/" was refused in names
        for node in db.session.execute(select(Organization).where(Organization.name == text)).scalars():
            matches[node.id] = node
    if text.isdigit() and len(text) <= 18:
        node = db.session.get(Organization, int(text))
        if node is not None:
            matches[node.id] = node
    if not matches:
        raise NotFound(
            _l("No organization matches %(reference)s; give its #id, its name or its path (names joined by /)."),
            details={"field": "organization"},
            reference=text,
        )
    if len(matches) > 1:
        nodes = sorted(matches.values(), key=lambda node: node.id)
        paths = organization_paths(nodes[:MAX_LISTED_MATCHES])
        listed = "; ".join(f"#{node.id} {paths[node.id]}" for node in nodes[:MAX_LISTED_MATCHES])
        raise ValidationError(
            _l(
                "%(reference)s fits %(n)s organizations: %(matches)s. Give its path (names joined by /)"
                " or its id (#%(id)s)."
            ),
            details={"field": "organization", "matches": [node.id for node in nodes]},
            reference=text,
            n=len(nodes),
            matches=listed,
            id=nodes[0].id,
        )
    return next(iter(matches.values()))


def list_organizations(kind=None, within=None):
    statement = select(Organization).order_by(Organization.path)
    if kind:
        statement = statement.where(Organization.kind == kind)
    if within is not None:
        statement = statement.where(Organization.path.startswith(within.path))
    return db.session.execute(statement).scalars().all()


def subtree_ids(node):
    return db.session.execute(select(Organization.id).where(Organization.path.startswith(node.path))).scalars().all()


def list_managed_organizations(actor):
    """Every node ``actor`` manages (``user.manage``), each after its parent."""
    statement = (
        select(Organization)
        .where(authz.scope_filter(actor, "user.manage", Organization.path))
        .order_by(Organization.path)
    )
    return db.session.execute(statement).scalars().all()


def move_targets(actor, node):
    """The nodes ``node`` could be moved under by ``actor``: of the level above it, in
    its city, managed by ``actor``, other than its parent (``move_organization`` checks
    the rest)."""
    parent_kind = next((kind for kind, child in CHILD_KIND.items() if child == node.kind), None)
    if parent_kind is None or node.parent_id is None:
        return []
    city_path = f"/{node.ancestor_ids[0]}/"
    return [
        target
        for target in list_managed_organizations(actor)
        if target.kind == parent_kind and target.id != node.parent_id and target.path.startswith(city_path)
    ]
