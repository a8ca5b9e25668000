"""Helpers for the perks tests: what a redemption left behind."""

from sqlalchemy import func, select

from points_service.extensions import db
from points_service.ledger.models import LedgerEntry
from points_service.perks.models import Redemption


def count_redemptions():
    return db.session.execute(select(func.count(Redemption.id))).scalar_one()


def count_entries(kind):
    return db.session.execute(select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == kind)).scalar_one()
