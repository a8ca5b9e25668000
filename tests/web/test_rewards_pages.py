"""The volunteer's perk pages: browse, reserve, voucher with QR, cancel."""

import re

import pytest
from sqlalchemy import select

from points_service.extensions import db
from points_service.perks.models import Redemption
from tests.builders import PASSWORD


@pytest.fixture
def volunteer(build, auth):
    user = build.volunteer(points=100)
    auth.login(user.mobile, PASSWORD)
    return user


def test_the_catalog_offers_eligible_perks_and_explains_the_others(client, build, volunteer):
    cup = build.perk(name="Thermos cup", kind="goods", points_cost=60, stock=3)
    build.perk(name="Bicycle", kind="goods", points_cost=500)
    build.perk(name="Haircut", kind="other", points_cost=10, copay_amount=500)

    html = client.get("/perks/").get_data(as_text=True)

    assert "You have 100 points to spend." in html
    assert f'href="/perks/{cup.id}"' in html and "3 left" in html
    assert "Not enough points: 500 needed, 100 available." in html
    assert "¥5.00" in html and "Cash at the counter only" in html


def test_reserving_leads_to_a_voucher_with_a_qr_code_and_the_code_never_in_a_url(client, build, volunteer):
    perk = build.perk(name="Thermos cup", kind="goods", points_cost=60, stock=3)
    page = client.get(f"/perks/{perk.id}")
    key = re.search(rb'name="idempotency_key" value="([^"]+)"', page.data).group(1).decode()

    reserved = client.post(f"/perks/{perk.id}/reserve", data={"idempotency_key": key, "quantity": 1})
    replayed = client.post(f"/perks/{perk.id}/reserve", data={"idempotency_key": key, "quantity": 1})

    (redemption,) = db.session.execute(select(Redemption)).scalars().all()
    assert reserved.status_code == 302 and reserved.headers["Location"] == f"/perks/vouchers/{redemption.id}"
    assert replayed.headers["Location"] == reserved.headers["Location"]
    voucher = client.get(reserved.headers["Location"]).get_data(as_text=True)
    assert redemption.voucher_code in voucher and 'src="data:image/svg+xml' in voucher
    assert build.account(volunteer).balance == 40
    listed = client.get("/perks/vouchers").get_data(as_text=True)
    assert "Thermos cup" in listed and f"/perks/vouchers/{redemption.id}" in listed


def test_a_perk_with_a_co_payment_is_cash_at_the_counter_only_without_a_stripe_key(client, build, volunteer):
    perk = build.perk(name="Haircut", points_cost=10, copay_amount=500)

    page = client.post(f"/perks/{perk.id}/reserve", data={"idempotency_key": "k"})

    assert page.status_code == 409
    assert "Cash at the counter only: this perk has a co-payment and card payment is not set up here" in page.get_data(
        as_text=True
    )
    assert build.account(volunteer).balance == 100


def test_cancelling_a_voucher_returns_the_points(client, build, volunteer):
    perk = build.perk(points_cost=60)
    client.post(f"/perks/{perk.id}/reserve", data={"idempotency_key": "k"})
    (redemption,) = db.session.execute(select(Redemption)).scalars().all()

    response = client.post(f"/perks/vouchers/{redemption.id}/cancel")

    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "points were returned" in page and redemption.voucher_code not in page
    assert build.account(volunteer).balance == 100


def test_another_volunteers_voucher_is_not_found(client, build, auth, volunteer):
    perk = build.perk(points_cost=60)
    client.post(f"/perks/{perk.id}/reserve", data={"idempotency_key": "k"})
    (redemption,) = db.session.execute(select(Redemption)).scalars().all()
    auth.logout()
    other = build.volunteer()
    auth.login(other.mobile, PASSWORD)

    assert client.get(f"/perks/vouchers/{redemption.id}").status_code == 404
    assert client.post(f"/perks/vouchers/{redemption.id}/cancel").status_code == 404


def test_staff_without_a_volunteer_profile_get_a_clear_refusal(client, build, auth):
    build.counter_clerk(username="desk")
    auth.login("desk", PASSWORD)

    assert client.get("/perks/").status_code == 403
