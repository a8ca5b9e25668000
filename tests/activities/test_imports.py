import csv
import io
from datetime import datetime, time, timedelta

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from points_service.activities import imports
from points_service.activities import service as activities
from points_service.activities.models import ImportBatch, ServiceRecord
from points_service.audit.models import AuditEvent
from points_service.codes import damm_digit
from points_service.errors import PermissionDenied, ValidationError
from points_service.extensions import db
from points_service.timeutil import to_local, utcnow

ENGLISH = ["Member number", "Category", "Date", "Start", "End", "Urgent", "Note"]
CHINESE = ["会员编号", "服务类别", "日期", "开始时间", "结束时间", "紧急任务", "备注"]


def local_yesterday(build):
    return (to_local(utcnow(), build.community.timezone) - timedelta(days=1)).date()


def csv_bytes(rows, header=ENGLISH, encoding="utf-8-sig"):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows, header=CHINESE):
    book = Workbook()
    book.active.append(header)
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def record_count():
    return db.session.execute(select(func.count()).select_from(ServiceRecord)).scalar_one()


@pytest.fixture
def uploader(build):
    build.service_rules()
    return build.organizer()


def test_a_csv_file_is_imported_as_pending_records_entered_by_the_uploader(build, uploader):
    day = local_yesterday(build).isoformat()
    one, two = build.volunteer(), build.volunteer()
    content = csv_bytes(
        [
            [one.volunteer.member_no, "patrol", day, "09:00", "11:30", "", "North block"],
            [two.volunteer.member_no, "Elderly care", day, "14:00", "15:00", "yes", ""],
        ]
    )

    result = imports.import_records(uploader, build.community, "hours.csv", content)

    assert (result.created, result.replayed) == (2, False)
    records = ServiceRecord.query.order_by(ServiceRecord.id).all()
    assert [(r.source, r.status, r.minutes, r.category, r.urgent) for r in records] == [
        ("import", "pending", 150, "patrol", False),
        ("import", "pending", 60, "elderly_care", True),
    ]
    assert {r.entered_by_id for r in records} == {uploader.id}
    assert to_local(records[0].started_at, build.community.timezone).hour == 9
    assert records[0].note == "North block"
    assert AuditEvent.query.filter_by(action="import.apply").count() == 1
    with pytest.raises(PermissionDenied):
        activities.approve_record(uploader, records[0].id)
    assert activities.approve_record(build.approver(), records[0].id).status == "approved"


def test_an_xlsx_file_with_chinese_headers_and_real_date_cells_is_imported(build, uploader):
    day = local_yesterday(build)
    volunteer = build.volunteer()
    content = xlsx_bytes(
        [
            [int(volunteer.volunteer.member_no), "治安巡逻", day, time(8, 0), time(9, 15), "否", None],
            [
                volunteer.volunteer.member_no,
                "助老服务",
                None,
                datetime.combine(day, time(22)),
                f"{day} 23:30",
                "是",
                "",
            ],
        ]
    )

    result = imports.import_records(uploader, build.community, "记录.xlsx", content)

    assert result.created == 2
    assert sorted(r.minutes for r in ServiceRecord.query.all()) == [75, 90]


def test_every_bad_row_is_reported_and_nothing_is_written(build, uploader):
    day = local_yesterday(build).isoformat()
    volunteer = build.volunteer()
    number = volunteer.volunteer.member_no
    wrong_digit = number[:-1] + str((int(number[-1]) + 1) % 10)
    tomorrow = (local_yesterday(build) + timedelta(days=2)).isoformat()
    content = csv_bytes(
        [
            [number, "patrol", day, "09:00", "10:00", "", ""],  # row 2 is fine
            [wrong_digit, "patrol", day, "09:00", "10:00", "", ""],
            [number, "juggling", day, "09:00", "10:00", "", ""],
            [number, "patrol", "15/03/2026", "09:00", "10:00", "", ""],
            [number, "patrol", day, "11:00", "10:00", "", ""],
            [number, "patrol", tomorrow, "09:00", "10:00", "", ""],
            [number, "patrol", day, "09:30", "10:30", "", ""],  # overlaps row 2
            [number, "patrol", day, "nine", "10:00", "", ""],
            [number, "patrol", day, "12:00", "13:00", "maybe", ""],
            ["", "patrol", day, "12:00", "13:00", "", ""],
        ]
    )

    with pytest.raises(imports.ImportRejected) as rejected:
        imports.import_records(uploader, build.community, "hours.csv", content)

    problems = {error.row: (error.column, error.message) for error in rejected.value.errors}
    assert sorted(problems) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert problems[3] == ("Member number", f"The member number {wrong_digit} is not valid; check its digits.")
    assert problems[4][0] == "Category"
    assert problems[5] == ("Date", "Write the date as 2026-03-15.")
    assert problems[6] == ("End", "The end time must be after the start time.")
    assert problems[7] == ("End", "Service times cannot be in the future.")
    assert problems[8] == ("Start", "This overlaps row 2, a record of the same volunteer.")
    assert problems[9][0] == "Start"
    assert problems[10][0] == "Urgent"
    assert problems[11] == ("Member number", "The member number is missing.")
    assert rejected.value.details["count"] == 9
    assert "9 problems found; nothing was imported" in rejected.value.render_message()
    assert record_count() == 0
    assert ImportBatch.query.count() == 0


def test_rows_overlapping_existing_records_and_unknown_members_are_reported(build, uploader):
    volunteer = build.volunteer()
    existing = build.record(volunteer, started_at=utcnow().replace(second=0, microsecond=0) - timedelta(hours=5))
    local_start = to_local(existing.started_at, build.community.timezone)
    unknown = "10000000000" + damm_digit("10000000000")
    content = csv_bytes(
        [
            [volunteer.volunteer.member_no, "patrol", local_start.date(), local_start.strftime("%H:%M"), "", "", ""],
            [
                volunteer.volunteer.member_no,
                "patrol",
                "",
                (local_start + timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M"),
                (local_start + timedelta(minutes=90)).strftime("%Y-%m-%d %H:%M"),
                "",
                "",
            ],
            [unknown, "patrol", local_start.date(), "01:00", "02:00", "", ""],
        ]
    )

    with pytest.raises(imports.ImportRejected) as rejected:
        imports.import_records(uploader, build.community, "hours.csv", content)

    messages = {error.row: error.message for error in rejected.value.errors}
    assert messages[2] == "The time is missing."
    assert messages[3].startswith("This overlaps another service record of the same volunteer")
    assert messages[4] == f"No volunteer has the member number {unknown}."
    assert record_count() == 1


def test_a_re_upload_of_the_same_file_is_recognised_and_not_applied_twice(build, uploader):
    volunteer = build.volunteer()
    content = csv_bytes([[volunteer.volunteer.member_no, "patrol", local_yesterday(build), "09:00", "10:00", "", ""]])

    first = imports.import_records(uploader, build.community, "hours.csv", content)
    second = imports.import_records(uploader, build.community, "hours (1).csv", content)

    assert (second.replayed, second.created, second.batch.id) == (True, 0, first.batch.id)
    assert record_count() == 1


def test_a_file_without_the_required_columns_or_rows_is_refused(build, uploader):
    with pytest.raises(imports.ImportRejected) as rejected:
        imports.import_records(uploader, build.community, "x.csv", csv_bytes([], header=["Member number", "Start"]))
    assert [e.column for e in rejected.value.errors] == ["Category", "End"]
    with pytest.raises(ValidationError, match="no records"):
        imports.import_records(uploader, build.community, "x.csv", csv_bytes([]))
    with pytest.raises(ValidationError, match="Upload an .xlsx or .csv file"):
        imports.import_records(uploader, build.community, "x.pdf", b"%PDF")
    with pytest.raises(ValidationError, match="could not be read"):
        imports.import_records(uploader, build.community, "x.xlsx", b"PK\x03\x04 but not a zip")


def test_a_gb18030_csv_saved_by_chinese_excel_is_read(build, uploader):
    volunteer = build.volunteer()
    content = csv_bytes(
        [[volunteer.volunteer.member_no, "环境清洁", local_yesterday(build), "9:00", "10:00", "", "东门"]],
        header=CHINESE,
        encoding="gb18030",
    )

    assert imports.import_records(uploader, build.community, "hours.csv", content).created == 1
    assert ServiceRecord.query.one().note == "东门"


def test_only_staff_with_import_rights_on_the_organization_import(build, uploader):
    content = csv_bytes([["100000000003", "patrol", "2026-01-01", "09:00", "10:00", "", ""]])
    with pytest.raises(PermissionDenied):
        imports.import_records(uploader, build.tree()["communities"][3], "x.csv", content)


@pytest.mark.parametrize(("language", "header"), [("en", ENGLISH), ("zh_CN", CHINESE)])
def test_the_template_has_the_headers_of_its_language_and_imports_once_filled(build, uploader, language, header):
    sheet = load_workbook(io.BytesIO(imports.import_template(language))).worksheets[0]
    assert [cell.value for cell in sheet[1]] == header
    sheet.append([build.volunteer().volunteer.member_no, "patrol", local_yesterday(build), "09:00", "10:00"])
    out = io.BytesIO()
    sheet.parent.save(out)

    assert imports.import_records(uploader, build.community, "template.xlsx", out.getvalue()).created == 1


def _ten_thousand_rows(build, bad_row=None):
    volunteers = [build.volunteer().volunteer.member_no for _ in range(20)]
    first_day = local_yesterday(build) - timedelta(days=520)
    rows = []
    for index in range(10_000):
        day = first_day + timedelta(days=index // 20)
        rows.append([volunteers[index % 20], "patrol", day.isoformat(), "09:00", "10:30", "", ""])
    if bad_row is not None:
        rows[bad_row - 2][3] = "25:00"
    return csv_bytes(rows)


@pytest.mark.slow
def test_a_10000_row_import_with_one_bad_row_writes_nothing_and_reports_that_row(build, uploader):
    content = _ten_thousand_rows(build, bad_row=7_777)

    with pytest.raises(imports.ImportRejected) as rejected:
        imports.import_records(uploader, build.community, "big.csv", content)

    assert [(e.row, e.column) for e in rejected.value.errors] == [(7_777, "Start")]
    assert record_count() == 0


@pytest.mark.slow
def test_a_10000_row_import_without_errors_imports_everything(build, uploader):
    result = imports.import_records(uploader, build.community, "big.csv", _ten_thousand_rows(build))

    assert result.created == 10_000
    assert record_count() == 10_000
