"""Spending at a counter with the rotating code on the volunteer's phone, in both languages.

The volunteer's phone (390×844) shows the code; the counter (a laptop with a hand
scanner) reads it. The printed number alone finds the member but cannot spend, and an
old code is refused with "refresh the code".
"""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from points_service.extensions import db
from points_service.timeutil import utcnow
from tests.browser.support import accessibility_problems, log_in, save_screenshot, sideways_overflow
from tests.builders import PASSWORD
from tests.builders.perks import spend_code

pytestmark = pytest.mark.browser

REFRESH = {"en": "refresh the code", "zh": "刷新动态码"}
CANNOT_SPEND = {"en": "cannot spend points", "zh": "不能使用积分"}


def scan(page, code):
    """What a hand scanner does: type into the focused input, then Enter."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    page.wait_for_load_state("load")


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_the_counter_spends_with_the_phones_code_and_refuses_the_number_alone_or_an_old_code(
    build, live_server, new_page, locale
):
    language = locale.split("-")[0]
    district = build.tree()["districts"][0]
    build.counter_clerk(district, username="desk")
    volunteer = build.volunteer(points=80, name="刘芳", mobile="13900000456")
    perk = build.perk(name="Parking 2h", points_cost=30)
    db.session.commit()
    member_no = volunteer.volunteer.member_no

    # The phone shows the code: six digits under a QR that carries the member number too.
    phone = new_page(locale=locale, width=390, height=844)
    log_in(phone, live_server, volunteer.mobile)
    phone.goto(f"{live_server}/me/")
    phone.click("[data-testid=show-code]")
    expect(phone.locator("[data-testid=rotating-code]")).to_be_visible()
    assert phone.evaluate("document.documentElement.lang").startswith(language)
    assert accessibility_problems(phone) == [] and not sideways_overflow(phone)
    save_screenshot(phone, "volunteer-counter-code")

    counter = new_page(locale=locale, width=1280, height=800)
    log_in(counter, live_server, "desk")
    counter.goto(f"{live_server}/counter/")

    # The printed number alone: the member is found, but the confirm asks for the code.
    scan(counter, member_no)
    expect(counter.locator("[data-testid=code-needed]")).to_be_visible()
    assert CANNOT_SPEND[language] in counter.inner_text("[data-testid=code-needed]")
    counter.click(f"[data-testid=perk-{perk.id}]")
    counter.click("[data-confirm]")
    assert counter.locator("[data-testid=member-code-redeem]").evaluate("field => field.validity.valueMissing")
    assert accessibility_problems(counter) == []
    save_screenshot(counter, "counter-code-needed")

    # An old code (from two minutes ago) is refused: the clerk is told to have it refreshed.
    counter.fill("[data-testid=member-code-redeem]", spend_code(member_no, utcnow() - timedelta(minutes=2)))
    counter.click("[data-confirm]")
    counter.wait_for_selector("[role=alert]")
    assert REFRESH[language] in counter.inner_text("[role=alert]")
    db.session.rollback()  # the server wrote meanwhile
    assert build.account(volunteer).balance == 80
    save_screenshot(counter, "counter-code-expired")

    # The phone's code, read as the scanner reads its QR: found and spent in one confirm.
    phone.click("[data-testid=refresh-code]")
    digits = re.sub(r"\D", "", phone.inner_text("[data-testid=rotating-code]"))
    counter.locator("[data-testid=scan]").focus()
    scan(counter, member_no + digits)
    expect(counter.locator("[data-testid=code-scanned]")).to_be_visible()
    counter.click(f"[data-testid=perk-{perk.id}]")
    counter.keyboard.press("Enter")
    counter.wait_for_selector("[data-testid=receipt]")
    assert counter.inner_text("[data-testid=receipt-balance]") == "50"
    db.session.rollback()
    assert build.account(volunteer).balance == 50

    # Without a phone: a PIN set on the account page.
    phone.goto(f"{live_server}/account/")
    phone.fill("input[name=pin]", "2580")
    phone.fill("input[name=pin_again]", "2580")
    phone.fill("#pin input[name=password]", PASSWORD)
    phone.locator("form[action$='/account/pin'] button[type=submit]").click()
    phone.wait_for_load_state("load")
    phone.goto(f"{live_server}/account/#pin")
    expect(phone.locator("[data-testid=pin-state]")).to_contain_text("PIN")
    assert accessibility_problems(phone) == [] and not sideways_overflow(phone)
    save_screenshot(phone, "volunteer-account-pin")

    counter.locator("[data-testid=scan]").focus()
    scan(counter, member_no)  # the printed card
    counter.fill("[data-testid=member-code-redeem]", "2580")
    counter.click(f"[data-testid=perk-{perk.id}]")
    counter.click("[data-confirm]")
    counter.wait_for_selector("[data-testid=receipt]")
    assert counter.inner_text("[data-testid=receipt-balance]") == "20"
