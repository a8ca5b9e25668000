import pytest

from points_service.accounts.service import adjust_volunteer_points
from points_service.audit.service import list_audit_events
from points_service.errors import PermissionDenied
from points_service.ledger import service as ledger
from points_service.ledger.errors import InsufficientPoints, InvalidPoints, InvalidReason

from .helpers import at, lots_of


def test_a_positive_adjustment_opens_a_lot(account, build):
    admin = build.staff("admin")
    entry = ledger.adjust_points(account.id, 25, reason="Lost paper records", actor_id=admin.id, now=at(0))

    assert (entry.kind, entry.delta, entry.balance_after, entry.actor_id) == ("adjust", 25, 25, admin.id)
    assert [lot[1:3] for lot in lots_of(account.id)] == [(25, 25)]
    assert ledger.get_account(account.id).lifetime_earned == 25


def test_a_negative_adjustment_takes_the_oldest_lots_first(account, build):
    admin = build.staff("admin")
    ledger.earn_points(account.id, 10, reason="a", now=at(0))
    ledger.earn_points(account.id, 20, reason="b", now=at(1))

    entry = ledger.adjust_points(account.id, -15, reason="Double entry", actor_id=admin.id, now=at(2))

    assert (entry.delta, entry.balance_after) == (-15, 15)
    assert [lot[2] for lot in lots_of(account.id)] == [0, 15]
    assert ledger.verify_ledger().discrepancies == []


def test_a_negative_adjustment_cannot_make_the_balance_negative(account, build):
    admin = build.staff("admin")
    ledger.earn_points(account.id, 10, reason="a", now=at(0))
    with pytest.raises(InsufficientPoints):
        ledger.adjust_points(account.id, -11, reason="too much", actor_id=admin.id, now=at(1))
    assert ledger.get_account(account.id).balance == 10


@pytest.mark.parametrize("delta", [0, 10_000_001, -10_000_001, 2.0, "5", None, False])
def test_an_adjustment_must_be_a_non_zero_whole_number(account, build, delta):
    admin = build.staff("admin")
    with pytest.raises(InvalidPoints):
        ledger.adjust_points(account.id, delta, reason="bad", actor_id=admin.id)
    assert ledger.list_entries(account.id) == []


def test_an_adjustment_needs_a_reason(account, build):
    admin = build.staff("admin")
    with pytest.raises(InvalidReason):
        ledger.adjust_points(account.id, 5, reason="", actor_id=admin.id)


def test_an_admin_adjustment_of_a_volunteer_is_authorized_and_audited(build):
    user = build.volunteer(points=10)
    admin = build.staff("admin", build.tree()["districts"][0])

    adjust_volunteer_points(admin, user.volunteer, 7, "Found paper records")

    assert build.account(user).balance == 17
    [event] = list_audit_events(action="ledger.adjust")
    assert event.actor_id == admin.id
    assert (event.before, event.after["balance"], event.after["delta"]) == ({"balance": 10}, 17, 7)


def test_an_admin_of_another_subtree_cannot_adjust(build):
    user = build.volunteer(points=10)  # lives in district 1
    outsider = build.staff("admin", build.tree()["districts"][1])
    counter = build.staff("counter", build.community)

    for actor in (outsider, counter):
        with pytest.raises(PermissionDenied):
            adjust_volunteer_points(actor, user.volunteer, 7, "Found paper records")
    assert build.account(user).balance == 10
    assert list_audit_events(action="ledger.adjust") == []


def test_a_refused_adjustment_writes_no_audit_event(build):
    user = build.volunteer(points=10)
    admin = build.staff("admin")
    with pytest.raises(InsufficientPoints):
        adjust_volunteer_points(admin, user.volunteer, -11, "too much")
    assert list_audit_events(action="ledger.adjust") == []
