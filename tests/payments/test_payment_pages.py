"""The pages around card payments: the volunteer's card form and the payment check after the
bank's confirmation, the counter's cash-or-card choice, the work list's retry of a card
refund, and the desk's comparison with Stripe."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from points_service.extensions import db
from points_service.payments import gateway
from points_service.payments.errors import PaymentUnavailable
from points_service.perks import service as perks
from points_service.perks.models import Redemption
from points_service.timeutil import utcnow
from tests.builders import PASSWORD
from tests.builders.perks import phone_scan, request_key, stars
from tests.stripe_mock import NEEDS_AUTHENTICATION, PUBLISHABLE_KEY, SUCCEEDS


@pytest.fixture
def haircut(build):
    return build.perk(name="Haircut", kind="other", points_cost=20, copay_amount=500, stock=3)


def log_in(client, auth, username):
    client.post("/logout")
    auth.login(username, PASSWORD)


def page_text(response):
    return response.get_data(as_text=True)


# -- the volunteer's card form -----------------------------------------------------------


def test_the_perk_page_takes_the_card_with_stripe_js_which_the_csp_allows_on_that_page_only(
    client, auth, build, stripe_mock, haircut
):
    volunteer = build.volunteer(points=100)
    log_in(client, auth, volunteer.mobile)

    page = client.get(f"/perks/{haircut.id}")

    html = page_text(page)
    assert f'<script src="{stripe_mock.script_url}"></script>' in html
    assert '<script src="/static/js/card.js"></script>' in html and "<script>" not in html
    assert f'data-stripe-key="{PUBLISHABLE_KEY}"' in html and "sk_test" not in html
    assert '<input type="hidden" name="payment_method" value=""' in html
    assert re.search(r"<noscript><p[^>]*>Paying by card needs JavaScript", html)
    assert re.search(r"<button[^>]*data-card-submit disabled>Reserve for 20 points and pay ¥5.00</button>", html)
    policy = page.headers["Content-Security-Policy"]
    for directive in ("script-src", "connect-src", "frame-src"):
        assert f"{directive} 'self' {stripe_mock.url}" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert stripe_mock.url not in client.get("/perks/").headers["Content-Security-Policy"]


def test_the_default_stripe_js_is_stripes_own_and_the_csp_names_stripes_origins(
    app, client, auth, build, stripe_mock, haircut
):
    app.config["STRIPE_JS_URL"] = "https://js.stripe.com/v3/"
    volunteer = build.volunteer(points=100)
    log_in(client, auth, volunteer.mobile)

    page = client.get(f"/perks/{haircut.id}")

    assert '<script src="https://js.stripe.com/v3/"></script>' in page_text(page)
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self' https://js.stripe.com;" in policy
    assert "connect-src 'self' https://js.stripe.com https://api.stripe.com;" in policy
    assert "frame-src 'self' https://js.stripe.com https://hooks.stripe.com;" in policy


def test_without_a_publishable_key_the_perk_page_offers_no_card_form_and_says_why(
    app, client, auth, build, stripe_mock, haircut
):
    app.config["STRIPE_PUBLISHABLE_KEY"] = ""
    volunteer = build.volunteer(points=100)
    log_in(client, auth, volunteer.mobile)

    page = client.get(f"/perks/{haircut.id}")

    html = page_text(page)
    assert "Card payment is not set up on this page: the cash part cannot be paid here." in html
    assert "/reserve" not in html and stripe_mock.url not in html
    assert stripe_mock.url not in page.headers["Content-Security-Policy"]


def test_a_reservation_sent_without_a_card_is_refused_naming_the_card_and_holds_nothing(
    client, auth, build, stripe_mock, haircut
):
    volunteer = build.volunteer(points=100)
    log_in(client, auth, volunteer.mobile)

    refused = client.post(f"/perks/{haircut.id}/reserve", data={"idempotency_key": "k-1", "payment_method": ""})

    assert refused.status_code == 422
    assert "The card details are missing or not valid." in page_text(refused)
    assert db.session.scalar(select(func.count()).select_from(Redemption)) == 0
    assert build.account(volunteer).balance == 100 and stripe_mock.payment_intents() == []


def test_a_card_payment_waiting_for_the_bank_is_confirmed_on_the_voucher_page_then_checked(
    client, auth, build, stripe_mock, haircut, assert_verified
):
    volunteer = build.volunteer(points=100)
    log_in(client, auth, volunteer.mobile)
    reserved = client.post(
        f"/perks/{haircut.id}/reserve",
        data={"idempotency_key": "k-1", "payment_method": stripe_mock.card(NEEDS_AUTHENTICATION)},
    )
    voucher = reserved.headers["Location"]

    waiting = client.get(voucher)

    [intent] = stripe_mock.payment_intents()
    html = page_text(waiting)
    assert f'data-client-secret="{intent.client_secret}"' in html
    assert "Confirm the payment with your bank" in html and 'data-testid="voucher-code"' not in html
    assert stripe_mock.url in waiting.headers["Content-Security-Policy"]

    not_yet = client.post(f"{voucher}/check-payment", follow_redirects=True)
    assert "still waiting for your bank" in page_text(not_yet)

    stripe_mock.authenticate(intent.id, success=True)
    checked = client.post(f"{voucher}/check-payment", follow_redirects=True)

    assert "Paid. Show this voucher at a service counter" in page_text(checked)
    assert 'data-testid="voucher-code"' in page_text(checked) and "data-client-secret" not in page_text(checked)
    db.session.expire_all()
    assert build.account(volunteer).balance == 80 and haircut.stock == 2
    assert_verified()


def test_a_failed_bank_confirmation_returns_the_points_with_a_clear_message_in_chinese(
    client, auth, build, stripe_mock, haircut, assert_verified
):
    volunteer = build.volunteer(points=100)
    log_in(client, auth, volunteer.mobile)
    client.post("/language/zh_CN", data={"next": "/"})
    reserved = client.post(
        f"/perks/{haircut.id}/reserve",
        data={"idempotency_key": "k-1", "payment_method": stripe_mock.card(NEEDS_AUTHENTICATION)},
    )
    [intent] = stripe_mock.payment_intents()
    stripe_mock.authenticate(intent.id, success=False)

    checked = client.post(f"{reserved.headers['Location']}/check-payment")

    assert checked.status_code == 402
    assert "未扣任何款项，20 积分已退回" in page_text(checked)
    db.session.expire_all()
    assert build.account(volunteer).balance == 100 and haircut.stock == 3
    assert_verified()


def test_nobody_checks_the_payment_of_another_volunteers_voucher(client, auth, build, stripe_mock, haircut):
    owner = build.volunteer(points=100)
    redemption = perks.reserve_perk(
        owner,
        haircut.id,
        1,
        request_key("r"),
        level_of=stars(0),
        payment_method=stripe_mock.card(NEEDS_AUTHENTICATION),
    )
    other = build.volunteer(points=100)
    log_in(client, auth, other.mobile)

    assert client.post(f"/perks/vouchers/{redemption.id}/check-payment").status_code == 404
    db.session.expire_all()
    assert db.session.get(Redemption, redemption.id).payment_status == "pending"


# -- the counter, the work list, the desk ------------------------------------------------


def test_the_counter_offers_cash_collected_by_the_clerk_by_name_or_a_card(client, auth, build, stripe_mock, haircut):
    district = build.tree()["districts"][0]
    clerk = build.counter_clerk(district, username="desk")
    volunteer = build.volunteer(points=100)
    log_in(client, auth, "desk")

    html = page_text(client.post("/counter/scan", data={"code": phone_scan(volunteer.volunteer.member_no)}))

    assert 'data-testid="copay-choice"' in html
    assert f"Paid in cash, collected by {clerk.name}" in html
    assert '<input type="radio" name="copay" value="card">' in html and "By card through Stripe" in html


def test_without_stripe_the_counter_offers_cash_only_and_says_why(client, auth, build, haircut):
    district = build.tree()["districts"][0]
    build.counter_clerk(district, username="desk")
    volunteer = build.volunteer(points=100)
    log_in(client, auth, "desk")

    html = page_text(client.post("/counter/scan", data={"code": phone_scan(volunteer.volunteer.member_no)}))

    assert "Cash at the counter only: card payment is not set up here." in html
    assert 'value="card"' not in html


def test_the_work_list_offers_to_retry_a_card_refund_that_failed_and_the_retry_refunds_it(
    client, auth, build, stripe_mock, haircut, monkeypatch, assert_verified
):
    district = build.tree()["districts"][0]
    clerk = build.counter_clerk(district)
    build.staff("admin", district, username="boss")
    volunteer = build.volunteer(points=100)
    redemption = perks.redeem_perk(
        clerk,
        district,
        phone_scan(volunteer.volunteer.member_no),
        haircut.id,
        1,
        request_key("k"),
        level_of=stars(0),
        card_payment_method=stripe_mock.card(SUCCEEDS),
    )
    refund = gateway.refund_payment

    def refused(*args, **kwargs):
        raise PaymentUnavailable()

    monkeypatch.setattr(gateway, "refund_payment", refused)
    perks.void_redemption(clerk, redemption.id, "wrong perk")
    log_in(client, auth, "boss")

    html = page_text(client.get("/organizer/work-list"))

    assert "Refund pending: the card refund through Stripe has not gone through." in html
    retry = f"/organizer/work-list/refunds/{redemption.id}/retry"
    assert f'action="{retry}"' in html and "Retry the card refund" in html

    failed = client.post(retry)
    assert failed.status_code == 503 and "it stays in the work list" in page_text(failed)

    monkeypatch.setattr(gateway, "refund_payment", refund)
    done = client.post(retry, follow_redirects=True)

    assert f"Receipt {redemption.receipt_number}: the card refund went through." in page_text(done)
    assert "Retry the card refund" not in page_text(done)
    db.session.expire_all()
    assert db.session.get(Redemption, redemption.id).payment_status == "refunded"
    assert_verified()


def test_the_payments_page_lists_the_mismatches_of_the_admins_own_organizations_only(client, auth, build, stripe_mock):
    districts = build.tree()["districts"]
    redemptions = []
    for number, district in enumerate(districts):
        volunteer = build.volunteer(community=build.tree()["communities"][2 * number], points=100)
        perk = build.perk(
            organization=district, venues=[district], name=f"Haircut {number}", points_cost=20, copay_amount=500
        )
        redemptions.append(
            perks.reserve_perk(
                volunteer,
                perk.id,
                1,
                request_key(f"r-{number}"),
                level_of=stars(0),
                payment_method=stripe_mock.card(SUCCEEDS),
            )
        )
        # Refunded at Stripe's dashboard, but still paid here: a mismatch.
        stripe_mock.client().v1.refunds.create({"payment_intent": redemptions[-1].payment_reference})
    build.staff("admin", districts[0], username="boss")
    log_in(client, auth, "boss")
    since = (utcnow() - timedelta(days=1)).date().isoformat()

    html = page_text(client.get(f"/admin/reports/payments?since={since}"))

    ours, theirs = redemptions
    assert "1 mismatch" in html and 'data-code="refunded_not_recorded"' in html
    assert f"R{ours.id:08d}" in html and ours.payment_reference in html
    assert f"R{theirs.id:08d}" not in html and theirs.payment_reference not in html
    assert "Stripe refunded CNY 5.00 but we record its payment as paid" in html

    refused = client.get("/admin/reports/payments?since=May 1st")
    assert refused.status_code == 422 and "Give the first day as YYYY-MM-DD" in page_text(refused)
