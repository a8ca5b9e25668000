import csv
import io
from datetime import timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from points_service.activities.models import ServiceRecord
from points_service.extensions import db
from points_service.timeutil import to_local, utcnow


def _iso(moment):
    return moment.isoformat() + "+00:00"


def _keyed(build, headers):
    return {**headers, "Idempotency-Key": build.idempotency_key()}


@pytest.fixture
def organizer_headers(build):
    return build.bearer(build.organizer())


@pytest.fixture
def approver_headers(build):
    return build.bearer(build.approver())


def test_organizer_enters_a_record_that_stays_pending(client, build, organizer_headers):
    build.service_rules()
    volunteer = build.volunteer()
    started = (utcnow() - timedelta(days=1)).replace(second=0, microsecond=0)
    response = client.post(
        "/api/v1/service-records",
        json={
            "member_no": volunteer.volunteer.member_no,
            "category": "elderly_care",
            "started_at": _iso(started),
            "ended_at": _iso(started + timedelta(minutes=90)),
        },
        headers=organizer_headers,
    )
    assert response.status_code == 201, response.json
    record = response.json
    assert record["status"] == "pending" and record["minutes"] == 90 and record["source"] == "organizer"
    assert record["started_at"].endswith("+00:00")
    assert record["masked_name"] != volunteer.name


def test_times_without_a_utc_offset_are_refused(client, build, organizer_headers):
    volunteer = build.volunteer()
    started = utcnow() - timedelta(days=1)
    response = client.post(
        "/api/v1/service-records",
        json={
            "member_no": volunteer.volunteer.member_no,
            "category": "elderly_care",
            "started_at": started.isoformat(),
            "ended_at": (started + timedelta(hours=1)).isoformat(),
        },
        headers=organizer_headers,
    )
    assert response.status_code == 422
    assert {"started_at", "ended_at"} <= set(response.json["error"]["details"]["fields"]["json"])


def test_overlapping_record_is_409_or_422_and_not_written(client, build, organizer_headers):
    volunteer = build.volunteer()
    record = build.record(volunteer)
    response = client.post(
        "/api/v1/service-records",
        json={
            "member_no": volunteer.volunteer.member_no,
            "category": "elderly_care",
            "started_at": _iso(record.started_at + timedelta(minutes=10)),
            "ended_at": _iso(record.ended_at + timedelta(minutes=10)),
        },
        headers=organizer_headers,
    )
    assert response.status_code in (409, 422)
    assert db.session.execute(select(func.count(ServiceRecord.id))).scalar_one() == 1


def test_second_person_approves_and_points_are_credited_once(client, build, approver_headers):
    volunteer = build.volunteer()
    record = build.record(volunteer, minutes=60)
    headers = _keyed(build, approver_headers)
    first = client.post(f"/api/v1/service-records/{record.id}/approve", headers=headers)
    assert first.status_code == 200, first.json
    assert first.json["status"] == "approved" and first.json["points"] == 10
    again = client.post(f"/api/v1/service-records/{record.id}/approve", headers=headers)
    assert again.get_data() == first.get_data()
    assert build.account(volunteer).balance == 10


def test_approving_needs_an_idempotency_key(client, build, approver_headers):
    record = build.record(build.volunteer())
    response = client.post(f"/api/v1/service-records/{record.id}/approve", headers=approver_headers)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "idempotency_key_required"


def test_whoever_entered_a_record_cannot_approve_it(client, build, organizer_headers):
    record = build.record(build.volunteer())
    response = client.post(f"/api/v1/service-records/{record.id}/approve", headers=_keyed(build, organizer_headers))
    assert response.status_code == 403
    assert db.session.get(ServiceRecord, record.id).status == "pending"


def test_reject_needs_a_reason_and_sets_it(client, build, approver_headers):
    record = build.record(build.volunteer())
    url = f"/api/v1/service-records/{record.id}/reject"
    assert client.post(url, json={"reason": ""}, headers=approver_headers).status_code == 422
    response = client.post(url, json={"reason": "No sign-in sheet"}, headers=approver_headers)
    assert response.status_code == 200
    assert response.json["status"] == "rejected" and response.json["rejection_reason"] == "No sign-in sheet"


def test_organizer_of_another_community_cannot_approve(client, build):
    record = build.record(build.volunteer())
    far = build.staff("organizer", build.tree()["communities"][3])
    response = client.post(f"/api/v1/service-records/{record.id}/approve", headers=_keyed(build, build.bearer(far)))
    assert response.status_code == 403


def test_approve_all_approves_rejects_excludes_and_skips(client, build, approver_headers):
    activity = build.activity()
    volunteers = [build.volunteer() for _ in range(4)]
    records = build.checked_in_roster(activity, volunteers)
    own = build.volunteer()
    approver = build.approver()
    from points_service.accounts.service import grant_role

    grant_role(approver, "volunteer", build.community)
    build.checked_in_roster(activity, [approver])
    response = client.post(
        f"/api/v1/activities/{activity.id}/approve-all",
        json={"exclude": [records[0].id], "reject": [{"record_id": records[1].id, "reason": "Left early"}]},
        headers=_keyed(build, approver_headers),
    )
    assert response.status_code == 200, response.json
    decisions = response.json
    assert sorted(decisions["approved"]) == sorted([records[2].id, records[3].id])
    assert decisions["rejected"] == [records[1].id] and decisions["excluded"] == [records[0].id]
    assert len(decisions["skipped"]) == 1  # the approver's own service
    assert build.account(volunteers[2]).balance > 0 and build.account(own).balance == 0


def _csv_file(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Member number", "Category", "Date", "Start", "End"])
    writer.writerows(rows)
    return io.BytesIO(buffer.getvalue().encode())


def _rows_for(build, volunteers):
    day = to_local(utcnow() - timedelta(days=2), "Asia/Shanghai").date().isoformat()
    return [[volunteer.volunteer.member_no, "elderly_care", day, "09:00", "10:30"] for volunteer in volunteers]


def test_import_of_a_csv_creates_pending_records_once(client, build, organizer_headers):
    build.service_rules()
    volunteers = [build.volunteer() for _ in range(3)]
    content = _csv_file(_rows_for(build, volunteers)).getvalue()
    first = client.post(
        "/api/v1/imports",
        data={"file": (io.BytesIO(content), "hours.csv")},
        headers=organizer_headers,
        content_type="multipart/form-data",
    )
    assert first.status_code == 201, first.json
    assert first.json["created"] == 3 and first.json["replayed"] is False
    again = client.post(
        "/api/v1/imports",
        data={"file": (io.BytesIO(content), "hours.csv")},
        headers=organizer_headers,
        content_type="multipart/form-data",
    )
    assert again.status_code == 200 and again.json["replayed"] is True and again.json["created"] == 0
    assert db.session.execute(select(func.count(ServiceRecord.id))).scalar_one() == 3


def test_import_of_an_xlsx_works(client, build, organizer_headers):
    build.service_rules()
    book = Workbook()
    sheet = book.active
    sheet.append(["Member number", "Category", "Date", "Start", "End"])
    for row in _rows_for(build, [build.volunteer()]):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    response = client.post(
        "/api/v1/imports",
        data={"file": (buffer, "hours.xlsx")},
        headers=organizer_headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json


def test_import_with_a_bad_row_imports_nothing_and_lists_the_row(client, build, organizer_headers):
    build.service_rules()
    rows = _rows_for(build, [build.volunteer()])
    rows.append(["123456789012", "elderly_care", rows[0][2], "09:00", "10:00"])
    response = client.post(
        "/api/v1/imports",
        data={"file": (_csv_file(rows), "hours.csv")},
        headers=organizer_headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert response.json["error"]["code"] == "import_rejected"
    assert [problem["row"] for problem in response.json["error"]["details"]["rows"]] == [3]
    assert db.session.execute(select(func.count(ServiceRecord.id))).scalar_one() == 0


@pytest.mark.parametrize(
    "filename, content",
    [
        ("hours.exe", b"MZ\x90\x00"),
        ("hours.xlsx", b"Member number,Category\n"),
        ("hours.csv", b"PK\x03\x04binary"),
        ("hours.csv", b"Member\x00number"),
        ("hours", b"a,b\n"),
    ],
)
def test_import_refuses_files_that_are_not_xlsx_or_csv(client, build, organizer_headers, filename, content):
    response = client.post(
        "/api/v1/imports",
        data={"file": (io.BytesIO(content), filename)},
        headers=organizer_headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 415
    assert response.json["error"]["code"] == "unsupported_file_type"


def test_import_without_a_file_is_422(client, organizer_headers):
    response = client.post("/api/v1/imports", data={}, headers=organizer_headers, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "file" in response.json["error"]["details"]["fields"]["multipart"]


def test_counter_staff_cannot_import(client, build):
    clerk = build.staff("counter", build.community)
    response = client.post(
        "/api/v1/imports",
        data={"file": (_csv_file(_rows_for(build, [build.volunteer()])), "hours.csv")},
        headers=build.bearer(clerk),
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
