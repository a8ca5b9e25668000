import pytest

from points_service.ledger import service as ledger
from points_service.ledger.errors import AlreadyReversed, EntryNotFound, InvalidReason, NotReversible

from .helpers import at, lots_of, movements_of


def test_reversing_a_spend_restores_exactly_the_lots_it_consumed(account):
    ledger.earn_points(account.id, 10, reason="first", now=at(0))
    ledger.earn_points(account.id, 20, reason="second", now=at(1))
    ledger.earn_points(account.id, 30, reason="third", now=at(2))
    spend = ledger.spend_points(account.id, 25, reason="Bus pass", now=at(3))
    later = ledger.spend_points(account.id, 10, reason="Tea", now=at(4))  # takes 5 + 5 from the younger lots
    taken = movements_of(spend)

    reversal = ledger.reverse_entry(spend.id, reason="Voucher voided", now=at(5))

    assert reversal.entry.kind == "reverse"
    assert reversal.entry.delta == 25
    assert reversal.entry.reverses_entry_id == spend.id
    assert reversal.restored_lots == taken
    assert movements_of(reversal.entry) == {lot: -points for lot, points in taken.items()}
    # the first lot is whole again; the second got back what spend took, not what later took
    assert [lot[2] for lot in lots_of(account.id)] == [10, 20 - 15 + 15 - 5, 25]
    assert movements_of(later) != {}
    assert ledger.get_account(account.id).balance == 50
    assert ledger.get_account(account.id).lifetime_spent == 10
    assert ledger.verify_ledger().discrepancies == []


def test_reversing_an_earning_takes_its_points_back_from_its_own_lot_first(account):
    ledger.earn_points(account.id, 40, reason="older", now=at(0))
    earning = ledger.earn_points(account.id, 30, reason="fake hours", now=at(1))

    reversal = ledger.reverse_entry(earning.id, reason="Hours were not real", now=at(2))

    assert (reversal.entry.delta, reversal.shortfall) == (-30, 0)
    assert [lot[2] for lot in lots_of(account.id)] == [40, 0]
    assert ledger.get_account(account.id).balance == 40
    assert ledger.get_account(account.id).lifetime_earned == 40
    assert ledger.verify_ledger().discrepancies == []


def test_reversing_a_spent_earning_takes_what_is_left_and_records_the_shortfall(account):
    earning = ledger.earn_points(account.id, 30, reason="fake hours", now=at(0))
    ledger.spend_points(account.id, 25, reason="spent it", now=at(1))

    reversal = ledger.reverse_entry(earning.id, reason="Hours were not real", now=at(2))

    assert (reversal.entry.delta, reversal.shortfall) == (-5, 25)
    assert ledger.get_account(account.id).balance == 0
    [shortfall] = ledger.open_shortfalls(account.id)
    assert (shortfall.reversed_entry_id, shortfall.points) == (earning.id, 25)
    assert ledger.verify_ledger().discrepancies == []


def test_reversing_an_earning_that_was_wholly_spent_records_only_a_shortfall(account):
    earning = ledger.earn_points(account.id, 30, reason="fake hours", now=at(0))
    ledger.spend_points(account.id, 30, reason="spent it", now=at(1))

    reversal = ledger.reverse_entry(earning.id, reason="Hours were not real", now=at(2))

    assert (reversal.entry, reversal.shortfall) == (None, 30)
    assert ledger.get_account(account.id).balance == 0
    with pytest.raises(AlreadyReversed):
        ledger.reverse_entry(earning.id, reason="again", now=at(3))


def test_reversing_an_earning_does_not_take_back_points_that_already_expired(account):
    ledger.earn_points(account.id, 50, reason="kept", now=at(0), expires_at=at(10))
    earning = ledger.earn_points(account.id, 30, reason="fake hours", now=at(0), expires_at=at(20))
    ledger.spend_points(account.id, 60, reason="spent", now=at(1))  # 50 + 10 from the fake lot; 20 left there
    ledger.expire_account(account.id, now=at(21))  # the 20 left expire

    reversal = ledger.reverse_entry(earning.id, reason="Hours were not real", now=at(22))

    assert ledger.get_account(account.id).balance == 0
    assert (reversal.entry, reversal.shortfall) == (None, 10)
    assert ledger.verify_ledger().discrepancies == []


def test_reversing_an_earning_whose_points_all_expired_happens_once(account):
    earning = ledger.earn_points(account.id, 30, reason="fake hours", now=at(0), expires_at=at(10))
    ledger.expire_account(account.id, now=at(11))

    reversal = ledger.reverse_entry(earning.id, reason="Hours were not real", now=at(12))

    assert (reversal.entry, reversal.shortfall) == (None, 0)
    assert ledger.open_shortfalls(account.id) == []
    assert ledger.get_account(account.id).lifetime_earned == 0
    with pytest.raises(AlreadyReversed):
        ledger.reverse_entry(earning.id, reason="again", now=at(13))
    assert ledger.get_account(account.id).lifetime_earned == 0


def test_a_spend_reversed_after_its_lot_expired_gives_the_points_back_and_expires_them_openly(account):
    ledger.earn_points(account.id, 20, reason="short-lived", now=at(0), expires_at=at(10))
    spend = ledger.spend_points(account.id, 15, reason="Bus pass", now=at(1))
    ledger.expire_account(account.id, now=at(11))

    reversal = ledger.reverse_entry(spend.id, reason="Voucher voided", now=at(12))

    assert reversal.entry.delta == 15
    kinds = [(e.kind, e.delta) for e in reversed(ledger.list_entries(account.id))]
    assert kinds == [("earn", 20), ("redeem", -15), ("expire", -5), ("reverse", 15), ("expire", -15)]
    assert ledger.get_account(account.id).balance == 0
    assert ledger.verify_ledger().discrepancies == []


def test_an_entry_is_reversed_at_most_once(account):
    ledger.earn_points(account.id, 40, reason="earned", now=at(0))
    spend = ledger.spend_points(account.id, 15, reason="Bus pass", now=at(1))
    ledger.reverse_entry(spend.id, reason="voided", now=at(2))

    with pytest.raises(AlreadyReversed) as refused:
        ledger.reverse_entry(spend.id, reason="voided again", now=at(3))

    assert refused.value.status == 409
    assert ledger.get_account(account.id).balance == 40


def test_a_reversal_with_its_key_repeated_is_replayed_not_repeated(account):
    ledger.earn_points(account.id, 40, reason="earned", now=at(0))
    spend = ledger.spend_points(account.id, 15, reason="Bus pass", now=at(1))

    first = ledger.reverse_entry(spend.id, reason="voided", idempotency_key="void-1", now=at(2))
    again = ledger.reverse_entry(spend.id, reason="voided", idempotency_key="void-1", now=at(3))

    assert again.entry.id == first.entry.id
    assert ledger.get_account(account.id).balance == 40


@pytest.mark.parametrize("kind", ["expire", "reverse"])
def test_expiries_and_reversals_cannot_be_reversed(account, kind):
    ledger.earn_points(account.id, 40, reason="earned", now=at(0), expires_at=at(5))
    spend = ledger.spend_points(account.id, 10, reason="spent", now=at(1))
    reversal = ledger.reverse_entry(spend.id, reason="voided", now=at(2))
    expiry = ledger.expire_account(account.id, now=at(6))
    target = expiry if kind == "expire" else reversal.entry

    with pytest.raises(NotReversible):
        ledger.reverse_entry(target.id, reason="undo", now=at(7))
    assert ledger.verify_ledger().discrepancies == []


@pytest.mark.parametrize("entry_id", [987_654, "1", None, True])
def test_reversing_an_unknown_entry_is_refused(app, entry_id):
    with pytest.raises(EntryNotFound) as refused:
        ledger.reverse_entry(entry_id, reason="nothing")
    assert refused.value.status == 404


def test_a_reversal_needs_a_reason(account):
    entry = ledger.earn_points(account.id, 5, reason="earned")
    with pytest.raises(InvalidReason):
        ledger.reverse_entry(entry.id, reason=" ")
    assert ledger.get_account(account.id).balance == 5
