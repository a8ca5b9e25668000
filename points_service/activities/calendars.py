"""A year's holiday calendar arrives: read the file, enter it, correct what was rated.

The State Council publishes each year's public holidays and swapped working days in the
autumn; an administrator enters them here (the admin desk, or ``points calendar-import``)
before the ``chinese-calendar`` package has the year. Entering a calendar and re-rating
the records of that year that it changes happen in one unit of work, all or nothing;
entering the same calendar again changes nothing (see ``rerating.rerate_calendar_year``).

The file format: CSV (UTF-8 or GB18030) with a header row ``date,kind,name`` (or
``日期,类型,名称``), one listed day per row; or JSON, a list of ``{"date", "kind", "name"}``
objects (or an object with that list under ``"days"``). ``date`` is YYYY-MM-DD; ``kind`` is
``holiday`` (every day off of the notice, bridged days included; also 休, 假, 放假) or
``workday`` (a Saturday or Sunday worked; also 班, 上班); ``name`` is the holiday's name.
A day not listed is a workday or a weekend day by its weekday.
"""

import json
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from ..database import write_transaction
from ..errors import ValidationError
from ..rules import service as rules
from ..rules.calendar import CALENDAR_COLUMNS, CalendarProblem, CalendarRejected, CalendarRow
from .imports import read_table
from .rerating import Rerate, rerate_calendar_year


@dataclass(frozen=True)
class CalendarImport:
    calendar: object  # the entered HolidayCalendar
    changed: bool  # False: the same calendar was already entered
    rerate: Rerate  # the records of that year corrected


def read_calendar_file(filename, content) -> list[CalendarRow]:
    """The rows of a calendar file (.csv, .xlsx or .json), numbered as in the file, unchecked."""
    if (filename or "").lower().endswith(".json"):
        return _read_json(content)
    table = read_table(filename, content)
    if not table:
        raise ValidationError(_l("The file is empty."), details={"field": "file"})
    header_line, header_cells = table[0]
    header = [str(cell or "").strip().casefold() for cell in header_cells]
    positions = {}
    for column, labels in CALENDAR_COLUMNS.items():
        positions[column] = next((index for index, cell in enumerate(header) if cell in labels), None)
    missing = [column for column, position in positions.items() if position is None]
    if missing:
        raise CalendarRejected(
            [
                CalendarProblem(
                    header_line, column, str(_l("The header row has no column %(column)s.") % {"column": column})
                )
                for column in missing
            ]
        )
    rows = []
    for line, cells in table[1:]:
        if not any(str(cell or "").strip() for cell in cells):
            continue
        value = {column: cells[position] if position < len(cells) else None for column, position in positions.items()}
        rows.append(CalendarRow(line, value["date"], value["kind"], value["name"]))
    return rows


def _read_json(content):
    try:
        document = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise ValidationError(_l("This file is not valid JSON in UTF-8."), details={"field": "file"}) from None
    if isinstance(document, dict):
        document = document.get("days")
    if not isinstance(document, list):
        raise ValidationError(
            _l('The JSON file must be a list of days, or an object with the list under "days".'),
            details={"field": "file"},
        )
    rows = []
    for number, item in enumerate(document, start=1):
        item = item if isinstance(item, dict) else {}
        rows.append(CalendarRow(number, item.get("date"), item.get("kind"), item.get("name")))
    return rows


def import_year_calendar(actor, year, days, *, organization=None, source="", now=None) -> CalendarImport:
    """Enter the holiday calendar of ``year`` (rows from ``read_calendar_file``, or
    ``{date, kind, name}`` mappings) for the deployment or a top-level ``organization``,
    and re-rate the approved records of that year that it changes, in one unit of work.
    Audited; records who entered it."""
    with write_transaction():
        saved = rules.save_year_calendar(actor, year, days, organization=organization, source=source, now=now)
        rerate = rerate_calendar_year(actor, year, organization=organization, now=now)
    return CalendarImport(calendar=saved.calendar, changed=saved.changed, rerate=rerate)
