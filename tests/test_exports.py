"""Downloads a spreadsheet opens safely: BOM for Excel in Chinese, no formula runs, rows streamed."""

import csv
import io
import tracemalloc
from datetime import datetime

import pytest
from openpyxl import load_workbook

from points_service.exports import csv_chunks, export_response, neutralise, xlsx_chunks


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_a_spreadsheet_would_run_as_a_formula_becomes_plain_text(start):
    assert neutralise(f"{start}1+1") == f"'{start}1+1"


def test_ordinary_text_and_numbers_are_left_as_they_are():
    assert neutralise("张三") == "张三"
    assert neutralise(-5) == -5
    assert neutralise(None) is None


def test_a_hyperlink_formula_comes_out_of_the_csv_neutralised():
    text = "".join(csv_chunks(["名字", "备注"], [["李四", '=HYPERLINK("http://evil.example","点我")']]))
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows == [["名字", "备注"], ["李四", '\'=HYPERLINK("http://evil.example","点我")']]


def test_the_xlsx_keeps_a_formula_as_text_and_numbers_as_numbers():
    data = b"".join(
        xlsx_chunks(
            ["name", "points", "note", "when"],
            [["王五", 12, "=1+1", datetime(2026, 12, 3, 9, 30)], ["赵六", -3, "@SUM(A1)", None]],
            title="Ledger",
        )
    )
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet.title == "Ledger"
    assert [cell.value for cell in sheet[2]] == ["王五", 12, "'=1+1", datetime(2026, 12, 3, 9, 30)]
    assert sheet["C2"].data_type == "s" and sheet["C3"].value == "'@SUM(A1)"
    assert sheet["B3"].value == -3


def test_control_characters_that_xlsx_cannot_hold_do_not_break_the_file():
    data = b"".join(xlsx_chunks(["note"], [["bell\x07 here"]]))
    assert load_workbook(io.BytesIO(data)).active["A2"].value == "bell\ufffd here"


def test_the_download_names_the_file_in_chinese_with_an_ascii_fallback(app):
    with app.test_request_context():
        response = export_response("csv", "积分报表-2026", ["a"], [[1]])
    disposition = response.headers["Content-Disposition"]
    assert 'filename="____-2026.csv"' in disposition
    assert "filename*=UTF-8''%E7%A7%AF%E5%88%86%E6%8A%A5%E8%A1%A8-2026.csv" in disposition
    assert response.content_type == "text/csv; charset=utf-8"


def _peak_allocation_mib(work):
    """The most memory Python held at once for ``work`` (allocations traced while it ran)."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_hundred_thousand_rows_stream_in_bounded_memory(fmt):
    rows = ([n, f"志愿者{n:06d}", n * 3, "2026-12-03 09:30"] for n in range(100_000))
    size = 0

    def drain():
        nonlocal size
        chunks = csv_chunks(["n", "name", "points", "when"], rows) if fmt == "csv" else xlsx_chunks(["n"], rows)
        for chunk in chunks:
            size += len(chunk)

    peak = _peak_allocation_mib(drain)
    assert size > 1_000_000  # the rows really were written
    assert peak < 16, f"{peak:.0f} MiB held at once"
