"""Lists and reports as files a spreadsheet opens: CSV and xlsx, streamed row by row.

- CSV is UTF-8 with a byte order mark, which Excel in Chinese needs to read it as UTF-8.
- xlsx is written by openpyxl in write-only mode: rows go to a temporary file as they
  come, and the finished file is sent in pieces, so ten thousand rows or a million cost
  the same memory.
- A text cell that a spreadsheet would run as a formula (beginning with ``=``, ``+``,
  ``-``, ``@``, tab or carriage return) gets a leading apostrophe, which makes it plain
  text in Excel, LibreOffice and Google Sheets.

Masking personal data is the caller's choice: rows arrive here as they should appear.
"""

import csv
import io
import tempfile
from datetime import datetime
from urllib.parse import quote

from flask import Response, stream_with_context
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMATS = ("csv", "xlsx")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"
_CSV_BATCH = 500
_CHUNK = 64 * 1024
_MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def neutralise(value):
    """``value`` safe to put in a spreadsheet cell: formula-like text becomes plain text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _plain(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    return str(value)


def csv_chunks(header, rows):
    """The CSV file as a sequence of text pieces: the byte order mark and header, then rows in batches."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(_plain(cell)) for cell in header])
    yield BOM + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for count, row in enumerate(rows, start=1):
        writer.writerow([neutralise(_plain(cell)) for cell in row])
        if count % _CSV_BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def _xlsx_cell(sheet, value):
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.replace(tzinfo=None)  # callers pass local wall time; Excel has no time zones
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", neutralise(value))
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # never a formula, whatever openpyxl guesses
        return cell
    return WriteOnlyCell(sheet, value=value)


def xlsx_chunks(header, rows, title="Export"):
    """The xlsx file in pieces; rows are written to a temporary file as they come."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=ILLEGAL_CHARACTERS_RE.sub("", str(title))[:31] or "Export")
    sheet.append([_xlsx_cell(sheet, _plain(cell)) for cell in header])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, cell) for cell in row])
    with tempfile.TemporaryFile() as spool:
        book.save(spool)
        spool.seek(0)
        while chunk := spool.read(_CHUNK):
            yield chunk


def export_response(fmt, filename, header, rows, *, title="Export"):
    """A streamed download of ``rows`` under ``header`` as ``fmt`` ("csv" or "xlsx").

    ``filename`` is without extension and may be Chinese (sent as RFC 5987 ``filename*``
    with an ASCII fallback). ``rows`` may be a generator: it is read while sending.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    if fmt == "csv":
        body = (piece.encode("utf-8") for piece in csv_chunks(header, rows))
    else:
        body = xlsx_chunks(header, rows, title=title)
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in filename) or "export"
    disposition = f"attachment; filename=\"{ascii_name}.{fmt}\"; filename*=UTF-8''{quote(filename)}.{fmt}"
    return Response(
        stream_with_context(body),
        mimetype=_MEDIA_TYPES[fmt].split(";")[0],
        content_type=_MEDIA_TYPES[fmt],
        headers={"Content-Disposition": disposition},
    )
