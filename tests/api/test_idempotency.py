"""The Idempotency-Key protocol: the first response, replayed; another payload, 409."""

import threading

from sqlalchemy import func, select

from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.ledger.models import LedgerEntry
from points_service.perks.models import Perk, Redemption
from tests.builders.perks import phone_scan


def _redemptions():
    return db.session.execute(select(func.count(Redemption.id))).scalar_one()


def test_same_key_and_payload_replays_the_first_response(client, build, headers):
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=15, stock=5)
    payload = {"member_no": phone_scan(volunteer.volunteer.member_no), "perk_id": perk.id}
    keyed = {**headers, "Idempotency-Key": "retry-me-1"}
    first = client.post("/api/v1/redemptions", json=payload, headers=keyed)
    again = client.post("/api/v1/redemptions", json=dict(reversed(payload.items())), headers=keyed)
    assert first.status_code == again.status_code == 201
    assert first.get_data() == again.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _redemptions() == 1 and build.account(volunteer).balance == 35


def test_same_key_with_another_payload_is_409(client, build, headers):
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=15)
    keyed = {**headers, "Idempotency-Key": "retry-me-2"}
    payload = {"member_no": phone_scan(volunteer.volunteer.member_no), "perk_id": perk.id}
    assert client.post("/api/v1/redemptions", json=payload, headers=keyed).status_code == 201
    other = client.post("/api/v1/redemptions", json={**payload, "quantity": 2}, headers=keyed)
    assert other.status_code == 409
    assert other.json["error"]["code"] == "idempotency_key_reused"
    assert _redemptions() == 1


def test_same_key_on_another_endpoint_is_409(client, build, headers):
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=15)
    keyed = {**headers, "Idempotency-Key": "retry-me-3"}
    redemption = client.post(
        "/api/v1/redemptions",
        json={"member_no": phone_scan(volunteer.volunteer.member_no), "perk_id": perk.id},
        headers=keyed,
    ).json
    void = client.post(f"/api/v1/redemptions/{redemption['id']}/void", json={"reason": "x"}, headers=keyed)
    assert void.status_code == 409
    assert build.account(volunteer).balance == 35


def test_a_refusal_is_replayed_too(client, build, headers):
    volunteer = build.volunteer(points=5)
    perk = build.perk(points_cost=15)
    keyed = {**headers, "Idempotency-Key": "retry-me-4"}
    payload = {"member_no": phone_scan(volunteer.volunteer.member_no), "perk_id": perk.id}
    first = client.post("/api/v1/redemptions", json=payload, headers=keyed)
    ledger.earn_points(build.account(volunteer).id, 100, reason="more", cause_type="test", cause_id="more")
    again = client.post("/api/v1/redemptions", json=payload, headers=keyed)
    assert first.status_code == again.status_code == 409
    assert first.get_data() == again.get_data()
    assert _redemptions() == 0


def test_invalid_input_claims_no_key(client, build, headers):
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=15)
    keyed = {**headers, "Idempotency-Key": "retry-me-5"}
    bad = client.post(
        "/api/v1/redemptions", json={"member_no": phone_scan(volunteer.volunteer.member_no)}, headers=keyed
    )
    assert bad.status_code == 422
    good = client.post(
        "/api/v1/redemptions",
        json={"member_no": phone_scan(volunteer.volunteer.member_no), "perk_id": perk.id},
        headers=keyed,
    )
    assert good.status_code == 201


def test_keys_belong_to_one_caller(client, build, district):
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=15)
    payload = {"member_no": phone_scan(volunteer.volunteer.member_no), "perk_id": perk.id}
    one = build.bearer(build.counter_clerk(district), **{"Idempotency-Key": "shared-key"})
    two = build.bearer(build.counter_clerk(district), **{"Idempotency-Key": "shared-key"})
    assert client.post("/api/v1/redemptions", json=payload, headers=one).status_code == 201
    assert client.post("/api/v1/redemptions", json=payload, headers=two).status_code == 201
    assert _redemptions() == 2


def test_a_failure_after_the_redemption_in_its_unit_of_work_undoes_it_and_the_retry_has_its_effect_once(
    client, build, headers, monkeypatch
):
    from points_service.api import redemptions

    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=15)
    keyed = {**headers, "Idempotency-Key": "retry-me-6"}
    payload = {"member_no": phone_scan(volunteer.volunteer.member_no), "perk_id": perk.id}
    real = redemptions.perks.redeem_perk

    def redeem_then_fail(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("failed before the response was stored")

    monkeypatch.setattr(redemptions.perks, "redeem_perk", redeem_then_fail)
    failed = client.post("/api/v1/redemptions", json=payload, headers=keyed)
    # The redemption and its stored response commit together: neither happened.
    assert failed.status_code == 500
    assert failed.json["error"]["code"] == "server_error"
    assert _redemptions() == 0 and build.account(volunteer).balance == 50
    monkeypatch.setattr(redemptions.perks, "redeem_perk", real)
    retry = client.post("/api/v1/redemptions", json=payload, headers=keyed)
    assert retry.status_code == 201
    assert _redemptions() == 1 and build.account(volunteer).balance == 35


def test_a_failure_before_any_commit_says_nothing_was_changed_and_releases_the_key(client, build, headers, monkeypatch):
    from points_service.api import redemptions

    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=15)
    keyed = {**headers, "Idempotency-Key": "retry-me-7"}
    payload = {"member_no": phone_scan(volunteer.volunteer.member_no), "perk_id": perk.id}
    real = redemptions.perks.redeem_perk

    def fail(*args, **kwargs):
        raise RuntimeError("failed before the work")

    monkeypatch.setattr(redemptions.perks, "redeem_perk", fail)
    failed = client.post("/api/v1/redemptions", json=payload, headers=keyed)
    assert failed.status_code == 500
    assert failed.json["error"]["code"] == "server_error"
    assert _redemptions() == 0
    monkeypatch.setattr(redemptions.perks, "redeem_perk", real)
    assert client.post("/api/v1/redemptions", json=payload, headers=keyed).status_code == 201
    assert _redemptions() == 1 and build.account(volunteer).balance == 35


def test_hundred_concurrent_identical_requests_make_one_redemption(app, build, headers):
    volunteer = build.volunteer(points=1000)
    perk = build.perk(points_cost=15, stock=500)
    payload = {"member_no": phone_scan(volunteer.volunteer.member_no), "perk_id": perk.id, "quantity": 2}
    keyed = {**headers, "Idempotency-Key": build.idempotency_key()}
    db.session.commit()
    start = threading.Barrier(100)
    results = [None] * 100

    def send(index):
        client = app.test_client()
        start.wait()
        response = client.post("/api/v1/redemptions", json=payload, headers=keyed)
        results[index] = (response.status_code, response.get_data())

    threads = [threading.Thread(target=send, args=(index,)) for index in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(results)) == 1, {status for status, _body in results}
    assert results[0][0] == 201
    db.session.expire_all()
    assert _redemptions() == 1
    assert db.session.get(Perk, perk.id).stock == 498
    assert build.account(volunteer).balance == 970
    assert db.session.execute(select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == "redeem")).scalar_one() == 1
    assert ledger.verify_ledger().ok
