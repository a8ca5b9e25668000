"""Spreadsheet import of service records: xlsx or CSV, all rows or none.

Every row is checked first (member number and its check digit, category, date and
times, length, overlaps within the file and with existing records); when any row is
wrong nothing is written and the organizer gets every problem with its row number.
A file is recognised by the SHA-256 of its bytes, so uploading it again imports
nothing twice. Imported records are pending: the uploader entered them, so another
person approves them (four eyes).

The file format: one header row, then one record per row. Headers may be English or
Chinese (the two downloadable templates); column order does not matter. ``Start`` and
``End`` hold a time (with the date in ``Date``) or a full date and time, in the time
zone of the organization the records are for.

An upload is untrusted: its kind is told by its bytes (an .xlsx is a zip archive, a CSV
is UTF-8 or GB18030 text), and its name must agree. Limits keep a hostile file from
costing more than the largest honest one: the file's size, the zip's unpacked size and
packing ratio (checked before openpyxl opens it), the rows and the columns. A sheet's
declared dimension is ignored: rows are read as they are in the file, so a sheet that
claims a million columns or too few rows neither exhausts memory nor loses rows.
Numbers, codes, dates and times in cells are normalised like typed input (full-width
digits and spaces read as ASCII); notes are kept as written.
"""

import csv
import hashlib
import io
import re
import zlib
from bisect import bisect_right
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from xml.etree.ElementTree import ParseError
from zipfile import ZIP_DEFLATED, ZIP_STORED, BadZipFile, ZipFile

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from .. import authz
from ..accounts.models import VolunteerProfile
from ..audit.service import record_audit
from ..codes import is_valid_member_number, normalise_code, normalise_typed
from ..database import write_transaction
from ..errors import ValidationError
from ..extensions import db
from ..organizations.models import Organization
from ..timeutil import to_utc, utcnow
from . import common
from .models import ImportBatch, ServiceRecord
from .publishing import list_categories

# The accepted headers of each column: the file format, in both template languages.
COLUMNS = {
    "member_no": ("Member number", "会员编号"),
    "category": ("Category", "服务类别"),
    "date": ("Date", "日期"),
    "start": ("Start", "开始时间"),
    "end": ("End", "结束时间"),
    "urgent": ("Urgent", "紧急任务"),
    "note": ("Note", "备注"),
}
ALIASES = {"memberno": "member_no", "member": "member_no", "会员号": "member_no", "类别": "category"}
REQUIRED = ("member_no", "category", "start", "end")
MAX_REPORTED = 500

# What one upload may hold. The largest honest file (MAX_ROWS records of the template)
# is about 9 MB as CSV (more with notes) and 80 MB of sheet XML unpacked; real sheets
# pack 10 to 20 times.
MAX_FILE_MB = 10
MAX_FILE_BYTES = MAX_FILE_MB * 1024 * 1024
MAX_ROWS = 200_000
MAX_COLUMNS = 50
MAX_UNPACKED_MB = 100
MAX_UNPACKED_BYTES = MAX_UNPACKED_MB * 1024 * 1024
MAX_PACKING_RATIO = 100
_RATIO_FROM_BYTES = 1024 * 1024  # small members may pack tighter; they cannot cost much
_XLSX_MAX_ROWS = 1_048_576  # the most rows an .xlsx sheet can have
_ZIP_SIGNATURE = b"PK\x03\x04"
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, and password-protected .xlsx
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# What openpyxl and zipfile raise on a broken or hostile workbook, while opening or reading it.
_XLSX_ERRORS = (
    InvalidFileException,
    BadZipFile,
    ParseError,
    zlib.error,
    EOFError,
    OSError,
    KeyError,
    IndexError,
    TypeError,
    ValueError,
    OverflowError,
    NotImplementedError,
)
_UNREADABLE_XLSX = _l("This file could not be read as an .xlsx spreadsheet.")
# Zip features no spreadsheet program writes: encryption (bits 0 and 6) and patched data (bit 5).
_UNSUPPORTED_ZIP_FLAGS = 0x1 | 0x20 | 0x40
_YES = {"1", "y", "yes", "true", "x", "是", "✓", "√"}
_NO = {"", "0", "n", "no", "false", "否"}
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_TIME_RE = re.compile(r"^(\d{1,2})\s*[:：]\s*(\d{2})(?:\s*[:：]\s*(\d{2}))?$")


def _key(header):
    return re.sub(r"[\s_]+", "", normalise_typed(str(header or ""))).casefold()


_HEADER_KEYS = {_key(label): column for column, labels in COLUMNS.items() for label in (*labels, column)}
_HEADER_KEYS.update({_key(alias): column for alias, column in ALIASES.items()})


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str


class ImportRejected(ValidationError):
    """The file was not imported; ``errors`` lists every problem by row."""

    code = "import_rejected"

    def __init__(self, errors):
        self.errors = errors
        super().__init__(
            _l("%(count)s problems found; nothing was imported. Correct the rows listed and upload the file again."),
            count=len(errors),
            details={"rows": [asdict(error) for error in errors[:MAX_REPORTED]], "count": len(errors)},
        )


@dataclass(frozen=True)
class ImportResult:
    batch: ImportBatch
    created: int
    replayed: bool


@dataclass
class _Row:
    number: int
    member_no: str
    category: str
    started_at: datetime
    ended_at: datetime
    urgent: bool
    note: str | None
    volunteer_id: int | None = None


# -- reading the file ---------------------------------------------------------------------


class UnsupportedFile(ValidationError):
    """The upload is not an .xlsx or CSV file, or its name says it is the other kind."""

    status = 415
    code = "unsupported_file_type"


class FileTooLarge(ValidationError):
    """The upload is over one of the limits; ``details`` names the limit and its value."""

    status = 413
    code = "too_large"

    def __init__(self, message, limit, maximum, **params):
        super().__init__(message, details={"field": "file", "limit": limit, "maximum": maximum}, **params)


def upload_bytes(upload):
    """The bytes of an uploaded file, read no further than one byte over ``MAX_FILE_BYTES``."""
    return upload.read(MAX_FILE_BYTES + 1)


def read_table(filename, content):
    """The non-blank rows of the first sheet (xlsx) or of the CSV file, as ``(row number, cells)``.

    The first non-blank row is the header; it may have at most ``MAX_COLUMNS`` columns,
    and cells of later rows beyond them have no header and are not read. Trailing blank
    cells are dropped. Refuses files over the limits, files whose bytes are neither an
    .xlsx workbook nor CSV text, and names that disagree with the bytes.
    """
    if len(content) > MAX_FILE_BYTES:
        raise FileTooLarge(
            _l("The file is larger than %(mb)s MB; split it into smaller files."),
            "bytes",
            MAX_FILE_BYTES,
            mb=MAX_FILE_MB,
        )
    kind, text = _kind_of(filename, content)
    table = []
    with closing(_xlsx_rows(content) if kind == "xlsx" else _csv_rows(text)) as rows:
        for number, cells in rows:
            if _is_blank(cells[:MAX_COLUMNS]):
                continue
            cells = _trimmed(cells)
            if not table and len(cells) > MAX_COLUMNS:
                raise FileTooLarge(
                    _l("The header row has more than %(n)s columns; an import reads at most %(n)s. Delete the others."),
                    "columns",
                    MAX_COLUMNS,
                    n=MAX_COLUMNS,
                )
            if len(table) > MAX_ROWS:  # the header and MAX_ROWS records are read already
                raise FileTooLarge(
                    _l("The file has more than %(n)s records; split it into smaller files."),
                    "rows",
                    MAX_ROWS,
                    n=MAX_ROWS,
                )
            table.append((number, cells[:MAX_COLUMNS]))
    return table


def _kind_of(filename, content):
    """``("xlsx", None)`` or ``("csv", text)``, told by the bytes; the file's name must agree."""
    name = (filename or "").strip().lower()
    named = "xlsx" if name.endswith(".xlsx") else "csv" if name.endswith(".csv") else None
    if named is None:
        raise UnsupportedFile(_l("Upload an .xlsx or .csv file."), details={"field": "file"})
    if content.startswith(_OLE_SIGNATURE):
        raise UnsupportedFile(
            _l(
                "This is an old Excel (.xls) workbook or a password-protected one; open it in Excel or WPS,"
                " remove any password and save it as .xlsx."
            ),
            details={"field": "file"},
        )
    if content.startswith(_ZIP_SIGNATURE):
        found, text = "xlsx", None
    else:
        found, text = "csv", _csv_text(content)
        if text is None:
            raise UnsupportedFile(
                _l("This file is neither an .xlsx spreadsheet nor CSV text (UTF-8 or GB18030)."),
                details={"field": "file"},
            )
    if found != named:
        message = (
            _l("This file is named .xlsx but holds CSV text; upload it with a .csv name, or save it as .xlsx.")
            if named == "xlsx"
            else _l("This file is named .csv but is an .xlsx spreadsheet; upload it with an .xlsx name.")
        )
        raise UnsupportedFile(message, details={"field": "file"})
    return found, text


def _csv_text(content):
    """The content as text when it is UTF-8 (with or without a BOM) or GB18030 text without control characters."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        return None if _CONTROL_RE.search(text) else text
    return None


def _csv_rows(text):
    reader = csv.reader(io.StringIO(text))
    try:
        for cells in reader:
            yield reader.line_num, cells
    except csv.Error:
        raise _file_error(
            _l('This CSV file could not be read at line %(line)s; check for a quote mark (") that is not closed.'),
            line=reader.line_num,
        ) from None


def _xlsx_rows(content):
    """The rows of the first sheet as they are in the file, numbered; never its declared dimension.

    Rows are read ``MAX_COLUMNS`` wide, except the header row (the first non-blank one),
    which is read in full so that a column named beyond the limit is refused, not missed.
    """
    _check_archive(content)
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True, keep_links=False)
    except _XLSX_ERRORS:
        raise _file_error(_UNREADABLE_XLSX) from None
    try:
        if not book.worksheets:
            raise _file_error(_UNREADABLE_XLSX)
        sheet = book.worksheets[0]
        # The <dimension> element is written by the program that saved the file, and may
        # be stale (rows past it would be lost) or hostile (a million columns of padding).
        sheet.reset_dimensions()
        rows = sheet.iter_rows(max_row=_XLSX_MAX_ROWS, max_col=MAX_COLUMNS, values_only=True)
        header_seen = False
        for number, cells in enumerate(rows, start=1):
            if not header_seen and not _is_blank(cells):
                header_seen = True
                with closing(sheet.iter_rows(min_row=number, max_row=number, values_only=True)) as header:
                    cells = next(header)
            yield number, cells
    except _XLSX_ERRORS:
        raise _file_error(_UNREADABLE_XLSX) from None
    finally:
        book.close()


def _check_archive(content):
    """Refuse a zip that unpacks to too much, or packs more tightly than a spreadsheet can."""
    try:
        with ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        raise _file_error(_UNREADABLE_XLSX) from None
    unpacked = 0
    for member in members:
        if member.flag_bits & _UNSUPPORTED_ZIP_FLAGS or member.compress_type not in (ZIP_STORED, ZIP_DEFLATED):
            raise _file_error(_UNREADABLE_XLSX)
        unpacked += member.file_size
        if member.file_size > _RATIO_FROM_BYTES and member.file_size > MAX_PACKING_RATIO * member.compress_size:
            raise FileTooLarge(
                _l(
                    "Part of this file unpacks to more than %(ratio)s times its packed size, which spreadsheets"
                    " never do; save it again from Excel or WPS."
                ),
                "packing_ratio",
                MAX_PACKING_RATIO,
                ratio=MAX_PACKING_RATIO,
            )
    if unpacked > MAX_UNPACKED_BYTES:
        raise FileTooLarge(
            _l("The spreadsheet unpacks to more than %(mb)s MB; split it into smaller files."),
            "unpacked_bytes",
            MAX_UNPACKED_BYTES,
            mb=MAX_UNPACKED_MB,
        )


def _is_blank(cells):
    if cells.count(None) == len(cells):  # the common case, checked at C speed
        return True
    return not any(_text_of(value) for value in cells)


def _trimmed(cells):
    end = len(cells)
    while end and not _text_of(cells[end - 1]):
        end -= 1
    return list(cells[:end])


def _file_error(message, **params):
    return ValidationError(message, details={"field": "file"}, **params)


def _columns(header):
    found = {}
    for index, cell in enumerate(header):
        column = _HEADER_KEYS.get(_key(cell))
        if column and column not in found:
            found[column] = (index, str(cell).strip())
    missing = [COLUMNS[c][0] for c in REQUIRED if c not in found]
    if missing:
        raise ImportRejected(
            [
                RowError(1, name, str(_l("The header row has no column %(column)s.") % {"column": name}))
                for name in missing
            ]
        )
    return found


def _cell_text(value):
    """A cell as text, as written: for free text such as notes."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _text_of(value):
    """A cell holding a number, code, date or time, read like typed input (full-width forms folded)."""
    return normalise_typed(_cell_text(value))


def _parse_date(value):
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _DATE_RE.match(_text_of(value))
    if not match:
        return None
    try:
        return date(*map(int, match.groups()))
    except ValueError:
        return None


def _parse_moment(value, day):
    """A datetime from a full date-time cell, or from a time cell and the row's date."""
    if isinstance(value, datetime):
        return value.replace(microsecond=0)
    if isinstance(value, time):
        return datetime.combine(day, value.replace(microsecond=0)) if day else None
    text = _text_of(value)
    if " " in text or "T" in text:
        day_text, _, time_text = text.replace("T", " ").rpartition(" ")
        day, clock = _parse_date(day_text.strip()), _parse_clock(time_text.strip())
    else:
        clock = _parse_clock(text)
    if day is None or clock is None:
        return None
    return datetime.combine(day, clock)


def _parse_clock(text):
    match = _TIME_RE.match(text)
    if not match:
        return None
    hour, minute, second = (int(part or 0) for part in match.groups())
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def _category_lookup():
    lookup = {}
    for category in list_categories():
        for label in (category.code, category.name_en, category.name_zh):
            if label:
                lookup[_key(label)] = category.code
    return lookup


def _parse_rows(table, organization, now):
    """Rows that parse, and the errors of those that do not."""
    if not table:
        raise _file_error(_l("The file is empty; use the template and fill in one record per row."))
    columns = _columns(table[0][1])
    categories = _category_lookup()
    timezone = organization.timezone
    maximum = common.max_service_minutes(organization)
    rows, errors = [], []
    for offset, cells in table[1:]:

        def cell(column, cells=cells):
            index = columns.get(column, (None,))[0]
            return cells[index] if index is not None and index < len(cells) else None

        def fail(column, message, offset=offset, **params):
            errors.append(RowError(offset, _label(columns, column), str(message) % params if params else str(message)))

        member_no = normalise_code(_text_of(cell("member_no")))
        if not member_no:
            fail("member_no", _l("The member number is missing."))
            continue
        if not is_valid_member_number(member_no):
            fail("member_no", _l("The member number %(number)s is not valid; check its digits."), number=member_no)
            continue
        category = categories.get(_key(_text_of(cell("category"))))
        if category is None:
            fail("category", _l("Unknown service category %(category)s."), category=_text_of(cell("category")) or "-")
            continue
        day = None
        if _text_of(cell("date")):
            day = _parse_date(cell("date"))
            if day is None:
                fail("date", _l("Write the date as 2026-03-15."))
                continue
        moments = {}
        for column in ("start", "end"):
            if not _text_of(cell(column)):
                fail(column, _l("The time is missing."))
                break
            moment = _parse_moment(cell(column), day)
            if moment is None:
                value = cell(column)
                if day is None and (isinstance(value, time) or _parse_clock(_text_of(value))):
                    fail("date", _l("Enter the date, or a full date and time such as 2026-03-15 09:30."))
                else:
                    fail(column, _l("Write the time as 09:30, or a full date and time such as 2026-03-15 09:30."))
                break
            if moment < common.EARLIEST_TIME:  # year 1 cannot even be converted to UTC
                fail(
                    column,
                    _l("Service before %(date)s cannot be recorded."),
                    date=common.EARLIEST_TIME.date().isoformat(),
                )
                break
            moments[column] = to_utc(moment, timezone)
        if len(moments) < 2:
            continue
        problem = common.time_problem(moments["start"], moments["end"], now, maximum)
        if problem:
            fail("end" if problem.field == "ended_at" else "start", problem.message, **problem.params)
            continue
        urgent_text = _text_of(cell("urgent")).casefold()
        if urgent_text not in _YES | _NO:
            fail("urgent", _l("Write yes or no (是 or 否)."))
            continue
        note = _cell_text(cell("note")) or None
        if note and len(note) > 255:
            fail("note", _l("A note can have at most 255 characters."))
            continue
        rows.append(_Row(offset, member_no, category, moments["start"], moments["end"], urgent_text in _YES, note))
    if not rows and not errors:
        raise _file_error(_l("The file has a header row but no records."))
    return rows, errors, columns


def _label(columns, column):
    return columns[column][1] if column in columns else COLUMNS[column][0]


# -- checking rows against the database -------------------------------------------------------


def _attach_volunteers(rows, columns, errors):
    numbers = sorted({row.member_no for row in rows})
    found = {}
    for chunk in common.chunks(numbers):
        found.update(
            db.session.execute(
                select(VolunteerProfile.member_no, VolunteerProfile.id).where(VolunteerProfile.member_no.in_(chunk))
            ).all()
        )
    kept = []
    for row in rows:
        row.volunteer_id = found.get(row.member_no)
        if row.volunteer_id is None:
            errors.append(
                RowError(
                    row.number,
                    _label(columns, "member_no"),
                    str(_l("No volunteer has the member number %(number)s.") % {"number": row.member_no}),
                )
            )
        else:
            kept.append(row)
    return kept


def _check_overlaps(rows, columns, errors, timezone):
    """Overlaps within the file and with existing pending or approved records."""
    label = _label(columns, "start")
    by_volunteer = {}
    for row in rows:
        by_volunteer.setdefault(row.volunteer_id, []).append(row)
    clean = []
    for volunteer_rows in by_volunteer.values():
        volunteer_rows.sort(key=lambda r: (r.started_at, r.number))
        latest = None
        for row in volunteer_rows:
            if latest is not None and row.started_at < latest.ended_at:
                errors.append(
                    RowError(
                        row.number,
                        label,
                        str(
                            _l("This overlaps row %(other)s, a record of the same volunteer.")
                            % {"other": latest.number}
                        ),
                    )
                )
                continue
            latest = row
            clean.append(row)
    if not clean:
        return
    existing = common.overlapping_records(
        {row.volunteer_id for row in clean},
        min(row.started_at for row in clean),
        max(row.ended_at for row in clean),
    )
    ends = {v: [end for _, end, _ in spans] for v, spans in existing.items()}
    for row in clean:
        spans = existing.get(row.volunteer_id)
        if not spans:
            continue
        # Existing records of one volunteer never overlap, so their ends are sorted too.
        index = bisect_right(ends[row.volunteer_id], row.started_at)
        if index < len(spans) and spans[index][0] < row.ended_at:
            start, end, _ = spans[index]
            errors.append(
                RowError(
                    row.number,
                    label,
                    str(
                        _l("This overlaps another service record of the same volunteer (%(start)s to %(end)s).")
                        % {"start": common.local_text(start, timezone), "end": common.local_text(end, timezone)}
                    ),
                )
            )


# -- the operation -------------------------------------------------------------------------


def file_digest(content):
    return hashlib.sha256(content).hexdigest()


def import_records(actor, organization, filename, content, now=None):
    """Import every row of the file as a pending record for ``organization``, or none.

    Raises ``ImportRejected`` with the row-by-row problems; a file imported before is
    recognised and returned as ``replayed`` without importing anything.
    """
    authz.require(actor, "import.run", organization)
    if not content:
        raise _file_error(_l("Choose a file to upload."))
    now = now or utcnow()
    digest = file_digest(content)
    earlier = _batch_with_digest(digest)
    if earlier is not None:
        return ImportResult(earlier, 0, True)
    table = read_table(filename, content)
    rows, errors, columns = _parse_rows(table, organization, now)
    try:
        with write_transaction() as session:
            earlier = _batch_with_digest(digest)
            if earlier is not None:
                return ImportResult(earlier, 0, True)
            rows = _attach_volunteers(rows, columns, errors)
            common.lock_accounts(row.volunteer_id for row in rows)
            _check_overlaps(rows, columns, errors, organization.timezone)
            if errors:
                errors.sort(key=lambda e: e.row)
                raise ImportRejected(errors)
            batch = ImportBatch(
                organization_id=organization.id,
                uploaded_by_id=actor.id,
                filename=(filename or "upload")[-255:],
                sha256=digest,
                row_count=len(rows),
                created_at=now,
            )
            session.add(batch)
            session.flush()
            for chunk in common.chunks(rows, 5000):
                session.execute(insert(ServiceRecord), [_values(row, organization, actor, batch, now) for row in chunk])
            record_audit(
                actor,
                "import.apply",
                "import_batch",
                batch.id,
                organization_id=organization.id,
                after={"rows": len(rows), "sha256": digest},
            )
    except IntegrityError:
        db.session.rollback()
        earlier = _batch_with_digest(digest)
        if earlier is None:
            raise
        return ImportResult(earlier, 0, True)
    return ImportResult(batch, len(rows), False)


def _values(row, organization, actor, batch, now):
    return {
        "volunteer_id": row.volunteer_id,
        "organization_id": organization.id,
        "import_batch_id": batch.id,
        "category": row.category,
        "started_at": row.started_at,
        "ended_at": row.ended_at,
        "minutes": common.whole_minutes(row.started_at, row.ended_at),
        "urgent": row.urgent,
        "source": "import",
        "status": "pending",
        "note": row.note,
        "entered_by_id": actor.id,
        "created_at": now,
        "updated_at": now,
    }


def _batch_with_digest(digest):
    return db.session.execute(select(ImportBatch).where(ImportBatch.sha256 == digest)).scalar_one_or_none()


def list_batches(actor, *, limit=20):
    """Recent imports in the actor's subtrees, newest first."""
    return (
        db.session.execute(
            select(ImportBatch)
            .join(Organization, Organization.id == ImportBatch.organization_id)
            .where(authz.scope_filter(actor, "import.run", Organization.path))
            .order_by(ImportBatch.id.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )


# -- the template ------------------------------------------------------------------------------


def import_template(language="en"):
    """The .xlsx template with English (``en``) or Chinese (``zh_CN``) headers and a sheet of categories."""
    chinese = language.startswith("zh")
    headers = [labels[1 if chinese else 0] for labels in COLUMNS.values()]
    book = Workbook()
    sheet = book.active
    with force_locale("zh_CN" if chinese else "en"):
        sheet.title = _("Records")
        sheet.append(headers)
        for index in range(len(headers)):
            sheet.column_dimensions[chr(ord("A") + index)].width = 18
        help_sheet = book.create_sheet(_("Help"))
        help_sheet.append([_("One record per row. Keep the header row; the column order does not matter.")])
        help_sheet.append([_("Member number: the 12 digits under the volunteer's member QR code.")])
        help_sheet.append([_("Date: 2026-03-15. Start and End: 09:30, or a full date and time for overnight service.")])
        help_sheet.append([_("Urgent: yes or no. Note: optional, up to 255 characters.")])
        help_sheet.append([])
        help_sheet.append([_("Category code"), _("Category")])
        for category in list_categories():
            help_sheet.append([category.code, category.name_zh if chinese else category.name_en])
        help_sheet.column_dimensions["A"].width = 24
        help_sheet.column_dimensions["B"].width = 40
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
