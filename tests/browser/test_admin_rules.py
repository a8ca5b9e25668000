"""The rules desk in a real browser: clone → edit a rate → diff → backtest → request
publication; the author cannot approve; a second administrator approves; a record
approved afterwards is rated by the new version and its breakdown names it."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from points_service.activities.models import ServiceRecord
from points_service.extensions import db
from points_service.rules import service as rules
from points_service.timeutil import to_local, utcnow
from tests.browser.support import log_in, save_screenshot

pytestmark = pytest.mark.browser

SCREENS = [("en-US", 1280, 800), ("zh-CN", 1280, 800), ("en-US", 390, 844), ("zh-CN", 390, 844)]


@pytest.fixture
def app_config():
    return {"BACKTEST_IN_BACKGROUND": True}  # the backtest runs in its thread, as in production


def shown(page):
    page.wait_for_load_state("load")


def test_a_rate_change_goes_from_clone_to_publication_by_a_second_admin(app, build, live_server, new_page):
    city = build.tree()["city"]
    published = build.service_rules()  # the plain table: 10 points an hour
    build.staff("admin", city, username="author")
    build.staff("admin", city, username="reviewer")
    volunteer = build.volunteer(name="Wang Wu")
    three_days_ago = (utcnow() - timedelta(days=3)).replace(hour=2, minute=0, second=0, microsecond=0)
    build.approved_record(volunteer, started_at=three_days_ago, minutes=120)  # 20 points now
    yesterday = to_local(utcnow(), city.timezone).date() - timedelta(days=1)
    db.session.commit()

    author = new_page(locale="en-US", width=1280, height=800)
    log_in(author, live_server, "author")
    author.goto(f"{live_server}/admin/rules")
    author.click(f"[data-testid=rule-set-{published.id}] a")
    shown(author)
    author.click("text=Clone into a new draft")
    author.wait_for_url(re.compile(r"/admin/rules/\d+/edit$"))
    draft_id = int(re.search(r"/admin/rules/(\d+)/edit", author.url).group(1))
    author.fill("[name='rates.elderly_care.points']", "12")
    author.fill("[name=effective_from]", yesterday.isoformat())
    author.click("text=Save the draft")
    author.wait_for_url(f"{live_server}/admin/rules/{draft_id}")

    diff = author.locator("[data-testid='diff-rates.elderly_care.rate']")
    expect(diff).to_contain_text("Rate for Elderly care")
    expect(diff).to_contain_text("10 points per hour")
    expect(diff).to_contain_text("12 points per hour")

    author.click("text=Backtest")
    shown(author)
    author.click("text=Run the backtest")
    author.wait_for_url(re.compile(r"/admin/rules/\d+/backtests/\d+$"))
    # The run works in the background; its page refreshes itself until the result is there.
    author.wait_for_selector("[data-testid=backtest]", timeout=30000)
    backtest_url = author.url
    expect(author.locator("[data-testid=points-before]")).to_have_text("20")
    expect(author.locator("[data-testid=points-after]")).to_have_text("24")
    expect(author.locator("[data-testid=difference]")).to_have_text("+4")

    author.goto(f"{live_server}/admin/rules/{draft_id}")
    author.click("text=Request publication")
    author.wait_for_url(re.compile(r"/admin/approvals/\d+$"))
    request_url = author.url
    expect(author.locator("main")).to_contain_text("another person must review it")
    expect(author.locator("text=Approve and apply")).to_have_count(0)
    author.goto(f"{live_server}/admin/rules/{draft_id}")
    expect(author.locator("[data-testid=state]")).to_have_text("awaiting approval")

    reviewer = new_page(locale="en-US", width=1280, height=800)
    log_in(reviewer, live_server, "reviewer")
    reviewer.goto(request_url)
    expect(reviewer.locator("main")).to_contain_text("12 points per hour")
    expect(reviewer.locator("[data-testid=rule-set-links] >> text=Backtest it")).to_be_visible()
    expect(reviewer.locator("[data-testid=latest-backtest]")).to_have_attribute(
        "href", backtest_url[len(live_server) :]
    )
    reviewer.click("text=Approve and apply")
    shown(reviewer)
    expect(reviewer.locator("main")).to_contain_text("Approved and applied.")

    db.session.rollback()  # end this test's read snapshot: the server wrote meanwhile
    draft = rules.get_rule_set(draft_id)
    assert draft.status == "published"
    record = build.approved_record(volunteer, started_at=(utcnow() - timedelta(hours=3)).replace(microsecond=0))
    record = db.session.get(ServiceRecord, record.id)
    assert record.rule_set_id == draft.id and record.points == 12
    assert f"version {draft.version}" in rules.explain_award(record.breakdown)[0]

    reviewer.goto(f"{live_server}/admin/rules/{draft_id}")
    history = reviewer.locator("[data-testid=history]")
    expect(history).to_contain_text("Admin")  # who drafted, asked and approved, by name
    _screenshots(build, city, published, draft, backtest_url, live_server, new_page)


def _screenshots(build, city, published, draft, backtest_url, live_server, new_page):
    """Each page of the flow at laptop and phone size, in both languages."""
    another = rules.create_rule_set(None, city, copy_from=draft, name="Next year")
    db.session.commit()
    pages = [
        ("admin-rules", "/admin/rules"),
        ("admin-rules-view", f"/admin/rules/{published.id}"),
        ("admin-rules-edit", f"/admin/rules/{another.id}/edit"),
        ("admin-rules-diff", f"/admin/rules/{draft.id}"),
        ("admin-rules-backtest", f"/admin/rules/{draft.id}/backtest"),
        ("admin-rules-backtest-run", backtest_url[len(live_server) :]),
    ]
    for locale, width, height in SCREENS:
        page = new_page(locale=locale, width=width, height=height)
        log_in(page, live_server, "author")
        for name, path in pages:
            response = page.goto(f"{live_server}{path}")
            assert response.status == 200, path
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"
            save_screenshot(page, name)
