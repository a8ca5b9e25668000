"""Full-width digits, letters, hyphens and spaces, as Chinese input methods type them, work
like ASCII wherever a number or a code is typed or imported; free text keeps them."""

import csv
import io
from datetime import timedelta

import pytest

from points_service.accounts.models import User
from points_service.activities import imports
from points_service.activities import service as activities
from points_service.activities.models import ServiceRecord
from points_service.codes import classify_code, damm_digit, is_valid_member_number, normalise_code, normalise_typed
from points_service.perks import service as perks
from points_service.perks.models import Redemption
from points_service.timeutil import to_local, utcnow
from tests.builders import PASSWORD
from tests.builders.perks import request_key, spend_code, stars

IDEOGRAPHIC_SPACE = "\u3000"


def fullwidth(text):
    """``text`` as a Chinese input method in full-width mode types it."""
    return "".join(
        IDEOGRAPHIC_SPACE if char == " " else chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in text
    )


def typed_member_number(member_no):
    """A member number typed in groups of four, in full width, with spaces around it."""
    grouped = " ".join(member_no[index : index + 4] for index in range(0, 12, 4))
    return IDEOGRAPHIC_SPACE + fullwidth(grouped) + IDEOGRAPHIC_SPACE


def test_typed_numbers_and_codes_are_read_as_ascii():
    assert normalise_typed("\u3000１３９－１２３４　５６７８\u3000") == "139-1234 5678"
    assert normalise_typed(None) is None
    assert normalise_code("ｖ１２ａ－ｂｃ　ｄ") == "V12ABCD"
    assert normalise_code("1234—5678") == "12345678"  # an em dash, as typed for "-" in Chinese mode


def test_a_full_width_member_number_is_the_same_member(build):
    member_no = build.volunteer().volunteer.member_no
    assert is_valid_member_number(typed_member_number(member_no))
    assert classify_code(typed_member_number(member_no)) == ("member", member_no)


def test_digits_of_other_scripts_are_not_a_member_number():
    valid = "10000000000" + damm_digit("10000000000")
    arabic_indic = "".join(chr(0x0660 + int(digit)) for digit in valid)
    assert is_valid_member_number(valid) and not is_valid_member_number(arabic_indic)


# -- the counter ---------------------------------------------------------------------------------


@pytest.fixture
def district(build):
    return build.tree()["districts"][0]


@pytest.fixture
def clerk(build, auth, district):
    user = build.counter_clerk(district, username="clerk")
    auth.login("clerk", PASSWORD)
    return user


def test_the_counter_finds_a_member_typed_in_full_width_and_redeems(client, build, clerk):
    volunteer = build.volunteer(points=50)
    perk = build.perk(name="Parking 2h", points_cost=30)
    typed = typed_member_number(volunteer.volunteer.member_no)

    page = client.post("/counter/scan", data={"code": typed})
    confirmed = client.post(
        "/counter/redeem",
        data={
            "member_no": typed,
            "member_code": fullwidth(spend_code(volunteer.volunteer.member_no)),
            "perk_id": perk.id,
            "quantity": 1,
            "idempotency_key": "k1",
        },
    )

    assert page.status_code == 200 and 'data-testid="balance">50<' in page.get_data(as_text=True)
    assert confirmed.status_code == 302
    assert build.account(volunteer).balance == 20


def test_the_counter_fulfils_a_voucher_typed_in_full_width_lower_case(client, build, clerk):
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=15)
    reserved = perks.reserve_perk(volunteer, perk.id, 1, request_key("r"), level_of=stars(0))
    code = reserved.voucher_code
    typed = fullwidth(f"{code[:6]}-{code[6:12]}-{code[12:]}".lower())

    confirmed = client.post("/counter/fulfil", data={"code": typed, "idempotency_key": "f1"})

    assert confirmed.status_code == 302, confirmed.get_data(as_text=True)
    assert Redemption.query.one().status == "fulfilled"


# -- the API -----------------------------------------------------------------------------------------


@pytest.fixture
def counter_headers(build, district):
    return build.bearer(build.counter_clerk(district), role="counter", organization=district)


def test_the_api_looks_up_a_member_number_typed_in_full_width(client, build, counter_headers):
    volunteer = build.volunteer(points=25)

    response = client.get(
        f"/api/v1/members/{typed_member_number(volunteer.volunteer.member_no)}", headers=counter_headers
    )

    assert response.status_code == 200, response.json
    assert response.json["member_no"] == volunteer.volunteer.member_no and response.json["balance"] == 25


def test_the_api_redeems_for_a_full_width_member_number_in_the_body(client, build, counter_headers):
    volunteer = build.volunteer(points=50)
    perk = build.perk(points_cost=15)

    response = client.post(
        "/api/v1/redemptions",
        json={
            "member_no": typed_member_number(volunteer.volunteer.member_no),
            "member_code": fullwidth(spend_code(volunteer.volunteer.member_no)),
            "perk_id": perk.id,
        },
        headers={**counter_headers, "Idempotency-Key": build.idempotency_key()},
    )

    assert response.status_code == 201, response.json
    assert build.account(volunteer).balance == 35


def test_the_api_fulfils_a_voucher_code_typed_in_full_width(client, build, counter_headers):
    volunteer = build.volunteer(points=50)
    reserved = perks.reserve_perk(volunteer, build.perk(points_cost=15).id, 1, request_key("r"), level_of=stars(0))

    response = client.post(
        f"/api/v1/vouchers/{fullwidth(reserved.voucher_code)}/fulfil",
        headers={**counter_headers, "Idempotency-Key": build.idempotency_key()},
    )

    assert response.status_code == 200, response.json
    assert response.json["status"] == "fulfilled"


def test_the_api_enters_a_record_for_a_full_width_member_number(client, build):
    build.service_rules()
    volunteer = build.volunteer()
    started = (utcnow() - timedelta(days=1)).replace(second=0, microsecond=0)

    response = client.post(
        "/api/v1/service-records",
        json={
            "member_no": typed_member_number(volunteer.volunteer.member_no),
            "category": "elderly_care",
            "started_at": started.isoformat() + "+00:00",
            "ended_at": (started + timedelta(minutes=90)).isoformat() + "+00:00",
        },
        headers=build.bearer(build.organizer()),
    )

    assert response.status_code == 201, response.json
    assert response.json["member_no"] == volunteer.volunteer.member_no


# -- check-in and organizer entry ----------------------------------------------------------------------


def _running(build):
    return build.activity(starts_at=(utcnow() - timedelta(minutes=10)).replace(microsecond=0))


def test_a_check_in_code_typed_in_full_width_checks_the_volunteer_in(client, build, auth):
    build.service_rules()
    volunteer = build.volunteer()
    auth.login(volunteer.mobile, PASSWORD)
    activity = _running(build)
    code = activities.current_checkin_code(build.organizer(), activity.id).code
    typed = fullwidth(f"{code[:4]} {code[4:]}".lower())

    done = client.post(f"/me/checkin/{activity.id}/{typed}", data={"code": typed})

    assert b'data-testid="checked-in"' in done.data, done.get_data(as_text=True)
    assert activities.activity_for_volunteer(volunteer, activity.id).signup.checked_in_at is not None


@pytest.fixture
def organizer(build, auth):
    build.service_rules()
    user = build.organizer()
    auth.login(user.username, PASSWORD)
    return user


def test_an_organizer_checks_in_a_member_number_typed_in_full_width(client, build, organizer):
    activity = _running(build)
    volunteer = build.volunteer(name="Wang Xiaoming")

    response = client.post(
        f"/organizer/activities/{activity.id}/scan",
        data={"member_no": typed_member_number(volunteer.volunteer.member_no)},
    )

    assert b"W************ is checked in." in client.get(response.headers["Location"]).data
    assert activities.activity_for_volunteer(volunteer, activity.id).signup.checked_in_at is not None


def test_an_organizer_enters_a_record_for_a_member_number_typed_in_full_width(client, build, organizer):
    volunteer = build.volunteer()
    start = to_local(utcnow() - timedelta(days=1), build.community.timezone).replace(minute=0, tzinfo=None)

    response = client.post(
        "/organizer/records/new",
        data={
            "member_no": typed_member_number(volunteer.volunteer.member_no),
            "organization": build.community.id,
            "category": "patrol",
            "started_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ended_at": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        },
    )

    assert response.status_code == 302, response.get_data(as_text=True)
    assert ServiceRecord.query.one().volunteer_id == volunteer.volunteer.id


# -- registration and login ------------------------------------------------------------------------------


def test_a_mobile_number_typed_in_full_width_registers_and_logs_in_as_ascii(client, build, app):
    typed = IDEOGRAPHIC_SPACE + fullwidth("139 1234 5678") + IDEOGRAPHIC_SPACE

    registered = client.post(
        "/register",
        data={
            "name": "李四",
            "mobile": typed,
            "community": build.community.id,
            "password": "secret-pass-1",
            "consent": "y",
        },
    )
    other = app.test_client()
    logged_in = other.post("/login", data={"login": fullwidth("13912345678"), "password": "secret-pass-1"})

    assert registered.status_code == 302
    assert User.query.filter_by(mobile="13912345678").one().name == "李四"
    assert logged_in.status_code == 302


# -- imports -------------------------------------------------------------------------------------------------


def test_an_import_with_full_width_cells_reads_them_like_ascii_and_keeps_the_note_as_written(build):
    build.service_rules()
    uploader = build.organizer()
    volunteer = build.volunteer()
    day = (to_local(utcnow(), build.community.timezone) - timedelta(days=1)).date().isoformat()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [fullwidth(header) for header in ["Member number", "Category", "Date", "Start", "End", "Urgent"]] + ["备注"]
    )
    writer.writerow(
        [
            typed_member_number(volunteer.volunteer.member_no),
            fullwidth(" patrol "),
            fullwidth(day),
            fullwidth("09:00"),
            IDEOGRAPHIC_SPACE + fullwidth("10:30"),
            fullwidth("yes"),
            "北门（东侧），２号岗",
        ]
    )

    result = imports.import_records(uploader, build.community, "hours.csv", out.getvalue().encode("utf-8-sig"))

    assert result.created == 1
    record = ServiceRecord.query.one()
    assert (record.volunteer_id, record.category, record.minutes, record.urgent) == (
        volunteer.volunteer.id,
        "patrol",
        90,
        True,
    )
    assert to_local(record.started_at, build.community.timezone).strftime("%Y-%m-%d %H:%M") == f"{day} 09:00"
    assert record.note == "北门（东侧），２号岗"
