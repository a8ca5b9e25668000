"""Spending at a counter needs the rotating code on the member's phone or their PIN; the number alone finds."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from points_service.accounts import member_codes
from points_service.accounts.member_codes import (
    SpendCodeExpired,
    SpendCodeRequired,
    SpendCodeWrong,
    SpendLocked,
)
from points_service.audit.models import AuditEvent
from points_service.errors import ValidationError
from points_service.extensions import db
from points_service.perks import service as perks
from points_service.perks.errors import RedemptionNotFound
from tests.builders.perks import phone_scan, request_key, spend_code, stars
from tests.builders.threads import run_concurrently
from tests.perks.helpers import count_redemptions

# The start of a 30-second step, so "seconds later" is exact.
T0 = datetime(2026, 12, 3, 9, 0, 0)


def redeem(clerk, district, volunteer, perk, credential, *, key="k", now=T0, member_no=None):
    return perks.redeem_perk(
        clerk,
        district,
        member_no or volunteer.volunteer.member_no,
        perk.id,
        1,
        request_key(key),
        level_of=stars(0),
        credential=credential,
        now=now,
    )


@pytest.fixture
def member(build):
    return build.volunteer(points=100, mobile="13912345678")


@pytest.fixture
def perk(build):
    return build.perk(points_cost=10)


def test_the_printed_number_alone_finds_the_member_but_spends_nothing(build, clerk, district, member, perk):
    view = perks.counter_lookup(clerk, district, member.volunteer.member_no, level_of=stars(0))

    with pytest.raises(SpendCodeRequired) as refused:
        redeem(clerk, district, member, perk, None)

    assert view.balance == 100 and view.scanned_code is None
    assert refused.value.details == {"field": "member_code"} and "cannot spend" in refused.value.render_message()
    assert build.account(member).balance == 100 and count_redemptions() == 0


def test_the_phone_scan_carries_the_code_and_spends_in_one_scan(build, clerk, district, member, perk):
    scan = phone_scan(member.volunteer.member_no, T0)

    view = perks.counter_lookup(clerk, district, scan, level_of=stars(0), now=T0)
    redemption = redeem(clerk, district, member, perk, None, member_no=scan)

    assert len(scan) == 18 and view.member_no == member.volunteer.member_no and view.scanned_code == scan[12:]
    assert redemption.volunteer_id == member.volunteer.id and build.account(member).balance == 90


def test_a_code_lives_about_a_minute_then_the_counter_is_told_to_refresh_it(build, clerk, district, member, perk):
    code = spend_code(member.volunteer.member_no, T0)

    redeem(clerk, district, member, perk, code, key="a", now=T0 + timedelta(seconds=59))
    with pytest.raises(SpendCodeExpired) as expired:
        redeem(clerk, district, member, perk, code, key="b", now=T0 + timedelta(seconds=60))

    assert "refresh the code" in expired.value.render_message()
    assert build.account(member).balance == 90 and count_redemptions() == 1
    assert member_codes.credential_row(member.volunteer.id).failed_attempts == 0  # expired is not a guess


def test_a_code_typed_with_full_width_digits_and_spaces_is_accepted(build, clerk, district, member, perk):
    code = spend_code(member.volunteer.member_no, T0)
    typed = "".join(chr(ord(digit) + 0xFEE0) for digit in code[:3]) + "\u3000" + code[3:]

    redeem(clerk, district, member, perk, typed)

    assert build.account(member).balance == 90


def test_one_members_code_does_not_spend_anothers_points(build, clerk, district, member, perk):
    other = build.volunteer(points=100)

    with pytest.raises(SpendCodeWrong):
        redeem(clerk, district, other, perk, spend_code(member.volunteer.member_no, T0))

    assert build.account(other).balance == 100 and count_redemptions() == 0


def test_five_wrong_codes_lock_spending_for_fifteen_minutes_and_a_right_one_resets_the_count(
    build, clerk, district, member, perk
):
    right = spend_code(member.volunteer.member_no, T0)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for attempt in range(3):
        with pytest.raises(SpendCodeWrong):
            redeem(clerk, district, member, perk, wrong, key=f"w{attempt}")
    redeem(clerk, district, member, perk, right, key="ok")  # resets the count
    for attempt in range(4):
        with pytest.raises(SpendCodeWrong):
            redeem(clerk, district, member, perk, wrong, key=f"x{attempt}")
    with pytest.raises(SpendLocked):
        redeem(clerk, district, member, perk, wrong, key="x5")
    later = T0 + timedelta(minutes=14)
    with pytest.raises(SpendLocked) as locked:
        redeem(clerk, district, member, perk, spend_code(member.volunteer.member_no, later), key="y", now=later)
    after = T0 + timedelta(minutes=15, seconds=1)
    redeem(clerk, district, member, perk, spend_code(member.volunteer.member_no, after), key="z", now=after)

    assert "try again in 1 min" in locked.value.render_message()
    assert count_redemptions() == 2 and build.account(member).balance == 80


def test_wrong_guesses_at_once_are_all_counted(app, build, clerk, district, member, perk):
    db.session.commit()
    clerk_id, district_id, member_no = clerk.id, district.id, member.volunteer.member_no

    def guess(index):
        def attempt():
            from points_service.accounts.models import User
            from points_service.organizations.models import Organization

            actor, place = db.session.get(User, clerk_id), db.session.get(Organization, district_id)
            return perks.redeem_perk(
                actor, place, member_no, perk.id, 1, request_key(f"g{index}"), level_of=stars(0), credential="000000"
            )

        return attempt

    results = run_concurrently(app, [guess(index) for index in range(8)])

    db.session.rollback()
    row = member_codes.credential_row(member.volunteer.id)
    assert all(isinstance(result, (SpendCodeWrong, SpendLocked)) for result in results)
    assert sum(isinstance(result, SpendLocked) for result in results) >= 3  # five counted, then locked
    assert row.locked_until is not None and count_redemptions() == 0


def test_a_retry_with_the_same_key_replays_even_after_the_code_expired(build, clerk, district, member, perk):
    first = redeem(clerk, district, member, perk, spend_code(member.volunteer.member_no, T0))

    again = redeem(clerk, district, member, perk, "123456", now=T0 + timedelta(minutes=5))

    assert again.id == first.id and count_redemptions() == 1 and build.account(member).balance == 90


def test_a_pin_spends_with_the_printed_number_and_is_kept_only_as_a_hash(build, clerk, district, member, perk):
    member_codes.set_pin(member, member.volunteer, "2580", "２５８０")

    redeem(clerk, district, member, perk, "2580")
    with pytest.raises(SpendCodeWrong):
        redeem(clerk, district, member, perk, "2581", key="wrong")

    row = member_codes.credential_row(member.volunteer.id)
    assert "2580" not in row.pin_hash and build.account(member).balance == 90
    actions = db.session.execute(select(AuditEvent.action)).scalars().all()
    assert "member.pin_set" in actions


@pytest.mark.parametrize(
    "pin",
    ["1111", "1234", "4321", "123456", "1212", "121212", "123123", "5678", "12", "1234567", "12a4", "", "٣٣٣٤"],
)
def test_weak_or_malformed_pins_are_refused_and_nothing_is_stored(member, pin):
    with pytest.raises(ValidationError) as refused:
        member_codes.set_pin(member, member.volunteer, pin, pin)

    assert refused.value.details["field"] == "pin"
    assert not member_codes.has_pin(member.volunteer)


def test_the_end_of_the_mobile_or_member_number_is_not_a_pin(member):
    for pin in (member.mobile[-4:], member.volunteer.member_no[-6:]):
        with pytest.raises(ValidationError):
            member_codes.set_pin(member, member.volunteer, pin, pin)


def test_two_different_pins_are_refused(member):
    with pytest.raises(ValidationError) as refused:
        member_codes.set_pin(member, member.volunteer, "2580", "2581")

    assert refused.value.details["field"] == "pin_again"


def test_a_removed_pin_no_longer_spends(build, clerk, district, member, perk):
    member_codes.set_pin(member, member.volunteer, "2580", "2580")
    member_codes.remove_pin(member, member.volunteer)

    with pytest.raises(SpendCodeWrong):
        redeem(clerk, district, member, perk, "2580")

    assert build.account(member).balance == 100


def test_an_open_voucher_is_handed_over_from_the_members_page_only_with_the_code(build, clerk, district, member, perk):
    reserved = perks.reserve_perk(member, perk.id, 1, request_key("r"), level_of=stars(0), now=T0)

    with pytest.raises(SpendCodeRequired):
        perks.hand_over_voucher(clerk, district, member.volunteer.member_no, reserved.id, "", request_key("h1"), now=T0)
    handed = perks.hand_over_voucher(
        clerk,
        district,
        member.volunteer.member_no,
        reserved.id,
        spend_code(member.volunteer.member_no, T0),
        request_key("h2"),
        now=T0,
    )

    assert handed.id == reserved.id and handed.status == "fulfilled"


def test_another_members_voucher_cannot_be_handed_over_with_my_code(build, clerk, district, member, perk):
    other = build.volunteer(points=100)
    reserved = perks.reserve_perk(other, perk.id, 1, request_key("r"), level_of=stars(0), now=T0)

    with pytest.raises(RedemptionNotFound):
        perks.hand_over_voucher(
            clerk,
            district,
            member.volunteer.member_no,
            reserved.id,
            spend_code(member.volunteer.member_no, T0),
            request_key("h"),
            now=T0,
        )

    db.session.expire_all()
    assert perks.volunteer_vouchers(other, now=T0)[0].status == "reserved"


def test_the_code_comes_from_the_server_secret_too(app, member, monkeypatch):
    before = member_codes.rotating_code(member.volunteer, T0).digits
    monkeypatch.setitem(app.config, "SECRET_KEY", "another-secret-key-for-this-test")

    after = member_codes.rotating_code(member.volunteer, T0).digits

    assert before != after and len(after) == 6 and after.isdigit()
