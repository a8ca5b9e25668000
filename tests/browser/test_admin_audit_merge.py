"""Merging a volunteer who registered twice, in the browser: one administrator finds the pair
and asks, another approves; the kept profile holds every point; the audit log shows the merge.
Screenshots of the audit and duplicates pages on a laptop and a phone, in both languages."""

from datetime import timedelta

import pytest

from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.timeutil import utcnow
from tests.browser.support import log_in, save_screenshot

pytestmark = pytest.mark.browser

SCREENS = [("en-US", 1280, 800), ("zh-CN", 1280, 800), ("en-US", 390, 844), ("zh-CN", 390, 844)]


def test_a_merge_of_two_volunteers_keeps_every_point(app, build, live_server, new_page):
    community = build.tree()["communities"][0]
    author, reviewer = build.staff("admin", community), build.staff("admin", community)
    survivor = build.volunteer(community, name="李雷", points=40)
    absorbed = build.volunteer(community, name="李雷")
    for _twin in range(2):  # another pair, still listed when the screenshots are taken
        build.volunteer(community, name="韩梅梅")
    ledger.earn_points(
        build.account(absorbed).id,
        70,
        reason="test earning",
        cause_type="test",
        cause_id="twin",
        expires_at=utcnow() + timedelta(days=90),
    )
    survivor_id, absorbed_id, absorbed_number = (
        survivor.volunteer.id,
        absorbed.volunteer.id,
        absorbed.volunteer.member_no,
    )
    db.session.commit()

    asking = new_page(locale="en-US", width=1280, height=800)
    log_in(asking, live_server, author.username)
    asking.goto(f"{live_server}/admin/duplicates")
    assert "李雷" not in asking.content()
    asking.click(f"a[href='/admin/duplicates/{absorbed_id}/into/{survivor_id}']")
    assert asking.inner_text("#points-moved") == "70"
    asking.click("button[type=submit].primary")
    asking.wait_for_url("**/admin/approvals/*")
    request_url = asking.url

    approving = new_page(locale="zh-CN", width=390, height=844)
    log_in(approving, live_server, reviewer.username)
    approving.goto(request_url)
    approving.click("button[name=decision][value=approve]")
    approving.wait_for_load_state("load")
    assert approving.locator("p.flash.success").count() == 1

    with app.app_context():
        db.session.rollback()
        assert ledger.account_of_volunteer(survivor_id).balance == 110
        assert ledger.account_of_volunteer(absorbed_id).balance == 0
        from points_service.accounts.service import volunteer_by_member_number

        assert volunteer_by_member_number(absorbed_number).id == survivor_id

    for locale, width, height in SCREENS:
        page = new_page(locale=locale, width=width, height=height)
        log_in(page, live_server, author.username)
        page.goto(f"{live_server}/admin/audit?action=volunteer.merge")
        assert page.locator("table.audit-log > tbody > tr").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        save_screenshot(page, "admin-audit")
        page.goto(f"{live_server}/admin/duplicates")
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        save_screenshot(page, "admin-duplicates")
