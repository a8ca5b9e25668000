"""Points held per home organization, kept with every balance change.

The ledger changes a balance in one place, ``PointsAccount.balance``; this module listens
to that attribute, sums the changes per account in the session and, just before the unit
of work commits, adds them to the rows of the volunteers' home organizations in one
statement (``INSERT ... SELECT ... ON CONFLICT DO UPDATE SET points = points + excluded.points``),
so a row changes exactly when the balances it sums are committed, and the dashboard's
points outstanding read one row per organization of the subtree however many volunteers
it has. A volunteer's home never changes, so a row only ever moves with its balances.

``rebuild_organization_balances`` recomputes the rows from the accounts.
"""

from collections import defaultdict

from sqlalchemy import BigInteger, Integer, bindparam, case, delete, event, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..accounts.models import VolunteerProfile
from ..audit.service import record_audit
from ..database import write_transaction
from ..extensions import db
from ..ledger.models import PointsAccount
from ..organizations.models import Organization
from .models import OrganizationBalance

_PENDING = "points_balance_changes"


@event.listens_for(PointsAccount.balance, "set")
def _count_balance_change(account, value, old, _initiator):
    before = old if isinstance(old, int) else 0  # a new account starts from nothing
    if value != before:
        changes = db.session().info.setdefault(_PENDING, defaultdict(int))
        changes[account] += value - before


# Add :delta to the row of volunteer :volunteer's home organization. Text, written the same
# for PostgreSQL and SQLite, so it is compiled once: SQLAlchemy 2.0 compiles its dialects'
# ``ON CONFLICT`` inserts again on every execution.
_ONE_VOLUNTEER = text(
    "INSERT INTO report_organization_balances (organization_id, points)"
    " SELECT home_organization_id, :delta FROM volunteer_profiles WHERE id = :volunteer"
    " ON CONFLICT (organization_id) DO UPDATE SET points = report_organization_balances.points + excluded.points"
).bindparams(bindparam("delta", type_=BigInteger), bindparam("volunteer", type_=Integer))


@event.listens_for(Session, "before_commit")
def _write_balance_changes(session):
    changes = session.info.pop(_PENDING, None) or {}
    by_volunteer = defaultdict(int)
    for account, delta in changes.items():
        by_volunteer[account.volunteer_id] += delta
    by_volunteer = {volunteer_id: delta for volunteer_id, delta in by_volunteer.items() if delta}
    if not by_volunteer:
        return
    session.flush()  # a volunteer made in this unit of work is then visible to the statement
    if len(by_volunteer) == 1:  # a redemption, an award: one statement built once
        ((volunteer_id, delta),) = by_volunteer.items()
        session.execute(_ONE_VOLUNTEER, {"volunteer": volunteer_id, "delta": delta})
        return
    table = OrganizationBalance.__table__
    insert_into = postgresql.insert if session.connection().dialect.name == "postgresql" else sqlite.insert
    statement = insert_into(table).from_select(
        ["organization_id", "points"],
        select(VolunteerProfile.home_organization_id, func.sum(case(by_volunteer, value=VolunteerProfile.id)))
        .where(VolunteerProfile.id.in_(by_volunteer))
        .group_by(VolunteerProfile.home_organization_id)
        .order_by(VolunteerProfile.home_organization_id),  # rows locked in one order: never a cycle
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["organization_id"], set_={"points": table.c.points + statement.excluded.points}
        )
    )


@event.listens_for(Session, "after_transaction_end")
def _forget_balance_changes(session, transaction):
    # A rolled-back unit of work takes its changes with it.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def rebuild_organization_balances(actor, organization=None):
    """Recompute the balance rows of ``organization``'s subtree (everywhere when None) from
    the accounts, in one unit of work, audited. Returns the number of rows written.

    On PostgreSQL the table is locked first, so a balance changing meanwhile is either in
    what the rebuild reads (it committed before) or added after it, never both or neither.
    """
    homes = select(Organization.id)
    if organization is not None:
        homes = homes.where(Organization.path.startswith(organization.path))
    with write_transaction() as session:
        if session.connection().dialect.name == "postgresql":
            session.execute(text(f"LOCK TABLE {OrganizationBalance.__tablename__} IN EXCLUSIVE MODE"))
        session.execute(delete(OrganizationBalance).where(OrganizationBalance.organization_id.in_(homes)))
        written = len(
            session.execute(
                insert(OrganizationBalance)
                .from_select(
                    ["organization_id", "points"],
                    select(VolunteerProfile.home_organization_id, func.sum(PointsAccount.balance))
                    .join(PointsAccount, PointsAccount.volunteer_id == VolunteerProfile.id)
                    .where(VolunteerProfile.home_organization_id.in_(homes))
                    .group_by(VolunteerProfile.home_organization_id),
                )
                .returning(OrganizationBalance.organization_id)
            ).all()
        )
        record_audit(
            actor,
            "reports.rebuild_balances",
            "organization",
            organization.id if organization is not None else None,
            organization_id=organization.id if organization is not None else None,
            after={"rows": written},
        )
    return written
