"""Creating and looking up organization nodes."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..audit.service import record_audit
from ..database import lock_one, write_transaction
from ..errors import Conflict, NotFound, ValidationError
from ..extensions import db
from .models import ORGANIZATION_KINDS, Organization

CHILD_KIND = {"city": "district", "district": "street", "street": "community"}


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


def get_organization(organization_id):
    node = db.session.get(Organization, organization_id) if organization_id else None
    if node is None:
        raise NotFound(_l("That organization does not exist."))
    return node


def find_organization(reference):
    """Find a node by id or by exact name (names are unique enough for the CLI)."""
    if reference is None:
        raise NotFound(_l("That organization does not exist."))
    text = str(reference).strip()
    if text.isdigit():
        return get_organization(int(text))
    node = db.session.execute(select(Organization).where(Organization.name == text)).scalars().first()
    if node is None:
        raise NotFound(_l("That organization does not exist."))
    return node


def list_organizations(kind=None, within=None):
    statement = select(Organization).order_by(Organization.path)
    if kind:
        statement = statement.where(Organization.kind == kind)
    if within is not None:
        statement = statement.where(Organization.path.startswith(within.path))
    return db.session.execute(statement).scalars().all()


def subtree_ids(node):
    return db.session.execute(select(Organization.id).where(Organization.path.startswith(node.path))).scalars().all()
