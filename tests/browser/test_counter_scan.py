"""The counter page in a real browser, driven like a USB scanner: type the code, press Enter."""

import re

import pytest
from playwright.sync_api import expect

from points_service.extensions import db
from points_service.perks import service as perks
from tests.builders import PASSWORD
from tests.builders.perks import phone_scan, request_key, stars

pytestmark = pytest.mark.browser


def log_in(page, live_server, username):
    page.goto(f"{live_server}/login")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server}/counter/")
    page.wait_for_load_state("load")


def scan(page, code):
    """What a barcode scanner does: type into the focused input, then Enter."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def shown(page, selector):
    """Wait for ``selector`` on the next page and for the page's script to have run."""
    page.wait_for_selector(selector)
    page.wait_for_load_state("load")


def test_scan_choose_confirm_prints_a_receipt_with_the_new_balance(build, live_server, page):
    district = build.tree()["districts"][0]
    build.counter_clerk(district, username="desk")
    volunteer = build.volunteer(points=75, name="Zhao Min")
    build.perk(name="Parking 2h", points_cost=30, stock=5)
    rice = build.perk(name="Rice 5 kg", kind="goods", points_cost=50, stock=2)
    build.perk(name="Bicycle", kind="goods", points_cost=900)
    db.session.commit()

    log_in(page, live_server, "desk")
    expect(page.locator("[data-testid=scan]")).to_be_focused()
    scan(page, phone_scan(volunteer.volunteer.member_no))  # 1: scan the QR on the volunteer's phone
    shown(page, "[data-testid=member]")
    assert page.inner_text("[data-testid=member-name]") == "Z*******"
    assert page.inner_text("[data-testid=balance]") == "75"
    assert "Not enough points: 900 needed, 75 available." in page.inner_text("[data-testid=member]")
    assert volunteer.volunteer.member_no not in page.url

    page.click(f"[data-testid=perk-{rice.id}]")  # 2: choose
    page.keyboard.press("Enter")  # 3: confirm

    shown(page, "[data-testid=receipt]")
    assert re.search(r"/counter/redemptions/\d+$", page.url)
    assert "Rice 5 kg" in page.inner_text("[data-testid=receipt-perk]")
    assert page.inner_text("[data-testid=receipt-points]") == "50"
    assert page.inner_text("[data-testid=receipt-balance]") == "25"
    expect(page.locator("[data-testid=scan]")).to_be_focused()  # ready for the next volunteer
    db.session.rollback()  # end this test's read snapshot: the server wrote meanwhile
    assert build.account(volunteer).balance == 25 and rice.stock == 1


def test_a_scanned_voucher_is_handed_over_with_enter(build, live_server, page):
    build.counter_clerk(build.tree()["districts"][0], username="desk")
    volunteer = build.volunteer(points=60)
    perk = build.perk(name="Thermos cup", kind="goods", points_cost=40, stock=1)
    reserved = perks.reserve_perk(volunteer, perk.id, 1, request_key("r"), level_of=stars(0))
    db.session.commit()

    log_in(page, live_server, "desk")
    scan(page, reserved.voucher_code)
    shown(page, "[data-testid=voucher]")
    page.keyboard.press("Enter")  # the empty scan input confirms the voucher on screen

    shown(page, "[data-testid=receipt]")
    assert page.inner_text("[data-testid=receipt-status]") == "Used"
    assert page.inner_text("[data-testid=receipt-balance]") == "20"


def test_a_mistyped_scan_shows_the_message_and_keeps_the_input_focused(build, live_server, page):
    build.counter_clerk(build.tree()["districts"][0], username="desk")
    db.session.commit()

    log_in(page, live_server, "desk")
    scan(page, "123456789012")

    page.wait_for_selector("[role=alert]")
    assert "check digit" in page.inner_text("[role=alert]")
    expect(page.locator("[data-testid=scan]")).to_be_focused()
