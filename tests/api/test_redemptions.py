import pytest
from sqlalchemy import func, select

from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.perks.models import Perk, Redemption
from tests.builders.perks import phone_scan


@pytest.fixture
def clerk(build, district):
    return build.counter_clerk(district)


@pytest.fixture
def headers(build, clerk, district):
    return build.bearer(clerk, role="counter", organization=district)


def _redeem(client, build, headers, volunteer, perk, quantity=1, key=None):
    return client.post(
        "/api/v1/redemptions",
        json={"member_no": phone_scan(volunteer.volunteer.member_no), "perk_id": perk.id, "quantity": quantity},
        headers={**headers, "Idempotency-Key": key or build.idempotency_key()},
    )


def test_redeeming_returns_201_with_id_points_and_balance_after(client, build, headers):
    volunteer = build.volunteer(points=50, name="Wang Wu")
    perk = build.perk(points_cost=15, stock=3)
    response = _redeem(client, build, headers, volunteer, perk, quantity=2)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["points"] == 30 and body["balance_after"] == 20 and body["quantity"] == 2
    assert body["status"] == "fulfilled" and body["masked_name"] == "W******"
    assert "voucher_code" in body and body["id"] > 0
    assert build.account(volunteer).balance == 20
    assert db.session.get(Perk, perk.id).stock == 1


def test_redeeming_without_idempotency_key_is_refused_and_changes_nothing(client, build, headers):
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=15)
    response = client.post(
        "/api/v1/redemptions",
        json={"member_no": phone_scan(volunteer.volunteer.member_no), "perk_id": perk.id},
        headers=headers,
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "idempotency_key_required"
    assert build.account(volunteer).balance == 50


def test_ineligible_redemption_is_409_with_reasons(client, build, headers):
    volunteer = build.volunteer(points=5)
    perk = build.perk(points_cost=15)
    response = _redeem(client, build, headers, volunteer, perk)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "not_eligible"
    assert response.json["error"]["details"]["reasons"] == ["not_enough_points"]


def test_counter_outside_the_perks_venues_cannot_redeem_it(client, build):
    far_district = build.tree()["districts"][1]
    clerk = build.counter_clerk(far_district)
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=15)
    response = _redeem(client, build, build.bearer(clerk), volunteer, perk)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "not_honored_here"


def test_void_returns_points_and_stock(client, build, headers):
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=15, stock=3)
    redemption = _redeem(client, build, headers, volunteer, perk).json
    response = client.post(
        f"/api/v1/redemptions/{redemption['id']}/void",
        json={"reason": "wrong perk chosen"},
        headers={**headers, "Idempotency-Key": build.idempotency_key()},
    )
    assert response.status_code == 200, response.json
    assert response.json["status"] == "voided" and response.json["balance_after"] == 50
    assert build.account(volunteer).balance == 50
    assert db.session.get(Perk, perk.id).stock == 3
    assert ledger.verify_ledger().ok


def test_void_of_an_unknown_redemption_is_404(client, build, headers):
    response = client.post(
        "/api/v1/redemptions/999999/void",
        json={"reason": "x"},
        headers={**headers, "Idempotency-Key": build.idempotency_key()},
    )
    assert response.status_code == 404


def test_volunteer_cannot_redeem_at_a_counter(client, build):
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=15)
    response = _redeem(client, build, build.bearer(volunteer), volunteer, perk)
    assert response.status_code == 403
    assert db.session.execute(select(func.count(Redemption.id))).scalar_one() == 0


def test_perk_catalog_lists_active_perks(client, build, headers):
    build.perk(name="Parking discount", points_cost=10)
    build.perk(name="Withdrawn", points_cost=5, active=False)
    names = [perk["name"] for perk in client.get("/api/v1/perks", headers=headers).json["perks"]]
    assert names == ["Parking discount"]
    withdrawn = client.get("/api/v1/perks?active=false", headers=headers).json["perks"]
    assert [perk["name"] for perk in withdrawn] == ["Withdrawn"]
