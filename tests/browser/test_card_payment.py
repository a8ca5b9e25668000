"""Paying the cash part of a perk by card in a real browser, on a phone, in both languages.

Stripe.js is the mock's own (``localstripe`` serves a fake one whose card Element is
plain inputs talking to the mock). That fake has no ``createPaymentMethod``: the test
adds one (``COMPLETE_FAKE_STRIPE_JS``) that posts the Element's card fields to the mock's
``/v1/payment_methods``, as the real Stripe.js does to Stripe. The mock only takes a
secret key there, so the test adds it to that one request on its way; the page itself
only ever holds the publishable key.
"""

import re

import pytest
from playwright.sync_api import expect

from points_service.extensions import db
from tests.browser.support import accessibility_problems, log_in, save_screenshot, sideways_overflow
from tests.builders.perks import phone_scan
from tests.stripe_mock import DECLINED, SECRET_KEY, SUCCEEDS

pytestmark = pytest.mark.browser

COMPLETE_FAKE_STRIPE_JS = """
;(function () {
  var makeStripe = Stripe;
  Stripe = function (key, options) {
    var stripe = makeStripe(key, options);
    stripe.createPaymentMethod = async function (data) {
      var card = data.card.value.card;
      var body = new URLSearchParams({
        type: "card", "card[number]": card.number, "card[exp_month]": card.exp_month,
        "card[exp_year]": card.exp_year, "card[cvc]": card.cvc
      });
      var response = await fetch(LOCALSTRIPE_BASE_API + "/v1/payment_methods", {method: "POST", body: body});
      var answer = await response.json();
      return response.ok ? {paymentMethod: answer} : {error: answer.error};
    };
    return stripe;
  };
})();
"""


def use_mock_stripe_js(page, mock):
    def complete_script(route):
        answer = route.fetch()
        route.fulfill(response=answer, body=answer.text() + COMPLETE_FAKE_STRIPE_JS)

    def sign_for_the_mock(route):
        route.continue_(headers={**route.request.headers, "authorization": f"Bearer {SECRET_KEY}"})

    page.route(mock.script_url, complete_script)
    page.route(f"{mock.url}/v1/payment_methods", sign_for_the_mock)


@pytest.fixture
def shop(build):
    district = build.tree()["districts"][0]
    haircut = build.perk(name="Haircut", kind="other", points_cost=20, copay_amount=500, stock=3)
    clerk = build.counter_clerk(district, username="desk")
    admin = build.staff("admin", build.tree()["city"], username="boss")
    volunteer = build.volunteer(points=100)
    db.session.commit()
    return volunteer, haircut, clerk, admin


def type_card(page, number):
    """Type a card into the card Element the way a person does, field by field."""
    element = page.locator("[data-card-element]")
    element.locator("input[placeholder=number]").press_sequentially(number)
    element.locator("input[placeholder=exp_month]").press_sequentially("12")
    element.locator("input[placeholder=exp_year]").press_sequentially("34")
    element.locator("input[placeholder=cvc]").press_sequentially("123")


def open_perk_page(page, live_server, mock, volunteer, perk, language):
    use_mock_stripe_js(page, mock)
    log_in(page, live_server, volunteer.mobile)
    page.goto(f"{live_server}/perks/{perk.id}")
    expect(page.locator("[data-card-submit]")).to_be_enabled()  # the card Element is mounted
    assert accessibility_problems(page) == []
    assert sideways_overflow(page) <= 0
    save_screenshot(page, "perk-card-payment")
    assert page.evaluate("document.documentElement.lang").startswith(language)


def look_at_staff_pages(new_page, live_server, volunteer, locale):
    """The counter's cash-or-card choice and the desk's comparison with Stripe, for the screenshots."""
    counter = new_page(locale=locale)
    log_in(counter, live_server, "desk")
    counter.locator("[data-testid=scan]").press_sequentially(phone_scan(volunteer.volunteer.member_no))
    counter.keyboard.press("Enter")
    expect(counter.locator("[data-testid=copay-choice]")).to_be_visible()
    assert accessibility_problems(counter) == []
    save_screenshot(counter, "counter-copay-choice")

    desk = new_page(locale=locale, width=1280, height=800)
    log_in(desk, live_server, "boss")
    desk.goto(f"{live_server}/admin/reports/payments")
    expect(desk.locator("[data-testid=payments-reconciled]")).to_be_visible()
    assert accessibility_problems(desk) == []
    save_screenshot(desk, "admin-payments-reconciliation")


def test_a_volunteer_pays_the_cash_part_by_card_and_gets_a_usable_voucher(
    build, live_server, new_page, stripe_mock, shop, assert_verified
):
    volunteer, haircut, _clerk, _admin = shop
    page = new_page(locale="en-US")
    open_perk_page(page, live_server, stripe_mock, volunteer, haircut, "en")

    type_card(page, SUCCEEDS)
    page.click("[data-card-submit]")

    page.wait_for_url(re.compile(r"/perks/vouchers/\d+$"))
    expect(page.locator("[data-testid=voucher-code]")).to_be_visible()
    assert "paid by card" in page.inner_text("main")
    db.session.rollback()  # end this test's read snapshot: the server wrote meanwhile
    assert build.account(volunteer).balance == 80 and haircut.stock == 2
    [intent] = stripe_mock.payment_intents()
    assert (intent.status, intent.amount, intent.currency) == ("succeeded", 500, "cny")
    assert_verified()

    look_at_staff_pages(new_page, live_server, volunteer, "en-US")


def test_a_declined_card_says_so_in_chinese_and_the_points_come_back(
    build, live_server, new_page, stripe_mock, shop, assert_verified
):
    volunteer, haircut, _clerk, _admin = shop
    page = new_page(locale="zh-CN")
    open_perk_page(page, live_server, stripe_mock, volunteer, haircut, "zh")

    type_card(page, DECLINED)
    page.click("[data-card-submit]")

    expect(page.locator(".error", has_text="银行卡被拒绝")).to_be_visible()
    assert "未扣任何款项，20 积分已退回。" in page.inner_text("main")
    assert re.search(rf"/perks/{haircut.id}/reserve$", page.url)
    expect(page.locator("[data-card-submit]")).to_be_enabled()  # a new try is offered
    assert page.locator("[data-testid=voucher-code]").count() == 0
    db.session.rollback()  # end this test's read snapshot: the server wrote meanwhile
    assert build.account(volunteer).balance == 100 and haircut.stock == 3
    assert [intent.status for intent in stripe_mock.payment_intents()] == ["canceled"]
    assert_verified()

    look_at_staff_pages(new_page, live_server, volunteer, "zh-CN")
