"""Creating and looking up organization nodes."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..database import write_transaction
from ..errors import NotFound, ValidationError
from ..extensions import db
from .models import ORGANIZATION_KINDS, Organization

CHILD_KIND = {"city": "district", "district": "street", "street": "community"}


def create_organization(name, kind, parent=None, timezone=None):
    """Add a node under ``parent``; the kind must be the next level down."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise ValidationError(_l("An organization needs a name of 1 to 120 characters."))
    if kind not in ORGANIZATION_KINDS:
        raise ValidationError(_l("Unknown kind of organization: %(kind)s."), kind=kind)
    if parent is None and kind != "city":
        raise ValidationError(_l("Only a city can be at the top of the tree."))
    if parent is not None and CHILD_KIND.get(parent.kind) != kind:
        raise ValidationError(_l("A %(kind)s cannot be placed under a %(parent)s."), kind=kind, parent=parent.kind)
    with write_transaction() as session:
        node = Organization(
            name=name,
            kind=kind,
            parent_id=parent.id if parent else None,
            timezone=timezone or (parent.timezone if parent else "Asia/Shanghai"),
        )
        session.add(node)
        session.flush()
        node.path = (parent.path if parent else "/") + f"{node.id}/"
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
