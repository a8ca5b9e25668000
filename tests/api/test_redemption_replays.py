"""A retry of a redemption whose stored response is gone (purged after the retention
period, or released after an unknown outcome) finds the redemption by its key and
returns it, whatever changed since: the rotating code expired, the points were spent.
The redemption itself looks for no replay before it writes; these retries take the
refusal path, which looks then."""

from datetime import timedelta

from sqlalchemy import delete, func, select

from points_service.api.models import IdempotentRequest
from points_service.extensions import db
from points_service.perks.models import Redemption
from points_service.timeutil import utcnow
from tests.builders.perks import phone_scan


def _forget_stored_responses():
    db.session.execute(delete(IdempotentRequest))
    db.session.commit()


def _redemptions():
    return db.session.execute(select(func.count(Redemption.id))).scalar_one()


def test_a_retry_after_the_code_expired_returns_the_first_redemption(client, build, headers):
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=15)
    keyed = {**headers, "Idempotency-Key": "retry-after-expiry"}
    member_no = volunteer.volunteer.member_no
    first = client.post(
        "/api/v1/redemptions", json={"member_no": phone_scan(member_no), "perk_id": perk.id}, headers=keyed
    )
    _forget_stored_responses()

    stale_scan = phone_scan(member_no, utcnow() - timedelta(minutes=10))
    again = client.post("/api/v1/redemptions", json={"member_no": stale_scan, "perk_id": perk.id}, headers=keyed)

    assert first.status_code == again.status_code == 201, again.json
    assert again.json["id"] == first.json["id"] and again.json["balance_after"] == 35
    assert _redemptions() == 1 and build.account(volunteer).balance == 35


def test_a_retry_after_the_first_took_the_last_points_returns_it_instead_of_refusing(client, build, headers):
    volunteer = build.volunteer(points=15)
    perk = build.perk(points_cost=15, stock=1)
    keyed = {**headers, "Idempotency-Key": "retry-after-spent"}
    payload = {"member_no": phone_scan(volunteer.volunteer.member_no), "perk_id": perk.id}
    first = client.post("/api/v1/redemptions", json=payload, headers=keyed)
    _forget_stored_responses()

    again = client.post("/api/v1/redemptions", json=payload, headers=keyed)

    assert first.status_code == again.status_code == 201, again.json
    assert again.json["id"] == first.json["id"]
    assert _redemptions() == 1 and build.account(volunteer).balance == 0


def test_a_retry_with_another_payload_after_the_response_is_gone_is_refused(client, build, headers):
    volunteer = build.volunteer(points=50)
    perk, other = build.perk(points_cost=15), build.perk(points_cost=500)
    keyed = {**headers, "Idempotency-Key": "retry-other-payload"}
    scan = phone_scan(volunteer.volunteer.member_no)
    assert (
        client.post("/api/v1/redemptions", json={"member_no": scan, "perk_id": perk.id}, headers=keyed).status_code
        == 201
    )
    _forget_stored_responses()

    for perk_id in (other.id, perk.id + other.id + 1000):  # not eligible; no such perk
        refused = client.post("/api/v1/redemptions", json={"member_no": scan, "perk_id": perk_id}, headers=keyed)
        assert refused.status_code == 409 and refused.json["error"]["code"] == "idempotency_key_reused"
        _forget_stored_responses()
    assert _redemptions() == 1 and build.account(volunteer).balance == 35
