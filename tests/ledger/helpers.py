"""Helpers for the ledger tests: a fixed clock and a look at an account's lots."""

from datetime import datetime, timedelta

from sqlalchemy import select, text

from points_service.extensions import db
from points_service.ledger.models import LotMovement, PointsLot

T0 = datetime(2026, 3, 1, 8, 0)


def at(days=0, hours=0):
    """A moment ``days`` (and ``hours``) after the fixed start of the ledger tests."""
    return T0 + timedelta(days=days, hours=hours)


def lots_of(account_id):
    """``[(lot id, amount, remaining, expired?)]`` oldest first."""
    rows = db.session.execute(
        select(PointsLot).where(PointsLot.account_id == account_id).order_by(PointsLot.earned_at, PointsLot.id)
    ).scalars()
    return [(lot.id, lot.amount, lot.remaining, lot.expired_at is not None) for lot in rows]


def movements_of(entry):
    """``{lot id: points taken}`` by ``entry`` (negative: returned)."""
    rows = db.session.execute(select(LotMovement).where(LotMovement.entry_id == entry.id)).scalars()
    return {movement.lot_id: movement.amount for movement in rows}


def rewrite_history(statement, **params):
    """Change rows the database protects, as only the tables' owner could: on PostgreSQL
    with every trigger off for this one transaction, on SQLite (a file per test) by
    dropping the triggers."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL session_replication_role = replica"))
    else:
        for (name,) in db.session.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).all():
            db.session.execute(text(f'DROP TRIGGER "{name}"'))
    db.session.execute(text(statement), params)
    db.session.commit()
