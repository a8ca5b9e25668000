"""The audit log page over HTTP: who may open it, filters, field errors, pages, object trails."""

from datetime import timedelta

import pytest

from points_service.timeutil import utcnow
from tests.builders import PASSWORD


@pytest.fixture
def tree(build):
    return build.tree()


def _log_in(client, user):
    response = client.post("/login", data={"login": user.username, "password": PASSWORD})
    assert response.status_code == 302


def _records(build, community, count):
    organizer = build.organizer(community)
    volunteer = build.volunteer(community, name="Ouyang Xiu")
    start = (utcnow() - timedelta(days=2)).replace(second=0, microsecond=0)
    return [
        build.record(volunteer, organization=community, started_at=start - timedelta(hours=2 * n), entered_by=organizer)
        for n in range(count)
    ]


def test_organizer_and_counter_staff_are_refused_the_audit_log(client, build, tree):
    for role in ("organizer", "counter"):
        _log_in(client, build.staff(role, tree["communities"][0]))
        assert client.get("/admin/audit").status_code == 403
        assert client.post("/admin/audit/export", data={"format": "csv"}).status_code == 403
        client.post("/logout")


def test_an_admin_sees_their_communitys_events_and_not_anothers(client, build, tree):
    inside, outside = tree["communities"][0], tree["communities"][3]
    [mine] = _records(build, inside, 1)
    [theirs] = _records(build, outside, 1)
    _log_in(client, build.staff("admin", inside))

    page = client.get("/admin/audit?action=record.enter").get_data(as_text=True)

    assert f"Service record #{mine.id}" in page and "Hours entered" in page
    assert f"Service record #{theirs.id}" not in page
    assert "Ouyang Xiu" not in page


def test_a_records_trail_lists_only_its_events(client, build, tree):
    community = tree["communities"][0]
    first, second = _records(build, community, 2)
    _log_in(client, build.staff("admin", community))

    page = client.get(f"/admin/audit?target_type=service_record&target_id={first.id}").get_data(as_text=True)

    assert f"Service record #{first.id}" in page
    assert f"Service record #{second.id}" not in page


@pytest.mark.parametrize(
    ("query", "field"),
    [("date_from=2026-13-01", "date_from"), ("date_to=not-a-date", "date_to"), ("before=-3", "before")],
)
def test_an_odd_filter_value_is_a_field_error_not_a_crash(client, build, tree, query, field):
    _log_in(client, build.staff("admin", tree["communities"][0]))

    response = client.get(f"/admin/audit?{query}")

    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)


def test_older_events_are_one_link_away_and_never_repeat(client, build, tree, monkeypatch):
    from points_service.audit import queries

    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    community = tree["communities"][0]
    records = _records(build, community, 3)
    _log_in(client, build.staff("admin", community))

    first = client.get("/admin/audit?action=record.enter").get_data(as_text=True)
    shown = [f"Service record #{record.id}" in first for record in records]
    assert shown == [False, True, True]
    link = first.split('href="/admin/audit?before=')[1].split('"')[0].replace("&amp;", "&")
    second = client.get(f"/admin/audit?before={link}").get_data(as_text=True)
    assert f"Service record #{records[0].id}" in second and f"Service record #{records[1].id}" not in second


def test_the_export_downloads_a_spreadsheet_of_the_filtered_events(client, build, tree):
    from io import BytesIO

    from openpyxl import load_workbook

    community = tree["communities"][0]
    records = _records(build, community, 2)
    _log_in(client, build.staff("admin", community))

    response = client.post("/admin/audit/export", data={"format": "xlsx", "action": "record.enter"})

    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.data)).active
    objects = {row[5] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert objects == {str(record.id) for record in records}
    assert client.post("/admin/audit/export", data={"format": "pdf"}).status_code == 422
    assert client.post("/admin/audit/export", data={"format": "csv", "date_from": "02/03/2026"}).status_code == 422


def test_the_records_page_links_each_record_to_its_audit_trail_for_admins_only(client, build, tree):
    community = tree["communities"][0]
    [record] = _records(build, community, 1)
    trail = f"/admin/audit?target_type=service_record&amp;target_id={record.id}"

    _log_in(client, build.staff("admin", community))
    assert trail in client.get("/organizer/records").get_data(as_text=True)
    client.post("/logout")
    _log_in(client, build.staff("organizer", community))
    assert trail not in client.get("/organizer/records").get_data(as_text=True)


def test_a_rule_sets_page_links_to_its_audit_trail(client, build, tree):
    admin = build.staff("admin", tree["city"])
    rule_set = build.rule_set(organization=tree["city"], publish=False)
    _log_in(client, admin)

    page = client.get(f"/admin/rules/{rule_set.id}").get_data(as_text=True)

    assert f"/admin/audit?target_type=rule_set&amp;target_id={rule_set.id}" in page
