from points_service.perks import service as perks
from tests.builders.perks import request_key, stars


def _reserved(build, points=50):
    volunteer = build.volunteer(points=points)
    perk = build.perk(points_cost=15, stock=2)
    return volunteer, perks.reserve_perk(volunteer, perk.id, 1, request_key(), level_of=stars(0))


def _fulfil(client, build, headers, code, key=None):
    return client.post(
        f"/api/v1/vouchers/{code}/fulfil", headers={**headers, "Idempotency-Key": key or build.idempotency_key()}
    )


def test_counter_fulfils_a_reserved_voucher_once(client, build, headers):
    volunteer, reservation = _reserved(build)
    response = _fulfil(client, build, headers, reservation.voucher_code, key="fulfil-1")
    assert response.status_code == 200, response.json
    assert response.json["status"] == "fulfilled" and response.json["balance_after"] == 35
    replay = _fulfil(client, build, headers, reservation.voucher_code, key="fulfil-1")
    assert replay.get_data() == response.get_data()
    second = _fulfil(client, build, headers, reservation.voucher_code)
    assert second.status_code == 409
    assert second.json["error"]["code"] == "voucher_not_usable"


def test_voucher_code_with_a_wrong_check_character_is_refused(client, build, headers):
    _volunteer, reservation = _reserved(build)
    code = reservation.voucher_code
    wrong = code[:-1] + ("A" if code[-1] != "A" else "B")
    response = _fulfil(client, build, headers, wrong)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid_code"


def test_counter_may_name_its_counter_in_the_body(client, build, district):
    _volunteer, reservation = _reserved(build)
    clerk = build.counter_clerk(district)
    response = client.post(
        f"/api/v1/vouchers/{reservation.voucher_code}/fulfil",
        json={"counter_id": district.id},
        headers=build.bearer(clerk, **{"Idempotency-Key": build.idempotency_key()}),
    )
    assert response.status_code == 200
