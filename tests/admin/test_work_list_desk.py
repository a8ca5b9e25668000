"""The staff work list in the desk: the same list and actions as the organizer's page."""

from sqlalchemy import select

from points_service.activities import service as activities
from points_service.changes.models import ChangeRequest
from points_service.extensions import db
from points_service.ledger import service as ledger
from tests.builders import PASSWORD


def _shortfall(build, admin):
    volunteer = build.volunteer(name="Zhang Sanfeng")
    record = build.approved_record(volunteer, minutes=60)
    account = build.account(volunteer)
    ledger.spend_points(account.id, 8, reason="tea", cause_type="test")
    activities.reverse_record(admin, record.id, "The hours were never served.")
    return ledger.open_shortfalls(account.id)[0]


def test_the_desk_shows_the_work_list_and_a_write_off_asked_there_returns_there(build, client, auth):
    admin = build.staff("admin", build.tree()["districts"][0])
    shortfall = _shortfall(build, admin)
    auth.login(admin.username, PASSWORD)

    page = client.get("/admin/work-list").get_data(as_text=True)
    assert f'data-shortfall="{shortfall.id}"' in page and "Z************" in page and "Zhang Sanfeng" not in page
    assert 'href="/admin/work-list"' in client.get("/admin/").get_data(as_text=True)

    response = client.post(
        f"/organizer/work-list/shortfalls/{shortfall.id}/write-off", data={"reason": "Moved away", "back": "admin"}
    )
    assert response.headers["Location"].endswith("/admin/work-list")
    [request] = db.session.execute(select(ChangeRequest)).scalars()
    assert (request.kind, request.status) == ("shortfall.write_off", "pending")


def test_the_organizer_page_links_administrators_to_the_desk(build, client, auth):
    admin = build.staff("admin", build.tree()["districts"][0])
    auth.login(admin.username, PASSWORD)
    assert 'href="/admin/work-list"' in client.get("/organizer/work-list").get_data(as_text=True)


def test_an_admin_of_another_district_sees_none_of_it(build, client, auth):
    shortfall = _shortfall(build, build.staff("admin", build.tree()["districts"][0]))
    outsider = build.staff("admin", build.tree()["districts"][1])
    auth.login(outsider.username, PASSWORD)
    assert f'data-shortfall="{shortfall.id}"' not in client.get("/admin/work-list").get_data(as_text=True)
