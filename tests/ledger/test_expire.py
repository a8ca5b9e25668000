from datetime import datetime

from sqlalchemy import select

from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.ledger.errors import InsufficientPoints
from points_service.ledger.models import PointsLot

from .helpers import at, lots_of, movements_of


def lot_of(entry):
    return db.session.execute(select(PointsLot.id).where(PointsLot.entry_id == entry.id)).scalar_one()


def test_due_lots_expire_as_one_entry_and_later_lots_stay(account):
    ledger.earn_points(account.id, 10, reason="a", now=at(0), expires_at=at(30))
    ledger.earn_points(account.id, 20, reason="b", now=at(1), expires_at=at(30))
    ledger.earn_points(account.id, 40, reason="c", now=at(2), expires_at=at(60))
    ledger.earn_points(account.id, 80, reason="d", now=at(3))
    ledger.spend_points(account.id, 15, reason="spent", now=at(4))

    entry = ledger.expire_account(account.id, now=at(30))

    assert (entry.kind, entry.delta, entry.balance_after) == ("expire", -15, 120)
    assert [(lot[2], lot[3]) for lot in lots_of(account.id)] == [(0, True), (0, True), (40, False), (80, False)]
    assert ledger.get_account(account.id).lifetime_expired == 15
    assert ledger.expire_account(account.id, now=at(31)) is None
    assert ledger.verify_ledger().discrepancies == []


def test_expired_points_can_never_be_spent(account):
    ledger.earn_points(account.id, 30, reason="a", now=at(0), expires_at=at(10))
    ledger.earn_points(account.id, 5, reason="b", now=at(1))

    try:
        ledger.spend_points(account.id, 20, reason="too late", now=at(10))
    except InsufficientPoints as refused:
        assert refused.render_message() == "Insufficient points: 20 needed, 5 available."
    else:
        raise AssertionError("spent expired points")
    # the refused spend wrote nothing, so the lot is still open until something expires it
    assert ledger.get_account(account.id).balance == 35


def test_a_spend_first_expires_what_is_due_and_then_takes_the_rest(account):
    ledger.earn_points(account.id, 30, reason="a", now=at(0), expires_at=at(10))
    ledger.earn_points(account.id, 25, reason="b", now=at(1))

    ledger.spend_points(account.id, 20, reason="after expiry", now=at(11))

    kinds = [(e.kind, e.delta, e.balance_after) for e in reversed(ledger.list_entries(account.id))]
    assert kinds == [("earn", 30, 30), ("earn", 25, 55), ("expire", -30, 25), ("redeem", -20, 5)]


def test_a_lot_expires_at_exactly_its_expiry_time_and_not_before(account):
    ledger.earn_points(account.id, 30, reason="a", now=at(0), expires_at=at(10))
    assert ledger.expire_account(account.id, now=at(10, hours=-1)) is None
    assert ledger.expire_account(account.id, now=at(10)).delta == -30


def test_a_fully_spent_lot_expires_without_an_entry(account):
    ledger.earn_points(account.id, 30, reason="a", now=at(0), expires_at=at(10))
    ledger.spend_points(account.id, 30, reason="all", now=at(1))

    assert ledger.expire_account(account.id, now=at(11)) is None
    assert lots_of(account.id)[0][3] is True
    assert ledger.verify_ledger().discrepancies == []


def test_the_expiry_job_expires_every_due_account_and_reports_totals(build):
    accounts = [build.account(build.volunteer()) for _ in range(3)]
    ids = [a.id for a in accounts]
    ledger.earn_points(ids[0], 10, reason="a", now=at(0), expires_at=at(5))
    ledger.earn_points(ids[1], 20, reason="b", now=at(0), expires_at=at(5))
    ledger.earn_points(ids[2], 40, reason="c", now=at(0), expires_at=at(50))

    assert ledger.expire_due_lots(now=at(6)) == (2, 30)
    db.session.expire_all()
    assert [ledger.get_account(i).balance for i in ids] == [0, 0, 40]
    assert ledger.expire_due_lots(now=at(7)) == (0, 0)


def test_an_aware_expiry_is_stored_as_utc(account):
    from datetime import timedelta, timezone

    shanghai = timezone(timedelta(hours=8))
    entry = ledger.earn_points(account.id, 5, reason="a", now=at(0), expires_at=at(10).replace(tzinfo=shanghai))
    assert ledger.expiring_points(account.id, before=at(20), now=at(1)) == [(at(10, hours=-8), 5)]
    assert entry.balance_after == 5


def test_spending_takes_the_lots_that_expire_soonest_so_no_point_that_could_be_used_expires(account):
    # An older lot that lives long and a younger one that expires sooner (a six-month promotion).
    older = ledger.earn_points(
        account.id, 100, reason="January", now=datetime(2027, 1, 5), expires_at=datetime(2028, 12, 31)
    )
    younger = ledger.earn_points(
        account.id, 50, reason="March", now=datetime(2027, 3, 1), expires_at=datetime(2027, 6, 30)
    )

    spend = ledger.spend_points(account.id, 100, reason="Parking", now=datetime(2027, 4, 1))
    expired = ledger.expire_account(account.id, now=datetime(2027, 7, 1))

    # Spending by earn date took the 100 from January and let March's 50 expire on 30 June.
    assert movements_of(spend) == {lot_of(younger): 50, lot_of(older): 50}
    assert expired is None
    assert ledger.get_account(account.id).balance == 50
    assert ledger.get_account(account.id).lifetime_expired == 0
    assert ledger.verify_ledger().discrepancies == []


def test_lots_that_never_expire_are_spent_last_and_equal_expiries_go_oldest_first(account):
    forever = ledger.earn_points(account.id, 30, reason="never", now=datetime(2027, 1, 1))
    first = ledger.earn_points(account.id, 10, reason="a", now=datetime(2027, 1, 2), expires_at=datetime(2027, 12, 31))
    second = ledger.earn_points(account.id, 10, reason="b", now=datetime(2027, 1, 3), expires_at=datetime(2027, 12, 31))

    spend = ledger.spend_points(account.id, 25, reason="Goods", now=datetime(2027, 2, 1))

    assert movements_of(spend) == {lot_of(first): 10, lot_of(second): 10, lot_of(forever): 5}


def test_reversing_a_spend_restores_exactly_the_lots_taken_in_expiry_order(account):
    older = ledger.earn_points(
        account.id, 100, reason="January", now=datetime(2027, 1, 5), expires_at=datetime(2028, 12, 31)
    )
    younger = ledger.earn_points(
        account.id, 50, reason="March", now=datetime(2027, 3, 1), expires_at=datetime(2027, 6, 30)
    )
    spend = ledger.spend_points(account.id, 60, reason="Parking", now=datetime(2027, 4, 1))
    ledger.spend_points(account.id, 20, reason="Tea", now=datetime(2027, 4, 2))  # from the older lot

    reversal = ledger.reverse_entry(spend.id, reason="Voucher voided", now=datetime(2027, 4, 3))

    assert reversal.restored_lots == {lot_of(younger): 50, lot_of(older): 10}
    assert [lot[2] for lot in lots_of(account.id)] == [80, 50]
    assert ledger.verify_ledger().discrepancies == []
