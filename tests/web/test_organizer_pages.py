import csv
import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from points_service.activities import service as activities
from points_service.activities.models import Activity, ServiceRecord
from points_service.extensions import db
from points_service.timeutil import to_local, utcnow
from tests.builders import PASSWORD


@pytest.fixture
def organizer(build, auth):
    build.service_rules()
    user = build.organizer()
    auth.login(user.username, PASSWORD)
    return user


@pytest.fixture
def approver(build, auth):
    build.service_rules()
    user = build.approver()
    auth.login(user.username, PASSWORD)
    return user


def test_volunteers_and_strangers_cannot_open_organizer_pages(client, build, auth):
    assert client.get("/organizer/").status_code == 302
    volunteer = build.volunteer()
    auth.login(volunteer.mobile, PASSWORD)
    assert client.get("/organizer/").status_code == 403


def test_organizer_publishes_an_activity_in_local_time(client, build, organizer):
    page = client.get("/organizer/activities/new")
    assert page.status_code == 200
    assert b'name="csrf_token"' in page.data or b"csrf" in page.data.lower()

    response = client.post(
        "/organizer/activities/new",
        data={
            "organization": build.community.id,
            "title": "Visit Mrs Wang",
            "category": "elderly_care",
            "place": "Building 3",
            "starts_at": "2030-05-01T09:00",
            "ends_at": "2030-05-01T11:30",
            "capacity": "12",
            "description": "",
        },
    )

    assert response.status_code == 302
    activity = Activity.query.one()
    assert to_local(activity.starts_at, build.community.timezone).hour == 9
    assert activity.starts_at.hour == 1  # Asia/Shanghai is UTC+8
    detail = client.get(response.headers["Location"])
    assert b"Visit Mrs Wang" in detail.data


def test_a_bad_activity_form_shows_the_reason(client, build, organizer):
    response = client.post(
        "/organizer/activities/new",
        data={
            "organization": build.community.id,
            "title": "Backwards",
            "category": "elderly_care",
            "place": "Hall",
            "starts_at": "2030-05-01T11:00",
            "ends_at": "2030-05-01T09:00",
            "capacity": "5",
        },
    )
    assert response.status_code == 422
    assert b"The activity must end after it starts." in response.data


def test_a_running_activity_shows_a_rotating_qr_code_and_serves_it_as_json(client, build, organizer):
    activity = build.activity(starts_at=(utcnow() - timedelta(minutes=10)).replace(microsecond=0))

    page = client.get(f"/organizer/activities/{activity.id}")
    code = client.get(f"/organizer/activities/{activity.id}/checkin-code").get_json()

    assert page.status_code == 200
    assert b"data:image/svg+xml" in page.data
    assert b"js/organizer.js" in page.data
    assert code["url"].endswith(f"/me/checkin/{activity.id}/{code['code']}")
    assert code["qr"].startswith("data:image/svg+xml")
    assert 0 <= code["expires_in"] <= 60


def test_organizer_scans_a_member_code_on_the_activity_page(client, build, organizer):
    activity = build.activity(starts_at=(utcnow() - timedelta(minutes=10)).replace(microsecond=0))
    volunteer = build.volunteer(name="Wang Xiaoming")

    response = client.post(
        f"/organizer/activities/{activity.id}/scan", data={"member_no": volunteer.volunteer.member_no}
    )
    page = client.get(response.headers["Location"])

    assert b"W************ is checked in." in page.data
    assert b"Wang Xiaoming" not in page.data


def test_approving_the_roster_with_exceptions_in_one_form(client, build, organizer):
    activity = build.activity()
    records = build.checked_in_roster(activity, [build.volunteer(), build.volunteer(), build.volunteer()])
    form = {"record": [str(r.id) for r in records]}
    form[f"decision-{records[1].id}"] = "exclude"
    form[f"decision-{records[2].id}"] = "reject"
    form[f"reason-{records[2].id}"] = "Was not there"

    response = client.post(f"/organizer/activities/{activity.id}/approve", data=form)
    page = client.get(response.headers["Location"])

    assert b"1 approved, 1 rejected, 1 left pending." in page.data
    assert [activities.get_record(r.id).status for r in records] == ["approved", "pending", "rejected"]


def test_ticking_names_after_the_activity_creates_records_for_someone_else_to_approve(client, build, organizer):
    activity = build.activity()
    volunteer = build.volunteer()
    activities.sign_up(volunteer, activity.id, now=activity.starts_at - timedelta(days=1))

    response = client.post(
        f"/organizer/activities/{activity.id}/roster", data={"action": "present", "volunteer": volunteer.volunteer.id}
    )
    page = client.get(response.headers["Location"])

    assert b"1 records created" in page.data
    record = ServiceRecord.query.one()
    assert record.entered_by_id == organizer.id
    queue = client.get("/organizer/records")
    assert b"another person approves it" in queue.data


def test_the_pending_queue_approves_and_rejects_single_records(client, build, approver):
    keep, drop = build.record(build.volunteer()), build.record(build.volunteer())

    page = client.get("/organizer/records")
    approved = client.post(f"/organizer/records/{keep.id}/approve")
    no_reason = client.post(f"/organizer/records/{drop.id}/reject", data={"reason": ""})
    after_no_reason = client.get("/organizer/records")
    rejected = client.post(f"/organizer/records/{drop.id}/reject", data={"reason": "Duplicate"})

    assert page.status_code == 200 and b"Organizer entry" in page.data
    assert approved.status_code == no_reason.status_code == rejected.status_code == 302
    assert b"needs a reason" in after_no_reason.data
    assert activities.get_record(keep.id).status == "approved"
    assert activities.get_record(drop.id).rejection_reason == "Duplicate"


def test_an_organizer_enters_a_record_in_local_time(client, build, organizer):
    volunteer = build.volunteer()
    day = (to_local(utcnow(), build.community.timezone) - timedelta(days=1)).date()

    response = client.post(
        "/organizer/records/new",
        data={
            "member_no": volunteer.volunteer.member_no,
            "organization": build.community.id,
            "category": "patrol",
            "started_at": f"{day}T20:00",
            "ended_at": f"{day}T22:15",
            "note": "Night patrol",
        },
    )

    assert response.status_code == 302
    assert ServiceRecord.query.one().minutes == 135


def test_an_admin_reverses_an_approved_record_from_the_queue(client, build, auth):
    record = build.approved_record(build.volunteer())
    admin = build.staff("admin", build.tree()["city"])
    auth.login(admin.username, PASSWORD)

    response = client.post(f"/organizer/records/{record.id}/reverse", data={"reason": "Fake hours"})
    page = client.get(response.headers["Location"])

    assert b"Reversed: 10 points taken back." in page.data
    assert activities.get_record(record.id).status == "reversed"


def _csv(rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Member number", "Category", "Date", "Start", "End"])
    writer.writerows(rows)
    return out.getvalue().encode()


def test_an_import_with_errors_shows_the_row_table_and_a_good_one_imports(client, build, organizer):
    volunteer = build.volunteer()
    day = (to_local(utcnow(), build.community.timezone) - timedelta(days=1)).date()
    bad = _csv([[volunteer.volunteer.member_no, "patrol", day, "10:00", "09:00"]])
    good = _csv([[volunteer.volunteer.member_no, "patrol", day, "09:00", "10:00"]])

    refused = client.post(
        "/organizer/imports",
        data={"organization": build.community.id, "file": (io.BytesIO(bad), "hours.csv")},
        content_type="multipart/form-data",
    )
    imported = client.post(
        "/organizer/imports",
        data={"organization": build.community.id, "file": (io.BytesIO(good), "hours.csv")},
        content_type="multipart/form-data",
    )
    again = client.post(
        "/organizer/imports",
        data={"organization": build.community.id, "file": (io.BytesIO(good), "hours.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )

    assert refused.status_code == 422
    assert b'data-testid="import-errors"' in refused.data
    cell = rb"<td[^>]*>"
    assert re.search(
        cell + rb"2</td>" + cell + rb"End</td>" + cell + rb"The end time must be after the start time.</td>",
        refused.data,
    )
    assert imported.status_code == 302
    assert b"already imported" in again.data
    assert ServiceRecord.query.count() == 1


def test_the_import_templates_download_in_both_languages(client, organizer):
    for language, first in (("en", "Member number"), ("zh_CN", "会员编号")):
        response = client.get(f"/organizer/imports/template-{language}.xlsx")
        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]
        assert sheet["A1"].value == first
    assert client.get("/organizer/imports/template-fr.xlsx").status_code == 404


def test_an_admin_simulates_a_draft_and_re_rates_a_period(client, build, auth):
    build.approved_record(build.volunteer(), minutes=120)
    config = {**build.service_rules().config}
    draft = build.rule_set(config=config, publish=False)
    admin = build.staff("admin", build.tree()["city"])
    auth.login(admin.username, PASSWORD)

    page = client.post(
        "/organizer/simulation", data={"run": "simulate", "simulate-rule_set": draft.id, "simulate-months": "3"}
    )
    today = to_local(utcnow(), build.community.timezone).date()
    rerate = client.post(
        "/organizer/simulation",
        data={
            "run": "rerate",
            "rerate-rule_set": build.service_rules().id,
            "rerate-start": (today - timedelta(days=3)).isoformat(),
            "rerate-end": today.isoformat(),
        },
        follow_redirects=True,
    )

    assert page.status_code == 200
    assert b'data-testid="simulation-result"' in page.data
    assert b"Z*******" in page.data or b"Zhang" not in page.data
    assert b"Re-rated 0 of 1 records" in rerate.data


def test_an_organizer_cannot_open_the_simulation(client, organizer):
    assert client.get("/organizer/simulation").status_code == 403


def test_staff_pages_warn_of_a_year_without_holiday_data_until_it_is_entered(client, build, auth, monkeypatch):
    from datetime import date, datetime

    import chinese_calendar

    from points_service.rules import calendar
    from points_service.rules import service as rules
    from points_service.web import organizer as organizer_pages

    real = chinese_calendar.get_holiday_detail

    def without_2027(day):
        if day.year == 2027:
            raise NotImplementedError("no available data for year 2027")
        return real(day)

    monkeypatch.setattr(chinese_calendar, "get_holiday_detail", without_2027)
    calendar.package_has_year.cache_clear()
    admin = build.staff("admin", build.tree()["city"])
    build.service_rules()
    auth.login(admin.username, PASSWORD)
    warning = "Holiday data for 2027 is missing"
    try:
        monkeypatch.setattr(organizer_pages, "utcnow", lambda: datetime(2026, 10, 31, 16, 30))  # 11-01 local
        assert warning not in client.get("/organizer/").get_data(as_text=True)
        monkeypatch.setattr(organizer_pages, "utcnow", lambda: datetime(2026, 11, 1, 16, 30))  # 11-02 local
        page = client.get("/organizer/").get_data(as_text=True)
        assert warning in page
        assert "points calendar-import FILE --year 2027" in page
        client.post("/language/zh_CN")
        assert "2027 年节假日数据缺失" in client.get("/organizer/records").get_data(as_text=True)

        rules.save_year_calendar(admin, 2027, [{"date": date(2027, 1, 1), "kind": "holiday", "name": "元旦"}])
        assert "2027 年节假日数据缺失" not in client.get("/organizer/records").get_data(as_text=True)
    finally:
        calendar.package_has_year.cache_clear()


def test_an_organizer_finds_a_volunteer_by_name_or_mobile_and_enters_their_service(client, build, auth):
    build.service_rules()
    organizer = build.organizer()
    volunteer = build.volunteer(name="欧阳娜娜", mobile="13900000777")
    elsewhere = build.volunteer(build.tree()["communities"][3], name="欧阳修", mobile="13900000888")
    db.session.commit()
    auth.login(organizer.username, PASSWORD)

    found = client.post("/organizer/records/find", data={"find-who": "欧阳"})
    html = found.get_data(as_text=True)
    assert found.status_code == 200 and "欧***" in html and "欧阳娜娜" not in html
    assert f"volunteer={volunteer.volunteer.id}" in html and f"volunteer={elsewhere.volunteer.id}" not in html
    by_mobile = client.post("/organizer/records/find", data={"find-who": "139 0000 0777"}).get_data(as_text=True)
    assert f"volunteer={volunteer.volunteer.id}" in by_mobile and "13900000777" not in by_mobile

    form = client.get(f"/organizer/records/new?volunteer={volunteer.volunteer.id}").get_data(as_text=True)
    assert 'data-testid="chosen"' in form
    organization = re.search(r'name="organization"[^>]*>\s*<option[^>]*value="(\d+)"', form).group(1)
    day = (utcnow() - timedelta(days=2)).strftime("%Y-%m-%d")
    saved = client.post(
        "/organizer/records/new",
        data={
            "volunteer": volunteer.volunteer.id,
            "organization": organization,
            "category": "elderly_care",
            "started_at": f"{day}T09:00",
            "ended_at": f"{day}T11:00",
        },
    )
    assert saved.status_code == 302
    assert db.session.execute(select(ServiceRecord.volunteer_id)).scalars().all() == [volunteer.volunteer.id]
    refused = client.get(f"/organizer/records/new?volunteer={elsewhere.volunteer.id}")
    assert refused.status_code == 422  # another community's volunteer is not found
