"""The approvals backlog in a real browser: an organizer's 100 imported records approved by
a second person in one action, with two exceptions, then seen on the reports dashboard and
in its xlsx download; the backlog and adjustment pages kept as screenshots on a laptop and
a phone in both languages."""

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from points_service.activities.models import ServiceRecord
from points_service.extensions import db
from tests.browser.support import accessibility_problems, log_in, save_screenshot, sideways_overflow

pytestmark = pytest.mark.browser

SCREENS = [("en-US", 1280, 800), ("zh-CN", 1280, 800), ("en-US", 390, 844), ("zh-CN", 390, 844)]


def _check(page, name):
    """The page fits the screen, has no serious accessibility finding, and is kept as a screenshot."""
    assert sideways_overflow(page) <= 0, (name, page.viewport_size)
    assert accessibility_problems(page) == [], (name, page.viewport_size)
    save_screenshot(page, name)


def test_a_second_person_approves_a_hundred_imported_records_in_one_action_with_two_exceptions(
    app, build, live_server, new_page
):
    imported = build.imported_records(100, uploader=build.organizer())
    admin = build.staff("admin", build.tree()["districts"][0], username="desk-admin")
    volunteer = build.volunteer(points=120, name="Chen Jing")
    db.session.commit()
    batch_id, profile_id = imported.batch.id, volunteer.volunteer.id

    for locale, width, height in SCREENS:
        page = new_page(locale=locale, width=width, height=height)
        log_in(page, live_server, admin.username)
        page.goto(f"{live_server}/admin/records?batch={batch_id}")
        _check(page, "admin-records")
        page.goto(f"{live_server}/admin/adjustments/volunteers/{profile_id}")
        _check(page, "admin-adjustment")

    page = new_page(locale="en-US", width=1280, height=800)
    log_in(page, live_server, admin.username)
    page.goto(f"{live_server}/admin/records")
    page.select_option("select[name=batch]", str(batch_id))
    page.click("[data-testid=record-filters] button[type=submit]")
    page.wait_for_url(f"**/admin/records?*batch={batch_id}*")
    assert "100 records match this filter." in page.inner_text("[data-testid=backlog-total]")

    page.check("[data-testid=scope-all]")
    first, second = page.eval_on_selector_all(
        "[data-testid=backlog-form] tr[data-record]", "rows => rows.slice(0, 2).map(r => r.dataset.record)"
    )
    page.select_option(f"select[name=d-{first}]", "exclude")
    page.select_option(f"select[name=d-{second}]", "reject")
    page.fill(f"input[name=reason-{second}]", "Not on the paper sign-in sheet")
    page.click("[data-testid=approve]")

    page.wait_for_selector(".flash.success")
    assert "98 approved, 1 rejected, 1 left pending." in page.inner_text(".flash.success")
    assert "1 records match this filter." in page.inner_text("[data-testid=backlog-total]")
    db.session.rollback()  # end this test's read snapshot: the server wrote meanwhile
    statuses = dict(
        db.session.execute(
            select(ServiceRecord.id, ServiceRecord.status).where(ServiceRecord.import_batch_id == batch_id)
        ).all()
    )
    assert list(statuses.values()).count("approved") == 98
    assert (statuses[int(first)], statuses[int(second)]) == ("pending", "rejected")

    # The dashboard shows them, and its xlsx download has the same figures as the page.
    points_approved = db.session.execute(
        select(func.sum(ServiceRecord.points)).where(
            ServiceRecord.import_batch_id == batch_id, ServiceRecord.status == "approved"
        )
    ).scalar_one()
    page.goto(f"{live_server}/admin/reports")
    section = page.locator("#report-points")
    cells = section.locator("table.chart-table tbody td").all_inner_texts()
    on_page = sum(int(text.replace(",", "")) for text in cells if text.strip() not in ("", "—"))
    assert on_page == points_approved > 0
    with page.expect_download() as download:
        section.locator("a", has_text="xlsx").click()
    sheet = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    in_file = sum(value for row in sheet.iter_rows(min_row=2, min_col=2, values_only=True) for value in row if value)
    assert in_file == on_page
