import logging

from points_service.codes import damm_digit


def _wrong_check_digit(member_no):
    return member_no[:-1] + str((int(member_no[-1]) + 1) % 10)


def test_counter_sees_masked_name_balance_level_and_perks_with_reasons(client, build, headers):
    volunteer = build.volunteer(points=25, name="Zhang Sanfeng")
    build.perk(name="Parking discount", points_cost=10)
    build.perk(name="Rice", kind="goods", points_cost=40)
    build.perk(name="Elsewhere", points_cost=1, venues=[build.tree()["districts"][1]])
    response = client.get(f"/api/v1/members/{volunteer.volunteer.member_no}", headers=headers)
    assert response.status_code == 200
    member = response.json
    assert member["masked_name"].startswith("Z") and "Sanfeng" not in member["masked_name"]
    assert member["balance"] == 25
    assert member["level"]["stars"] == 0
    assert [option["perk"]["name"] for option in member["eligible_perks"]] == ["Parking discount"]
    [rice] = member["other_perks"]
    assert rice["perk"]["name"] == "Rice" and not rice["eligible"]
    assert [reason["code"] for reason in rice["reasons"]] == ["not_enough_points"]
    assert "Zhang" not in response.get_data(as_text=True) and volunteer.mobile not in response.get_data(as_text=True)


def test_member_number_with_a_wrong_check_digit_is_refused_before_any_lookup(client, build, headers):
    volunteer = build.volunteer()
    response = client.get(f"/api/v1/members/{_wrong_check_digit(volunteer.volunteer.member_no)}", headers=headers)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid_code"


def test_unknown_member_number_is_404(client, headers):
    body = "12345678901"
    response = client.get(f"/api/v1/members/{body + damm_digit(body)}", headers=headers)
    assert response.status_code == 404


def test_organizer_cannot_use_the_counter_view(client, build):
    volunteer = build.volunteer()
    organizer = build.staff("organizer", build.community)
    response = client.get(f"/api/v1/members/{volunteer.volunteer.member_no}", headers=build.bearer(organizer))
    assert response.status_code == 403


def test_counter_token_cannot_work_at_a_counter_outside_its_scope(client, build, district, headers):
    volunteer = build.volunteer()
    other = build.tree()["districts"][1]
    response = client.get(f"/api/v1/members/{volunteer.volunteer.member_no}?counter_id={other.id}", headers=headers)
    assert response.status_code == 403


def test_member_lookups_do_not_log_member_numbers(client, build, headers, caplog):
    volunteer = build.volunteer()
    caplog.set_level(logging.DEBUG)
    member_no = volunteer.volunteer.member_no
    client.get(f"/api/v1/members/{member_no}", headers=headers)
    client.get(f"/api/v1/members/{_wrong_check_digit(member_no)}", headers=headers)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert member_no not in logged and member_no[:-1] not in logged
