"""Creating and looking up organization nodes."""

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import authz
from ..audit.service import record_audit
from ..database import lock_one, write_transaction
from ..errors import Conflict, NotFound, ValidationError
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


def create_organization(name, kind, parent=None, timezone=None, *, actor=None):
    """Add a node under ``parent``; the kind must be the next level down, and no sibling
    may have the same name. Audited (``actor`` None: the command line or the demo)."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationError(_l("An organization needs a name of 1 to 120 characters."), details={"field": "name"})
    if PATH_SEPARATOR in name:
        raise ValidationError(
            _l("An organization's name cannot contain / (it separates the levels of a path)."),
            details={"field": "name"},
        )
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
        sibling = session.execute(
            select(Organization.id).where(
                Organization.parent_id == (parent.id if parent else None), Organization.name == name
            )
        ).first()
        if sibling is not None:
            raise Conflict(
                _l("There is already an organization named %(name)s at this place in the tree."),
                details={"field": "name", "organization_id": sibling.id},
                name=name,
            )
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
