"""Redeeming at a counter: scan a member, choose a perk, confirm."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from points_service.audit.models import AuditEvent
from points_service.codes import damm_digit
from points_service.errors import NotFound, PermissionDenied
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.perks import service as perks
from points_service.perks.errors import InvalidCode, NotEligible, NotHonoredHere, VoucherNotUsable
from points_service.timeutil import utcnow
from tests.builders.perks import redeem_with_code, request_key, stars
from tests.ledger.helpers import lots_of, movements_of
from tests.perks.helpers import count_redemptions


def test_scanning_a_member_shows_masked_name_balance_level_and_the_perks_with_reasons(build, district, clerk):
    volunteer = build.volunteer(points=40, name="Wang Xiaoming")
    build.perk(name="Parking", points_cost=30)
    build.perk(name="Priority", kind="priority_service", points_cost=5, min_stars=3)

    view = perks.counter_lookup(clerk, district, f" {volunteer.volunteer.member_no} ", level_of=stars(2))

    assert isinstance(view, perks.MemberView)
    assert view.masked_name == "W" + "*" * 12
    assert view.balance == 40
    assert view.level.stars == 2
    assert [option.perk.name for option in view.eligible] == ["Parking"]
    assert [(option.perk.name, [str(r) for r in option.reasons]) for option in view.ineligible] == [
        ("Priority", ["Level too low: needs 3 stars, has 2."])
    ]


def test_redeeming_debits_the_oldest_lots_first_and_takes_the_stock(build, district, clerk):
    volunteer = build.volunteer()
    account = build.account(volunteer)
    now = utcnow()
    ledger.earn_points(account.id, 20, reason="older", now=now - timedelta(days=10))
    ledger.earn_points(account.id, 50, reason="newer", now=now - timedelta(days=1))
    perk = build.perk(kind="goods", points_cost=15, stock=3)

    redemption = redeem_with_code(
        clerk, district, volunteer.volunteer.member_no, perk.id, 2, request_key("confirm-1"), level_of=stars(0)
    )

    assert (redemption.status, redemption.channel, redemption.points, redemption.quantity) == (
        "fulfilled",
        "counter",
        30,
        2,
    )
    assert redemption.counter_organization_id == district.id and redemption.fulfilled_by_id == clerk.id
    older, newer = lots_of(account.id)
    assert movements_of(redemption.redeem_entry) == {older[0]: 20, newer[0]: 10}
    assert redemption.redeem_entry.balance_after == 40
    assert perk.stock == 1
    assert redemption.payment_status == "none"
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "redemption.redeem")).scalar_one()
    assert event.actor_id == clerk.id and event.organization_id == district.id and event.after["points"] == 30
    assert ledger.verify_ledger().discrepancies == []
    assert perks.check_redemptions() == []


def test_a_co_payment_is_recorded_as_collected_at_the_counter(build, district, clerk):
    volunteer = build.volunteer(points=100)
    perk = build.perk(name="Haircut", kind="other", points_cost=20, copay_amount=500)

    redemption = redeem_with_code(
        clerk, district, volunteer.volunteer.member_no, perk.id, 1, request_key("k"), level_of=stars(0)
    )

    assert (redemption.copay_amount, redemption.copay_currency) == (500, "CNY")
    assert (redemption.payment_status, redemption.payment_method) == ("paid", "counter")
    assert redemption.payment_reference == f"counter:{redemption.receipt_number}"


def test_an_ineligible_redemption_is_refused_with_its_reason_and_changes_nothing(build, district, clerk):
    volunteer = build.volunteer(points=10)
    perk = build.perk(points_cost=15, stock=4)

    with pytest.raises(NotEligible) as refused:
        redeem_with_code(
            clerk, district, volunteer.volunteer.member_no, perk.id, 1, request_key("k"), level_of=stars(0)
        )

    assert refused.value.render_message() == "Not enough points: 15 needed, 10 available."
    assert refused.value.details == {"reasons": ["not_enough_points"]}
    db.session.expire_all()
    assert build.account(volunteer).balance == 10 and perk.stock == 4 and count_redemptions() == 0


def test_a_quantity_larger_than_the_stock_is_refused(build, district, clerk):
    volunteer = build.volunteer(points=100)
    perk = build.perk(points_cost=1, stock=2)

    with pytest.raises(NotEligible, match="out_of_stock|Only 2 left"):
        redeem_with_code(
            clerk, district, volunteer.volunteer.member_no, perk.id, 3, request_key("k"), level_of=stars(0)
        )


def test_a_perk_not_honored_at_this_counter_is_refused_and_nothing_changes(build, district, clerk):
    volunteer = build.volunteer(points=100)
    perk = build.perk(name="West parking", venues=[build.tree()["districts"][1]])

    with pytest.raises(NotHonoredHere, match="West parking is not honored at this counter"):
        redeem_with_code(
            clerk, district, volunteer.volunteer.member_no, perk.id, 1, request_key("k"), level_of=stars(0)
        )

    assert count_redemptions() == 0 and build.account(volunteer).balance == 100


def test_a_mistyped_member_number_fails_its_check_digit(build, district, clerk):
    volunteer = build.volunteer(points=100)
    digits = volunteer.volunteer.member_no
    typo = digits[:4] + str((int(digits[4]) + 1) % 10) + digits[5:]

    with pytest.raises(InvalidCode, match="check digit"):
        perks.counter_lookup(clerk, district, typo, level_of=stars(0))
    with pytest.raises(InvalidCode, match="Scan or type"):
        perks.counter_lookup(clerk, district, "  ", level_of=stars(0))
    with pytest.raises(InvalidCode, match="voucher code is not valid"):
        perks.counter_lookup(clerk, district, "V0000", level_of=stars(0))


def test_an_unknown_but_well_formed_member_number_is_not_found(build, district, clerk):
    build.tree()
    body = "12345678901"
    with pytest.raises(NotFound, match="No volunteer"):
        perks.counter_lookup(clerk, district, body + damm_digit(body), level_of=stars(0))


def test_only_counter_staff_of_this_place_can_use_its_counter(build, district):
    tree = build.tree()
    volunteer = build.volunteer(points=100)
    perk = build.perk()
    other_clerk = build.counter_clerk(tree["districts"][1])
    organizer = build.staff("organizer", district)

    for actor in (volunteer, other_clerk, organizer):
        with pytest.raises(PermissionDenied):
            perks.counter_lookup(actor, district, volunteer.volunteer.member_no, level_of=stars(0))
        with pytest.raises(PermissionDenied):
            redeem_with_code(
                actor, district, volunteer.volunteer.member_no, perk.id, 1, request_key("k"), level_of=stars(0)
            )
    assert count_redemptions() == 0


def test_a_counter_user_works_at_the_node_of_each_counter_role(build):
    tree = build.tree()
    clerk = build.counter_clerk(tree["districts"][0])
    assert perks.counter_locations(clerk) == [tree["districts"][0]]
    from points_service.accounts.service import grant_role

    grant_role(clerk, "counter", tree["communities"][3])
    assert perks.counter_locations(clerk) == [tree["districts"][0], tree["communities"][3]]
    assert perks.counter_locations(build.volunteer()) == []


def test_scanning_a_voucher_shows_it_ready_for_one_confirm(build, district, clerk):
    volunteer = build.volunteer(points=100, name="Li Lei")
    perk = build.perk(name="Rice", kind="goods", stock=5)
    reserved = perks.reserve_perk(volunteer, perk.id, 1, request_key("r"), level_of=stars(0))

    view = perks.counter_lookup(clerk, district, reserved.voucher_code.lower(), level_of=stars(0))

    assert isinstance(view, perks.VoucherView)
    assert view.redemption.id == reserved.id and view.masked_name == "L*****"


def test_a_voucher_for_a_perk_not_honored_here_is_refused(build, clerk, district):
    tree = build.tree()
    volunteer = build.volunteer(points=100)
    perk = build.perk(name="West rice", venues=[tree["districts"][1]])
    reserved = perks.reserve_perk(volunteer, perk.id, 1, request_key("r"), level_of=stars(0))

    with pytest.raises(NotHonoredHere, match="This voucher is for West rice"):
        perks.counter_lookup(clerk, district, reserved.voucher_code, level_of=stars(0))
    with pytest.raises(NotHonoredHere):
        perks.fulfil_voucher(clerk, district, reserved.voucher_code, request_key("f"))
    db.session.refresh(reserved)
    assert reserved.status == "reserved"


def test_an_unknown_voucher_code_changes_nothing(build, clerk, district):
    from points_service.codes import new_voucher_code

    build.tree()
    with pytest.raises(InvalidCode, match="No voucher has that code"):
        perks.counter_lookup(clerk, district, new_voucher_code(), level_of=stars(0))


def test_a_used_voucher_is_refused_with_the_day_it_was_used(build, clerk, district):
    volunteer = build.volunteer(points=100)
    reserved = perks.reserve_perk(volunteer, build.perk().id, 1, request_key("r"), level_of=stars(0))
    perks.fulfil_voucher(clerk, district, reserved.voucher_code, request_key("f-1"))

    with pytest.raises(VoucherNotUsable, match="already used on"):
        perks.counter_lookup(clerk, district, reserved.voucher_code, level_of=stars(0))
    with pytest.raises(VoucherNotUsable, match="already used on"):
        perks.fulfil_voucher(clerk, district, reserved.voucher_code, request_key("f-2"))
