"""The counter page over HTTP: scan, choose, confirm; vouchers; voids; bad input."""

import re

import pytest
from sqlalchemy import func, select

from points_service.extensions import db
from points_service.ledger.models import LedgerEntry
from points_service.perks import service as perks
from points_service.perks.models import Redemption
from tests.builders import PASSWORD
from tests.builders.perks import phone_scan, request_key, stars


@pytest.fixture
def district(build):
    return build.tree()["districts"][0]


@pytest.fixture
def clerk(build, auth, district):
    user = build.counter_clerk(district, username="clerk")
    auth.login("clerk", PASSWORD)
    return user


def redemptions():
    return db.session.execute(select(Redemption).order_by(Redemption.id)).scalars().all()


def key_in(page):
    return re.search(rb'name="idempotency_key" value="([^"]+)"', page.data).group(1).decode()


def redeem_form(volunteer, perk, key, **extra):
    return {
        "member_no": phone_scan(volunteer.volunteer.member_no),
        "perk_id": perk.id,
        "quantity": 1,
        "idempotency_key": key,
        **extra,
    }


def test_the_counter_page_has_one_focused_scan_input_and_no_inline_script(client, clerk, district):
    page = client.get("/counter/")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(r'<input type="text" name="code" autofocus', html)
    assert "District 1" in html
    assert '<script src="/static/js/counter.js"></script>' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and " style=" not in html


def test_only_counter_staff_can_open_the_counter(client, build, auth):
    assert client.get("/counter/").status_code == 302  # to the login page
    volunteer = build.volunteer()
    auth.login(volunteer.mobile, PASSWORD)
    assert client.get("/counter/").status_code == 403
    assert client.post("/counter/scan", data={"code": volunteer.volunteer.member_no}).status_code == 403


def test_scanning_a_member_shows_the_masked_name_balance_level_and_perks(client, build, clerk):
    volunteer = build.volunteer(points=35, name="Chen Jing")
    db.session.get(type(volunteer.volunteer), volunteer.volunteer.id).verified_minutes = 650 * 60
    db.session.commit()
    parking = build.perk(name="Parking 2h", points_cost=30)
    priority = build.perk(name="Marriage counter priority", kind="priority_service", points_cost=5, min_stars=3)
    rice = build.perk(name="Rice", kind="goods", points_cost=80)

    page = client.post("/counter/scan", data={"code": volunteer.volunteer.member_no})

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "C********" in html and "Chen Jing" not in html
    assert re.search(r'data-testid="balance">35<', html)
    assert "3-star volunteer" in html and "650 verified hours" in html
    assert f'value="{parking.id}"' in html and f'value="{priority.id}"' in html
    assert f'value="{rice.id}"' not in html
    assert "Not enough points: 80 needed, 35 available." in html


def test_a_mistyped_code_shows_a_clear_message_and_changes_nothing(client, build, clerk):
    volunteer = build.volunteer(points=35)
    digits = volunteer.volunteer.member_no
    typo = (
        digits[:-2] + digits[-1] + digits[-2]
        if digits[-1] != digits[-2]
        else digits[:-1] + str((int(digits[-1]) + 1) % 10)
    )

    page = client.post("/counter/scan", data={"code": typo})

    assert page.status_code == 422
    assert "not a valid member number" in page.get_data(as_text=True)
    assert "data-scan-input" in page.get_data(as_text=True)
    assert redemptions() == []


def test_choose_and_confirm_redeems_and_shows_a_printable_receipt(client, build, clerk, district):
    volunteer = build.volunteer(points=50)
    perk = build.perk(name="Parking 2h", points_cost=30, stock=3)
    member_page = client.post("/counter/scan", data={"code": volunteer.volunteer.member_no})

    confirmed = client.post("/counter/redeem", data=redeem_form(volunteer, perk, key_in(member_page)))

    assert confirmed.status_code == 302
    (redemption,) = redemptions()
    assert confirmed.headers["Location"] == f"/counter/redemptions/{redemption.id}"
    assert volunteer.volunteer.member_no not in confirmed.headers["Location"]
    receipt = client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert redemption.receipt_number in receipt and "Parking 2h" in receipt
    assert re.search(r'data-testid="receipt-balance">20<', receipt)
    assert "data-print" in receipt and "Void this redemption" in receipt
    assert perk.stock == 2


def test_a_double_click_or_replayed_form_redeems_once(client, build, clerk):
    volunteer = build.volunteer(points=100)
    perk = build.perk(points_cost=30)
    form = redeem_form(volunteer, perk, "one-confirm")

    first = client.post("/counter/redeem", data=form)
    second = client.post("/counter/redeem", data=form)

    assert first.headers["Location"] == second.headers["Location"]
    assert len(redemptions()) == 1 and build.account(volunteer).balance == 70


def test_the_same_key_for_another_perk_is_refused_with_a_message(client, build, clerk):
    volunteer = build.volunteer(points=100)
    perk = build.perk(points_cost=30)
    other = build.perk(name="Tea", points_cost=10)
    client.post("/counter/redeem", data=redeem_form(volunteer, perk, "one-confirm"))

    page = client.post("/counter/redeem", data=redeem_form(volunteer, other, "one-confirm"))

    assert page.status_code == 409
    assert "already used for a different redemption" in page.get_data(as_text=True)
    assert len(redemptions()) == 1


def test_an_ineligible_choice_is_refused_on_the_member_page(client, build, clerk):
    volunteer = build.volunteer(points=20)
    perk = build.perk(points_cost=10, limit_quantity=1, limit_period="month")
    client.post("/counter/redeem", data=redeem_form(volunteer, perk, "first"))

    page = client.post("/counter/redeem", data=redeem_form(volunteer, perk, "second"))

    html = page.get_data(as_text=True)
    assert page.status_code == 409
    assert "Limit reached: 1 per month." in html and 'data-testid="member"' in html
    assert len(redemptions()) == 1


def test_a_perk_not_honored_here_is_refused(client, build, clerk):
    volunteer = build.volunteer(points=100)
    elsewhere = build.perk(name="West parking", venues=[build.tree()["districts"][1]])

    page = client.post("/counter/redeem", data=redeem_form(volunteer, elsewhere, "k"))

    assert page.status_code == 409
    assert "West parking is not honored at this counter" in page.get_data(as_text=True)
    assert redemptions() == []


def test_confirming_without_choosing_a_perk_asks_for_one(client, build, clerk):
    volunteer = build.volunteer(points=100)
    build.perk()

    page = client.post(
        "/counter/redeem", data={"member_no": phone_scan(volunteer.volunteer.member_no), "idempotency_key": "k"}
    )

    assert page.status_code == 409 and "Choose a perk first" in page.get_data(as_text=True)


def test_a_voucher_is_fulfilled_in_one_confirm(client, build, clerk):
    volunteer = build.volunteer(points=100)
    perk = build.perk(name="Rice", kind="goods", points_cost=40, stock=2)
    reserved = perks.reserve_perk(volunteer, perk.id, 1, request_key("r"), level_of=stars(0))
    db.session.commit()

    page = client.post("/counter/scan", data={"code": reserved.voucher_code})
    assert page.status_code == 200 and "Confirm: hand over" in page.get_data(as_text=True)
    confirmed = client.post("/counter/fulfil", data={"code": reserved.voucher_code, "idempotency_key": key_in(page)})

    assert confirmed.status_code == 302 and reserved.voucher_code not in confirmed.headers["Location"]
    db.session.expire_all()
    assert reserved.status == "fulfilled"
    again = client.post("/counter/scan", data={"code": reserved.voucher_code})
    assert again.status_code == 409 and "already used" in again.get_data(as_text=True)


def test_a_voucher_of_another_place_is_refused(client, build, clerk):
    volunteer = build.volunteer(points=100)
    perk = build.perk(name="West rice", venues=[build.tree()["districts"][1]])
    reserved = perks.reserve_perk(volunteer, perk.id, 1, request_key("r"), level_of=stars(0))
    db.session.commit()

    page = client.post("/counter/fulfil", data={"code": reserved.voucher_code, "idempotency_key": "f"})

    assert page.status_code == 409 and "not honored at this counter" in page.get_data(as_text=True)
    db.session.expire_all()
    assert reserved.status == "reserved"


def test_voiding_from_the_receipt_needs_a_reason_and_happens_once(client, build, clerk):
    volunteer = build.volunteer(points=100)
    perk = build.perk(points_cost=30, stock=5)
    client.post("/counter/redeem", data=redeem_form(volunteer, perk, "k"))
    (redemption,) = redemptions()
    url = f"/counter/redemptions/{redemption.id}/void"

    missing = client.post(url, data={"reason": " ", "idempotency_key": "v"})
    assert missing.status_code == 422 and "Give a reason" in missing.get_data(as_text=True)
    first = client.post(url, data={"reason": "wrong volunteer", "idempotency_key": "v"})
    second = client.post(url, data={"reason": "wrong volunteer", "idempotency_key": "v2"})

    assert first.status_code == second.status_code == 302
    receipt = client.get(first.headers["Location"]).get_data(as_text=True)
    assert "Voided" in receipt and "wrong volunteer" in receipt and "Void this redemption" not in receipt
    reverses = db.session.execute(select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == "reverse")).scalar_one()
    assert reverses == 1 and build.account(volunteer).balance == 100
    db.session.expire_all()
    assert perk.stock == 5


def test_todays_redemptions_are_listed_on_the_counter_page(client, build, clerk):
    volunteer = build.volunteer(points=100)
    perk = build.perk(name="Parking 2h", points_cost=30)
    client.post("/counter/redeem", data=redeem_form(volunteer, perk, "k"))

    html = client.get("/counter/").get_data(as_text=True)

    (redemption,) = redemptions()
    assert f"/counter/redemptions/{redemption.id}" in html and "Parking 2h" in html


def test_a_user_with_two_counters_chooses_one_once_per_session(client, build, auth):
    from points_service.accounts.service import grant_role

    tree = build.tree()
    user = build.counter_clerk(tree["districts"][0], username="two-places")
    grant_role(user, "counter", tree["districts"][1])
    auth.login("two-places", PASSWORD)

    chooser = client.get("/counter/")
    assert "Where is your counter?" in chooser.get_data(as_text=True)
    client.post("/counter/location", data={"organization_id": tree["districts"][1].id})

    page = client.get("/counter/").get_data(as_text=True)
    assert "Counter: District 2" in page
    client.post("/counter/location", data={"organization_id": tree["communities"][0].id})  # not theirs: ignored
    assert "Counter: District 2" in client.get("/counter/").get_data(as_text=True)


def test_counter_staff_see_the_counter_link_and_volunteers_the_perks_link(client, build, auth, clerk):
    assert 'href="/counter/"' in client.get("/counter/").get_data(as_text=True)
    auth.logout()
    volunteer = build.volunteer()
    auth.login(volunteer.mobile, PASSWORD)
    html = client.get("/me/").get_data(as_text=True)
    assert 'href="/perks/"' in html and 'href="/counter/"' not in html


def test_the_counter_pages_render_in_chinese(client, build, clerk):
    volunteer = build.volunteer(points=100)
    perk = build.perk(points_cost=30, copay_amount=500, limit_quantity=1, limit_period="week")
    client.post("/language/zh_CN")
    assert client.post("/counter/scan", data={"code": volunteer.volunteer.member_no}).status_code == 200
    confirmed = client.post("/counter/redeem", data=redeem_form(volunteer, perk, "k"))

    receipt = client.get(confirmed.headers["Location"])

    assert receipt.status_code == 200 and 'lang="zh-Hans"' in receipt.get_data(as_text=True)
    assert client.get("/counter/").status_code == 200


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "CODE_LOOKUP_RATELIMIT": "3 per minute"}])
def test_counter_code_lookups_are_rate_limited_per_clerk(client, build, auth, app_config):
    clerk = build.staff("counter")
    auth.login(clerk.username, PASSWORD)
    statuses = [client.post("/counter/scan", data={"code": "123456789012"}).status_code for _ in range(4)]
    assert statuses[:3] != [429, 429, 429]
    assert statuses[3] == 429


def test_the_members_open_vouchers_are_handed_over_in_one_tap_from_the_lookup(client, build, clerk, district):
    volunteer = build.volunteer(points=200)
    cup = build.perk(name="Thermos cup", kind="goods", points_cost=40, stock=3)
    elsewhere = build.perk(name="Swimming", points_cost=30, venues=[build.tree()["districts"][1]])
    expired = build.perk(name="Cinema", points_cost=20)
    kept = perks.reserve_perk(volunteer, cup.id, 1, request_key("cup"), level_of=stars(0))
    perks.reserve_perk(volunteer, elsewhere.id, 1, request_key("swim"), level_of=stars(0))
    old = perks.reserve_perk(volunteer, expired.id, 1, request_key("cinema"), level_of=stars(0))
    old.voucher_expires_at = old.created_at  # its time has passed
    db.session.commit()

    page = client.post("/counter/scan", data={"code": volunteer.volunteer.member_no})
    html = page.get_data(as_text=True)
    assert f'data-testid="open-voucher-{kept.id}"' in html
    assert "Swimming" not in html.split('data-testid="open-vouchers"')[1].split("</ul>")[0]  # not honored here
    assert f'data-testid="open-voucher-{old.id}"' not in html

    voucher_form = html.split(f'data-testid="open-voucher-{kept.id}"')[1]
    key = re.search(r'name="idempotency_key" value="([^"]+)"', voucher_form).group(1)
    handed = client.post("/counter/fulfil", data={"code": kept.voucher_code, "idempotency_key": key})
    assert handed.status_code == 302 and f"/counter/redemptions/{kept.id}" in handed.location
    again = client.post("/counter/fulfil", data={"code": kept.voucher_code, "idempotency_key": key})
    assert again.status_code == 302  # the same tap sent twice hands over once
    db.session.expire_all()
    assert db.session.get(Redemption, kept.id).status == "fulfilled"
    assert f'data-testid="open-voucher-{kept.id}"' not in client.post(
        "/counter/scan", data={"code": volunteer.volunteer.member_no}
    ).get_data(as_text=True)


def test_points_that_expire_soon_show_at_home_in_the_perks_and_at_the_counter(client, build, auth, clerk, district):
    from datetime import timedelta

    from points_service.ledger import service as ledger
    from points_service.timeutil import utcnow

    volunteer = build.volunteer(points=10)
    ledger.earn_points(
        build.account(volunteer).id,
        30,
        reason="test earning",
        cause_type="test",
        cause_id="soon",
        expires_at=utcnow() + timedelta(days=20),
    )
    ledger.earn_points(
        build.account(volunteer).id,
        50,
        reason="test earning",
        cause_type="test",
        cause_id="later",
        expires_at=utcnow() + timedelta(days=200),
    )
    db.session.commit()
    lookup = client.post("/counter/scan", data={"code": volunteer.volunteer.member_no}).get_data(as_text=True)
    assert lookup.count('data-testid="expiring"') == 1 and "30 points expire on" in lookup
    auth.logout()
    auth.login(volunteer.mobile, PASSWORD)
    for page in ("/me/", "/perks/"):
        html = client.get(page).get_data(as_text=True)
        assert html.count('data-testid="expiring"') == 1 and "30 points expire on" in html, page
