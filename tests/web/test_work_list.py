"""/organizer/work-list: shortfalls, refunds due and changes waiting for a second person,
each with its action as a POST form; errors come back as 4xx with the service's message."""

import re

import pytest

from points_service.activities import service as activities
from points_service.checks import run_all_checks
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.perks import service as perks
from points_service.perks.models import Redemption
from tests.builders import PASSWORD
from tests.builders.perks import redeem_with_code, request_key, stars


@pytest.fixture
def admins(build):
    build.service_rules()
    city = build.tree()["city"]
    return build.staff("admin", city, username="asker"), build.staff("admin", city, username="checker")


@pytest.fixture
def shortfall(build, admins):
    """Zhang San's record reversed after 8 of its 10 points were spent: 8 owed."""
    volunteer = build.volunteer(name="Zhang San")
    record = build.approved_record(volunteer, minutes=60)
    ledger.spend_points(build.account(volunteer).id, 8, reason="tea", cause_type="test")
    activities.reverse_record(admins[0], record.id, "Never served.")
    return ledger.open_shortfalls(build.account(volunteer).id)[0]


@pytest.fixture
def refund_due(build):
    district = build.tree()["districts"][0]
    clerk = build.counter_clerk(district)
    volunteer = build.volunteer(points=30, name="Li Si")
    perk = build.perk(kind="goods", points_cost=10, copay_amount=250)
    redemption = redeem_with_code(
        clerk, district, volunteer.volunteer.member_no, perk.id, 1, request_key("k"), level_of=stars(0)
    )
    perks.void_redemption(clerk, redemption.id, "wrong perk")
    return redemption


def _login(client, auth, username):
    client.post("/logout")
    auth.login(username, PASSWORD)


def test_the_work_list_shows_each_open_state_with_its_action_to_administrators(
    client, auth, admins, shortfall, refund_due
):
    _login(client, auth, "asker")

    page = client.get("/organizer/work-list")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'href="/organizer/work-list"' in html  # in the navigation
    assert f'data-shortfall="{shortfall.id}"' in html and "Z****" in html and "Zhang San" not in html
    assert f'action="/organizer/work-list/shortfalls/{shortfall.id}/write-off"' in html
    assert "Recovering from future earnings." in html
    assert f'data-redemption="{refund_due.id}"' in html and "¥2.50" in html and "L***" in html
    assert f'action="/organizer/work-list/refunds/{refund_due.id}/refunded"' in html
    assert refund_due.volunteer.member_no not in html


def test_organizers_neither_see_the_link_nor_open_the_page(client, auth, build):
    organizer = build.organizer()
    _login(client, auth, organizer.username)

    assert "/organizer/work-list" not in client.get("/organizer/").get_data(as_text=True)
    assert client.get("/organizer/work-list").status_code == 403
    assert (
        client.post("/organizer/work-list/refunds/1/refunded", data={"method": "cash", "note": "x"}).status_code == 403
    )


def test_a_write_off_is_asked_by_one_administrator_and_approved_by_another(client, auth, admins, shortfall):
    _login(client, auth, "asker")
    missing = client.post(f"/organizer/work-list/shortfalls/{shortfall.id}/write-off", data={"reason": "  "})
    assert missing.status_code == 422
    assert "Give a reason for the write-off" in missing.get_data(as_text=True)

    asked = client.post(
        f"/organizer/work-list/shortfalls/{shortfall.id}/write-off", data={"reason": "Moved to another city"}
    )
    assert asked.status_code == 302
    html = client.get("/organizer/work-list").get_data(as_text=True)
    request_id = int(re.search(r'data-request="(\d+)"', html).group(1))
    assert "You asked for this; another person must approve it." in html
    assert f"/organizer/work-list/requests/{request_id}/approve" not in html
    assert "Points still owed" in html and "Moved to another city" in html
    own = client.post(f"/organizer/work-list/requests/{request_id}/approve")
    assert own.status_code == 403 and "another person must review it" in own.get_data(as_text=True)

    _login(client, auth, "checker")
    html = client.get("/organizer/work-list").get_data(as_text=True)
    assert f'action="/organizer/work-list/requests/{request_id}/approve"' in html
    approved = client.post(f"/organizer/work-list/requests/{request_id}/approve")

    assert approved.status_code == 302
    db.session.expire_all()
    assert (shortfall.written_off_points, shortfall.open_points) == (8, 0)
    assert f'data-shortfall="{shortfall.id}"' not in client.get("/organizer/work-list").get_data(as_text=True)
    assert run_all_checks().discrepancies == []


def test_a_write_off_can_be_rejected_with_a_reason_or_withdrawn(client, auth, admins, shortfall):
    _login(client, auth, "asker")
    client.post(f"/organizer/work-list/shortfalls/{shortfall.id}/write-off", data={"reason": "Moved away"})
    request_id = int(re.search(r'data-request="(\d+)"', client.get("/organizer/work-list").get_data(as_text=True))[1])

    _login(client, auth, "checker")
    no_reason = client.post(f"/organizer/work-list/requests/{request_id}/reject", data={"reason": ""})
    assert no_reason.status_code == 422 and "Give a reason." in no_reason.get_data(as_text=True)
    assert (
        client.post(f"/organizer/work-list/requests/{request_id}/reject", data={"reason": "Ask him first"}).status_code
        == 302
    )

    _login(client, auth, "asker")
    client.post(f"/organizer/work-list/shortfalls/{shortfall.id}/write-off", data={"reason": "Asked; he agrees"})
    second = int(re.search(r'data-request="(\d+)"', client.get("/organizer/work-list").get_data(as_text=True))[1])
    assert client.post(f"/organizer/work-list/requests/{second}/withdraw").status_code == 302
    db.session.expire_all()
    assert shortfall.open_points == 8 and 'data-request="' not in client.get("/organizer/work-list").get_data(
        as_text=True
    )


def test_marking_a_refund_names_a_bad_field_and_then_records_it(client, auth, admins, refund_due):
    _login(client, auth, "asker")
    url = f"/organizer/work-list/refunds/{refund_due.id}/refunded"

    bad_method = client.post(url, data={"method": "bitcoin", "note": "handed back"})
    assert bad_method.status_code == 422 and "Choose how the money was handed back" in bad_method.get_data(as_text=True)
    no_note = client.post(url, data={"method": "cash", "note": ""})
    assert no_note.status_code == 422 and "Add a note" in no_note.get_data(as_text=True)
    assert db.session.get(Redemption, refund_due.id).payment_status == "refund_due"

    done = client.post(url, data={"method": "cash", "note": "2.50 in cash to the volunteer"})

    assert done.status_code == 302
    db.session.expire_all()
    redemption = db.session.get(Redemption, refund_due.id)
    assert (redemption.payment_status, redemption.refund_note) == ("refunded", "2.50 in cash to the volunteer")
    assert client.post(url, data={"method": "cash", "note": "again"}).status_code == 409
    assert run_all_checks().discrepancies == []


def test_the_page_speaks_chinese(client, auth, admins, shortfall):
    _login(client, auth, "asker")
    client.post("/language/zh_CN")
    html = client.get("/organizer/work-list").get_data(as_text=True)
    assert "待办事项" in html and "从今后获得的积分中自动追回" in html
