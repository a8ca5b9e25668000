"""Online reservations: a voucher that holds points and stock until it is used or expires."""

from datetime import timedelta

import pytest

from points_service.codes import is_valid_voucher_code
from points_service.errors import PermissionDenied
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.perks import service as perks
from points_service.perks.errors import NotEligible, RedemptionNotFound, VoucherNotUsable
from points_service.timeutil import utcnow
from tests.builders.perks import request_key, stars
from tests.ledger.helpers import lots_of
from tests.perks.helpers import count_entries, count_redemptions


@pytest.fixture
def app_config():
    return {"VOUCHER_TTL_MINUTES": 90}


def two_lots(build, volunteer):
    account = build.account(volunteer)
    now = utcnow()
    ledger.earn_points(account.id, 20, reason="older", now=now - timedelta(days=3))
    ledger.earn_points(account.id, 30, reason="newer", now=now - timedelta(days=1))
    return account


def test_reserving_debits_points_takes_stock_and_issues_an_unguessable_voucher(build):
    volunteer = build.volunteer(points=100)
    perk = build.perk(kind="goods", points_cost=30, stock=4)
    now = utcnow()

    first = perks.reserve_perk(volunteer, perk.id, 1, request_key("r-1"), level_of=stars(0), now=now)
    second = perks.reserve_perk(volunteer, perk.id, 2, request_key("r-2"), level_of=stars(0), now=now)

    assert (first.status, first.channel, first.points) == ("reserved", "online", 30)
    assert is_valid_voucher_code(first.voucher_code) and first.voucher_code != second.voucher_code
    assert first.voucher_expires_at == now + timedelta(minutes=90)
    assert perk.stock == 1
    assert build.account(volunteer).balance == 100 - 30 - 60


def test_a_voucher_never_outlives_the_perk(build):
    volunteer = build.volunteer(points=100)
    now = utcnow()
    perk = build.perk(valid_until=now + timedelta(minutes=20))

    redemption = perks.reserve_perk(volunteer, perk.id, 1, request_key("r"), level_of=stars(0), now=now)

    assert redemption.voucher_expires_at == now + timedelta(minutes=20)


def test_a_perk_with_a_co_payment_is_cash_at_the_counter_only_without_card_payment_set_up(build):
    volunteer = build.volunteer(points=100)
    perk = build.perk(points_cost=10, copay_amount=300, stock=2)

    with pytest.raises(NotEligible, match="Cash at the counter only"):
        perks.reserve_perk(volunteer, perk.id, 1, request_key("r"), level_of=stars(0))

    db.session.expire_all()
    assert count_redemptions() == 0 and perk.stock == 2 and build.account(volunteer).balance == 100
    option = perks.volunteer_catalog(volunteer, level_of=stars(0), perk_id=perk.id).option
    assert [reason.code for reason in option.reasons] == ["copay_at_counter"]


def test_staff_without_a_volunteer_profile_cannot_reserve(build):
    perk = build.perk()
    with pytest.raises(PermissionDenied):
        perks.reserve_perk(build.counter_clerk(), perk.id, 1, request_key("r"), level_of=stars(0))


def test_an_expired_voucher_returns_points_to_the_same_lots_and_the_stock_exactly_once(build):
    volunteer = build.volunteer()
    account = two_lots(build, volunteer)
    lots_before = lots_of(account.id)
    perk = build.perk(points_cost=25, stock=3)
    now = utcnow()
    redemption = perks.reserve_perk(volunteer, perk.id, 1, request_key("r"), level_of=stars(0), now=now)
    assert [lot[2] for lot in lots_of(account.id)] == [0, 25]

    assert perks.expire_reservations(now + timedelta(minutes=89)) == (0, 0)
    assert perks.expire_reservations(now + timedelta(minutes=90)) == (1, 25)
    assert perks.expire_reservations(now + timedelta(minutes=91)) == (0, 0)

    db.session.expire_all()
    assert lots_of(account.id) == lots_before
    assert perk.stock == 3 and build.account(volunteer).balance == 50
    assert (redemption.status, redemption.expired_at) == ("expired", now + timedelta(minutes=90))
    assert redemption.return_entry.reverses_entry_id == redemption.redeem_entry_id
    assert count_entries("reverse") == 1
    assert ledger.verify_ledger().discrepancies == [] and perks.check_redemptions() == []


def test_looking_a_voucher_up_after_its_time_expires_it_on_the_spot(build, clerk, district):
    volunteer = build.volunteer(points=60)
    perk = build.perk(points_cost=60, stock=1)
    now = utcnow()
    redemption = perks.reserve_perk(volunteer, perk.id, 1, request_key("r"), level_of=stars(0), now=now)
    later = now + timedelta(minutes=120)

    with pytest.raises(VoucherNotUsable, match="expired on .*points were returned"):
        perks.counter_lookup(clerk, district, redemption.voucher_code, level_of=stars(0), now=later)
    with pytest.raises(VoucherNotUsable, match="expired"):
        perks.fulfil_voucher(clerk, district, redemption.voucher_code, request_key("f"), now=later)

    db.session.expire_all()
    assert redemption.status == "expired" and perk.stock == 1 and build.account(volunteer).balance == 60
    assert perks.voucher_of(volunteer, redemption.id, now=later).status == "expired"
    assert count_entries("reverse") == 1


def test_the_volunteers_voucher_list_expires_overdue_vouchers(build):
    volunteer = build.volunteer(points=60)
    perk = build.perk(points_cost=20)
    now = utcnow()
    old = perks.reserve_perk(
        volunteer, perk.id, 1, request_key("old"), level_of=stars(0), now=now - timedelta(minutes=100)
    )
    fresh = perks.reserve_perk(volunteer, perk.id, 1, request_key("fresh"), level_of=stars(0), now=now)

    listed = perks.volunteer_vouchers(volunteer, now=now)

    assert [(r.id, r.status) for r in listed] == [(fresh.id, "reserved"), (old.id, "expired")]
    assert build.account(volunteer).balance == 40


def test_reserve_fulfil_void_restores_the_lots_and_the_stock_exactly(build, clerk, district):
    volunteer = build.volunteer()
    account = two_lots(build, volunteer)
    lots_before = lots_of(account.id)
    perk = build.perk(kind="goods", points_cost=40, stock=2)

    reserved = perks.reserve_perk(volunteer, perk.id, 1, request_key("r"), level_of=stars(0))
    fulfilled = perks.fulfil_voucher(clerk, district, reserved.voucher_code, request_key("f"))
    assert (fulfilled.id, fulfilled.status, fulfilled.counter_organization_id) == (
        reserved.id,
        "fulfilled",
        district.id,
    )
    assert perk.stock == 1

    voided = perks.void_redemption(clerk, reserved.id, "volunteer changed their mind")

    db.session.expire_all()
    assert voided.status == "voided" and voided.void_reason == "volunteer changed their mind"
    assert lots_of(account.id) == lots_before
    assert perk.stock == 2 and build.account(volunteer).balance == 50
    assert ledger.verify_ledger().discrepancies == [] and perks.check_redemptions() == []


def test_confirming_a_voucher_twice_with_the_same_key_fulfils_it_once(build, clerk, district):
    volunteer = build.volunteer(points=50)
    reserved = perks.reserve_perk(volunteer, build.perk().id, 1, request_key("r"), level_of=stars(0))

    first = perks.fulfil_voucher(clerk, district, reserved.voucher_code, request_key("same"))
    again = perks.fulfil_voucher(clerk, district, reserved.voucher_code, request_key("same"))

    assert first.id == again.id and again.status == "fulfilled"


def test_a_volunteer_can_cancel_an_unused_voucher(build):
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=20, stock=1)
    reserved = perks.reserve_perk(volunteer, perk.id, 1, request_key("r"), level_of=stars(0))

    cancelled = perks.cancel_reservation(volunteer, reserved.id)
    again = perks.cancel_reservation(volunteer, reserved.id)

    assert cancelled.status == again.status == "voided"
    assert perk.stock == 1 and build.account(volunteer).balance == 50 and count_entries("reverse") == 1


def test_a_volunteer_sees_only_their_own_vouchers(build):
    owner = build.volunteer(points=50)
    other = build.volunteer(points=50)
    reserved = perks.reserve_perk(owner, build.perk().id, 1, request_key("r"), level_of=stars(0))

    with pytest.raises(RedemptionNotFound):
        perks.voucher_of(other, reserved.id)
    with pytest.raises(RedemptionNotFound):
        perks.cancel_reservation(other, reserved.id)
    assert perks.volunteer_vouchers(other) == []


def test_the_expire_command_expires_vouchers_and_reports_them(build, runner):
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=20)
    perks.reserve_perk(volunteer, perk.id, 1, request_key("r"), level_of=stars(0), now=utcnow() - timedelta(days=1))
    db.session.commit()

    result = runner.invoke(args=["points", "expire"])

    assert result.exit_code == 0, result.output
    assert "expired 1 vouchers, returned 20 points" in result.output
    db.session.expire_all()
    assert build.account(volunteer).balance == 50
