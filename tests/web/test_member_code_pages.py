"""The rotating member code over HTTP: the phone's page, the counter's confirm, the API, the PIN on the account page."""

import re

import pytest

from points_service.accounts import member_codes
from points_service.extensions import db
from tests.builders import PASSWORD
from tests.builders.perks import phone_scan, spend_code


@pytest.fixture
def district(build):
    return build.tree()["districts"][0]


@pytest.fixture
def member(build):
    return build.volunteer(points=50, mobile="13900001111")


def test_the_phone_shows_a_code_that_changes_and_is_never_cached(client, auth, member):
    auth.login(member.mobile, PASSWORD)

    page = client.get("/me/code")
    text = page.get_data(as_text=True)

    digits = re.search(r'data-testid="rotating-code"[^>]*>(\d{3}) (\d{3})<', text)
    assert page.status_code == 200 and digits
    assert "".join(digits.groups()) == spend_code(member.volunteer.member_no)
    assert page.headers["Cache-Control"] == "no-store" and 1 <= int(page.headers["Refresh"]) <= 31
    assert 'src="data:image/svg+xml' in text and member.volunteer.member_no in text


def test_the_phone_code_page_speaks_chinese(client, auth, member):
    auth.login(member.mobile, PASSWORD)

    text = client.get("/me/code", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)

    assert "刷新" in text and "Refresh the code" not in text


@pytest.fixture
def clerk(build, auth, district):
    user = build.counter_clerk(district, username="clerk")
    auth.login("clerk", PASSWORD)
    return user


def test_the_counter_asks_for_the_code_when_only_the_printed_number_was_scanned(client, build, clerk, member):
    perk = build.perk(points_cost=20)

    page = client.post("/counter/scan", data={"code": member.volunteer.member_no}).get_data(as_text=True)
    refused = client.post(
        "/counter/redeem", data={"member_no": member.volunteer.member_no, "perk_id": perk.id, "idempotency_key": "a"}
    )

    assert 'data-testid="code-needed"' in page and 'name="member_code"' in page and 'type="password"' in page
    assert refused.status_code == 422 and "cannot spend points" in refused.get_data(as_text=True)
    assert build.account(member).balance == 50


def test_scanning_the_phone_carries_the_code_to_the_confirm(client, build, clerk, member):
    perk = build.perk(points_cost=20)
    scan = phone_scan(member.volunteer.member_no)

    page = client.post("/counter/scan", data={"code": scan}).get_data(as_text=True)
    carried = re.search(r'name="member_code" value="(\d{6})"', page).group(1)
    confirmed = client.post(
        "/counter/redeem",
        data={
            "member_no": member.volunteer.member_no,
            "member_code": carried,
            "perk_id": perk.id,
            "idempotency_key": "b",
        },
    )

    assert 'data-testid="code-scanned"' in page and carried == scan[12:]
    assert confirmed.status_code == 302 and build.account(member).balance == 30


def test_a_typed_pin_spends_at_the_counter(client, build, clerk, member):
    perk = build.perk(points_cost=20)
    member_codes.set_pin(member, member.volunteer, "2580", "2580")

    confirmed = client.post(
        "/counter/redeem",
        data={
            "member_no": member.volunteer.member_no,
            "member_code": "2580",
            "perk_id": perk.id,
            "idempotency_key": "c",
        },
    )

    assert confirmed.status_code == 302 and build.account(member).balance == 30


def test_an_open_voucher_needs_the_code_to_be_handed_over_from_the_member_page(client, build, clerk, member):
    from points_service.perks import service as perks
    from tests.builders.perks import request_key, stars

    perk = build.perk(points_cost=20)
    reserved = perks.reserve_perk(member, perk.id, 1, request_key("r"), level_of=stars(0))
    form = {"member_no": member.volunteer.member_no, "redemption_id": reserved.id}

    page = client.post("/counter/scan", data={"code": member.volunteer.member_no}).get_data(as_text=True)
    refused = client.post("/counter/hand-over", data={**form, "idempotency_key": "h1"})
    handed = client.post(
        "/counter/hand-over",
        data={**form, "member_code": spend_code(member.volunteer.member_no), "idempotency_key": "h2"},
    )

    assert reserved.voucher_code not in page  # the page never shows the voucher's secret
    assert refused.status_code == 422
    db.session.expire_all()
    assert handed.status_code == 302 and perks.volunteer_vouchers(member)[0].status == "fulfilled"


def test_the_api_refuses_the_printed_number_alone_and_an_expired_code(client, build, district, member):
    perk = build.perk(points_cost=20)
    headers = build.bearer(build.counter_clerk(district), role="counter", organization=district)
    body = {"member_no": member.volunteer.member_no, "perk_id": perk.id}

    alone = client.post("/api/v1/redemptions", json=body, headers={**headers, "Idempotency-Key": "api-1"})
    wrong = client.post(
        "/api/v1/redemptions", json={**body, "member_code": "000000"}, headers={**headers, "Idempotency-Key": "api-2"}
    )
    right = client.post(
        "/api/v1/redemptions",
        json={**body, "member_code": spend_code(member.volunteer.member_no)},
        headers={**headers, "Idempotency-Key": "api-3"},
    )

    assert alone.status_code == 422 and alone.json["error"]["code"] == "spend_code_required"
    assert alone.json["error"]["details"]["field"] == "member_code"
    assert wrong.status_code == 403 and wrong.json["error"]["code"] in ("spend_code_wrong", "spend_code_expired")
    assert right.status_code == 201 and build.account(member).balance == 30


def test_a_volunteer_sets_and_removes_a_pin_with_the_password(client, auth, member):
    auth.login(member.mobile, PASSWORD)

    wrong_password = client.post("/account/pin", data={"pin": "2580", "pin_again": "2580", "password": "nope"})
    weak = client.post("/account/pin", data={"pin": "1234", "pin_again": "1234", "password": PASSWORD})
    assert not member_codes.has_pin(member.volunteer)
    set_pin = client.post("/account/pin", data={"pin": "2580", "pin_again": "2580", "password": PASSWORD})
    page = client.get("/account/").get_data(as_text=True)
    removed = client.post("/account/pin/remove", data={"remove-password": PASSWORD})

    assert wrong_password.status_code == 422 and weak.status_code == 422
    assert "too easy to guess" in weak.get_data(as_text=True)
    assert set_pin.status_code == 302 and "You have a counter PIN." in page
    assert removed.status_code == 302 and not member_codes.has_pin(member.volunteer)
