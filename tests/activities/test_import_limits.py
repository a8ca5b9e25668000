"""Hostile and careless spreadsheet uploads, through the organizer page and the API.

The workbooks here are written part by part with ``zipfile``, so a sheet can say what a
spreadsheet program would not: a dimension of a million rows and 16,384 columns in a
file of a few kilobytes, a stale dimension that covers fewer rows than the sheet has,
a member that unpacks a thousandfold. Each is read as it really is, or refused with a
clear 4xx that names the limit, and a refused file writes nothing.
"""

import html
import io
import re
import resource
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from points_service.activities import imports
from points_service.activities.models import ImportBatch, ServiceRecord
from points_service.extensions import db
from points_service.timeutil import to_local, utcnow
from tests.builders import PASSWORD

HEADER = ["Member number", "Category", "Date", "Start", "End"]
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml"'
    ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml"'
    ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
PACKAGE_RELS = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{PACKAGE_RELATIONSHIPS}">'
    f'<Relationship Id="rId1" Type="{RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">'
    '<sheets><sheet name="Records" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{PACKAGE_RELATIONSHIPS}">'
    f'<Relationship Id="rId1" Type="{RELATIONSHIPS}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)


def column_letters(number):
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def sheet_xml(rows, dimension=None, stray=()):
    """A worksheet: ``rows`` maps a row number to its texts from column A; ``stray`` adds
    ``(column number, row number, text)`` cells anywhere."""
    cells = {number: [(index, text) for index, text in enumerate(texts, start=1)] for number, texts in rows.items()}
    for column, number, text in stray:
        cells.setdefault(number, []).append((column, text))
    body = "".join(
        f'<row r="{number}">'
        + "".join(
            f'<c r="{column_letters(column)}{number}" t="inlineStr"><is><t>{text}</t></is></c>'
            for column, text in sorted(cells[number])
        )
        + "</row>"
        for number in sorted(cells)
    )
    declared = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{MAIN}">'
        f"{declared}<sheetData>{body}</sheetData></worksheet>"
    )


def xlsx_parts(sheet, extra=()):
    """The bytes of a workbook whose only sheet is ``sheet``, plus ``extra`` (name, bytes) members."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", PACKAGE_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        for name, content in extra:
            archive.writestr(name, content)
    return out.getvalue()


def csv_text(rows):
    return "\r\n".join(",".join(row) for row in rows) + "\r\n"


def record_count():
    return db.session.execute(select(func.count()).select_from(ServiceRecord)).scalar_one()


def nothing_written():
    return record_count() == 0 and db.session.execute(select(func.count()).select_from(ImportBatch)).scalar_one() == 0


@contextmanager
def memory_cap(megabytes):
    """Let the process grow by at most ``megabytes``: unbounded allocation becomes a
    MemoryError in this test instead of a machine that swaps or a killed test run."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as statm:
        in_use = int(statm.read().split()[0]) * resource.getpagesize()
    cap = in_use + megabytes * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@dataclass
class Outcome:
    status: int
    imported: bool
    message: str
    details: dict


class Face:
    """Uploads a file as an organizer through the web page or the API, and reads the outcome."""

    def __init__(self, name, client, organization, headers=None):
        self.name, self.client, self.organization, self.headers = name, client, organization, headers

    def upload(self, filename, content, content_type="application/octet-stream"):
        fields = {"file": FileStorage(io.BytesIO(content), filename, content_type=content_type)}
        if self.name == "web":
            fields["organization"] = str(self.organization.id)
        # The body is encoded here, in memory: the test client would spool a large one to a
        # temporary file that nothing closes.
        boundary, body = encode_multipart(fields)
        multipart = f"multipart/form-data; boundary={boundary}"
        if self.name == "web":
            response = self.client.post("/organizer/imports", data=body, content_type=multipart)
            page = response.get_data(as_text=True)
            error = re.search(r'<p class="error" role="alert">(.*?)</p>', page, re.S)
            return Outcome(
                response.status_code, response.status_code == 302, html.unescape(error[1]) if error else "", {}
            )
        response = self.client.post("/api/v1/imports", data=body, headers=self.headers, content_type=multipart)
        error = (response.json or {}).get("error", {})
        return Outcome(
            response.status_code, response.status_code == 201, error.get("message", ""), error.get("details", {})
        )


@pytest.fixture(params=["web", "api"])
def face(request, app, build):
    build.service_rules()
    organizer = build.organizer()
    client = app.test_client()
    if request.param == "web":
        client.post("/login", data={"login": organizer.username, "password": PASSWORD})
        return Face("web", client, build.community)
    return Face("api", client, build.community, build.bearer(organizer))


@pytest.fixture
def records(build):
    """Three valid record rows of three volunteers, yesterday."""
    day = (to_local(utcnow(), build.community.timezone) - timedelta(days=1)).date().isoformat()
    return [[build.volunteer().volunteer.member_no, "patrol", day, "09:00", "10:30"] for _ in range(3)]


def refused(outcome, status, *fragments):
    assert outcome.status == status, outcome
    assert not outcome.imported
    assert all(fragment in outcome.message for fragment in fragments), outcome.message
    assert nothing_written()
    return True


# -- the declared dimension is never trusted ------------------------------------------------


def test_a_tiny_sheet_declaring_the_largest_dimension_imports_its_rows_in_bounded_memory(face, records):
    # The last row of the sheet is an empty formatted row, as spreadsheet programs write them.
    rows = {1: HEADER, 2: records[0], 3: records[1], 1_048_576: []}
    content = xlsx_parts(sheet_xml(rows, dimension="A1:XFD1048576"))
    assert len(content) < 6000

    with memory_cap(256):
        outcome = face.upload("hours.xlsx", content)

    assert outcome.imported, outcome
    assert record_count() == 2


def test_a_stale_dimension_covering_fewer_rows_than_the_sheet_loses_no_row(face, records):
    content = xlsx_parts(sheet_xml({1: HEADER, 2: records[0], 3: records[1], 4: records[2]}, dimension="A1:C2"))

    outcome = face.upload("hours.xlsx", content)

    assert outcome.imported, outcome
    assert record_count() == 3


def test_a_stray_cell_in_the_far_corner_of_the_sheet_costs_nothing_and_is_ignored(face, records):
    content = xlsx_parts(sheet_xml({1: HEADER, 2: records[0]}, stray=[(16384, 1_048_576, "x")]))

    with memory_cap(256):
        outcome = face.upload("hours.xlsx", content)

    assert outcome.imported, outcome
    assert record_count() == 1


def test_a_header_cell_beyond_the_column_limit_is_refused_naming_the_limit(face, records):
    content = xlsx_parts(sheet_xml({1: HEADER, 2: records[0]}, stray=[(16384, 1, "Note")]))

    with memory_cap(256):
        outcome = face.upload("hours.xlsx", content)

    assert refused(outcome, 413, "The header row has more than 50 columns")


# -- zip bombs ---------------------------------------------------------------------------------


def test_a_member_that_unpacks_a_thousandfold_is_refused_naming_the_ratio(face, records):
    bomb = ("xl/media/image1.bin", b"\0" * (20 * 2**20))
    content = xlsx_parts(sheet_xml({1: HEADER, 2: records[0]}), extra=[bomb])
    assert len(content) < 100_000

    with memory_cap(256):
        outcome = face.upload("hours.xlsx", content)

    assert refused(outcome, 413, "more than 100 times its packed size")
    if face.name == "api":
        assert outcome.details == {"field": "file", "limit": "packing_ratio", "maximum": 100}


def test_a_workbook_that_unpacks_beyond_the_total_limit_is_refused(face, records, monkeypatch):
    monkeypatch.setattr(imports, "MAX_UNPACKED_MB", 1)
    monkeypatch.setattr(imports, "MAX_UNPACKED_BYTES", 2**20)
    rows = {1: HEADER, 2: records[0]} | {number: ["filler " * 40] for number in range(3, 4000)}
    content = xlsx_parts(sheet_xml(rows))

    outcome = face.upload("hours.xlsx", content)

    assert refused(outcome, 413, "unpacks to more than 1 MB")


# -- size, rows, columns -------------------------------------------------------------------------


def test_a_file_over_the_byte_limit_is_refused_naming_it(face, records):
    content = csv_text([HEADER, *records]).encode()
    content += b"#" * (imports.MAX_FILE_BYTES + 1 - len(content))

    outcome = face.upload("hours.csv", content)

    assert refused(outcome, 413, "larger than 10 MB")


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_reading_stops_at_the_row_limit_and_the_file_is_refused(face, records, monkeypatch, kind):
    monkeypatch.setattr(imports, "MAX_ROWS", 2)
    rows = [HEADER, *records]
    if kind == "csv":
        # After the limit, a quote that is never closed: it is never read, so it is not what is reported.
        content = (csv_text(rows) + '"' + "x" * 200_000 + "\n").encode()
    else:
        content = xlsx_parts(sheet_xml(dict(enumerate(rows, start=1))))

    outcome = face.upload(f"hours.{kind}", content)

    assert refused(outcome, 413, "more than 2 records")
    if face.name == "api":
        assert outcome.details["limit"] == "rows"
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    assert face.upload(f"hours.{kind}", csv_text(rows).encode() if kind == "csv" else content).imported


def test_a_csv_header_with_more_columns_than_the_limit_is_refused(face, records):
    header = HEADER + [f"Extra {number}" for number in range(46)]

    outcome = face.upload("hours.csv", csv_text([header, records[0]]).encode())

    assert refused(outcome, 413, "The header row has more than 50 columns")
    if face.name == "api":
        assert outcome.details == {"field": "file", "limit": "columns", "maximum": 50}


def test_cells_without_a_header_beyond_the_column_limit_are_not_read(face, records):
    wide = records[0] + [""] * 50 + ["not part of the table"]
    only_far = [""] * 60 + ["nothing under a header"]

    outcome = face.upload("hours.csv", csv_text([HEADER, wide, only_far]).encode())

    assert outcome.imported, outcome
    assert record_count() == 1


def test_empty_cells_after_the_last_column_are_not_counted_as_columns(face, records):
    padded = [[*row, *[""] * 200] for row in [HEADER, *records]]

    outcome = face.upload("hours.csv", csv_text(padded).encode())

    assert outcome.imported, outcome
    assert record_count() == 3


# -- the kind of file is told by its bytes -------------------------------------------------------


def _workbook(rows):
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("declared_type", ["text/csv", "application/vnd.ms-excel", "application/octet-stream"])
def test_the_browsers_content_type_does_not_decide_how_a_file_is_read(face, records, declared_type):
    assert face.upload("hours.xlsx", _workbook([HEADER, records[0]]), declared_type).imported
    assert face.upload("more.csv", csv_text([HEADER, records[1]]).encode(), declared_type).imported
    assert record_count() == 2


def test_csv_text_named_xlsx_is_refused(face, records):
    outcome = face.upload("hours.xlsx", csv_text([HEADER, *records]).encode())

    assert refused(outcome, 415, "named .xlsx but holds CSV text")


def test_a_workbook_named_csv_is_refused(face, records):
    outcome = face.upload("hours.csv", _workbook([HEADER, *records]))

    assert refused(outcome, 415, "named .csv but is an .xlsx spreadsheet")


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("hours.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "old Excel (.xls) workbook"),
        ("hours.csv", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "neither an .xlsx spreadsheet nor CSV text"),
        ("hours.csv", b"Member number,Category\n\x01\x02,x\n", "neither an .xlsx spreadsheet nor CSV text"),
        ("hours.pdf", b"%PDF-1.7\n", "Upload an .xlsx or .csv file."),
    ],
    ids=["xls-named-xlsx", "png-named-csv", "control-characters", "pdf"],
)
def test_files_that_are_not_spreadsheets_are_refused_with_what_they_are(face, filename, content, message):
    assert refused(face.upload(filename, content), 415, message)


def test_a_gb18030_csv_is_read_as_text(face, records):
    header = ["会员编号", "服务类别", "日期", "开始时间", "结束时间"]

    outcome = face.upload(
        "hours.csv", csv_text([header, [*records[0][:1], "治安巡逻", *records[0][2:]]]).encode("gb18030")
    )

    assert outcome.imported, outcome


# -- broken files are a 4xx, never a 500 -----------------------------------------------------------


def _broken_workbooks(records):
    good = xlsx_parts(sheet_xml({1: HEADER, 2: records[0]}))
    yield "truncated", good[: len(good) // 2]
    yield "sheet XML cut off", xlsx_parts(sheet_xml({1: HEADER, 2: records[0]})[:-40])
    yield (
        "shared string that does not exist",
        xlsx_parts(
            sheet_xml({1: HEADER}).replace("</sheetData>", '<row r="2"><c r="A2" t="s"><v>7</v></c></row></sheetData>')
        ),
    )
    flipped = bytearray(good)
    start = good.index(b"xl/worksheets/sheet1.xml") + len("xl/worksheets/sheet1.xml")
    flipped[start + 10 : start + 20] = b"\xff" * 10
    yield "corrupt deflate data", bytes(flipped)


def test_broken_workbooks_are_refused_as_unreadable(face, records):
    for name, content in _broken_workbooks(records):
        outcome = face.upload("hours.xlsx", content)
        assert outcome.status == 422, (name, outcome)
        assert "could not be read as an .xlsx spreadsheet" in outcome.message, (name, outcome)
    assert nothing_written()


def test_a_csv_with_an_unclosed_quote_is_refused_naming_the_line(face, records):
    content = (csv_text([HEADER, records[0]]) + '"' + "x" * 200_000 + "\n").encode()

    outcome = face.upload("hours.csv", content)

    assert refused(outcome, 422, "could not be read at line", "quote mark")


def test_a_refusal_is_in_the_uploaders_language_and_names_the_limit(client, build):
    build.service_rules()
    headers = build.bearer(build.organizer(), **{"Accept-Language": "zh-CN"})
    content = b"a" * (imports.MAX_FILE_BYTES + 1)
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(content), "hours.csv")})

    response = client.post(
        "/api/v1/imports", data=body, headers=headers, content_type=f"multipart/form-data; boundary={boundary}"
    )

    assert response.status_code == 413
    assert response.json["error"]["message"] == "文件超过 10 MB，请拆分成几个较小的文件。"
