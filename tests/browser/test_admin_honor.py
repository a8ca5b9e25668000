"""An honor roll from definition to public page in a real browser: one administrator defines
a monthly roll, computes last month's draft, leaves one volunteer off with a reason and asks
for publication; a second administrator approves it; the public page shows it masked.
Screenshots of the honor pages at laptop and phone size in English and Chinese."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from points_service.extensions import db
from points_service.honor import definitions
from points_service.honor.models import HonorRoll
from points_service.timeutil import local_midnight_utc
from tests.browser.support import accessibility_problems, log_in, save_screenshot, sideways_overflow
from tests.honor.conftest import opt_out, serve

pytestmark = pytest.mark.browser

SIZES = ((1280, 800), (390, 844))


def test_define_compute_exclude_publish_with_a_second_admin_and_the_public_page_is_masked(build, live_server, new_page):
    build.honor_rules()
    tree = build.tree()
    city = tree["city"]
    (last_month,) = definitions.closed_period_starts("month", city.timezone)
    first_day = local_midnight_utc(last_month, city.timezone)
    people = {}
    for day, (name, minutes) in enumerate((("王小明", 180), ("张三丰", 120), ("赵六", 60), ("李四光", 240)), start=1):
        people[name] = build.volunteer(tree["communities"][day % 4], name=name)
        serve(build, people[name], first_day + timedelta(days=day, hours=2), minutes=minutes)
    opt_out(people["李四光"])
    build.staff("admin", city, username="author")
    build.staff("admin", city, username="reviewer")
    db.session.commit()

    author = new_page(width=1280, height=800)
    log_in(author, live_server, "author")
    author.goto(f"{live_server}/admin/honor-rolls")
    form = author.locator("[data-testid=define-roll]")
    form.locator("select[name=organization]").select_option(label="Test City")
    form.locator("select[name=period_kind]").select_option("month")
    form.locator("select[name=metric]").select_option("hours")
    form.locator("input[name=size]").fill("10")
    form.locator("button[type=submit]").click()
    author.wait_for_url("**/admin/honor-rolls/definitions/*")

    author.click("[data-testid=compute-draft] button[type=submit]")  # last month is offered first
    author.wait_for_url(re.compile(r"/admin/honor-rolls/\d+$"))
    ranking = author.locator("[data-testid=ranking]")
    expect(ranking).to_contain_text("王**")
    expect(author.locator("[data-testid=opted-out]")).to_contain_text("李**")
    assert "王小明" not in author.content()

    author.click("[data-testid=exclude-2] summary")
    author.fill("[data-testid=exclude-2] input[name=reason]", "Hours under review")
    author.click("[data-testid=exclude-2] button[type=submit]")
    expect(author.locator("[data-testid=exclusions]")).to_contain_text("Hours under review")
    expect(ranking.locator("tbody tr").nth(1)).to_contain_text("赵*")  # the ranks closed up
    author.click("text=Ask for publication")
    author.wait_for_url("**/admin/approvals/*")
    expect(author.locator("button[value=approve]")).to_have_count(0)  # the author cannot approve

    reviewer = new_page(locale="zh-CN", width=390, height=844)
    log_in(reviewer, live_server, "reviewer")
    reviewer.goto(author.url)
    expect(reviewer.locator("table.diff")).to_contain_text("Hours under review")
    reviewer.click("button[value=approve]")
    expect(reviewer.locator(".flash")).to_be_visible()

    db.session.rollback()
    roll = db.session.query(HonorRoll).one()
    assert roll.status == "published"
    public = new_page()
    public.goto(f"{live_server}/honor/{roll.id}")
    table = public.locator("table.honor-roll")
    expect(table).to_contain_text("王**")
    expect(table).to_contain_text("赵*")
    for hidden in ("张**", "李**", "王小明"):
        expect(table).not_to_contain_text(hidden)
    expect(public.locator(f"a[href='/honor/{roll.id}/poster.pdf']")).to_be_visible()

    pages = {
        "admin-honor-rolls": "/admin/honor-rolls",
        "admin-honor-definition": f"/admin/honor-rolls/definitions/{roll.definition_id}",
        "admin-honor-roll": f"/admin/honor-rolls/{roll.id}",
        "honor-roll-public": f"/honor/{roll.id}",
    }
    for locale in ("en-US", "zh-CN"):
        for width, height in SIZES:
            tab = new_page(locale=locale, width=width, height=height)
            log_in(tab, live_server, "author")
            for name, path in pages.items():
                tab.goto(f"{live_server}{path}")
                assert sideways_overflow(tab) <= 0, f"{name} scrolls sideways at {width}x{height}"
                assert accessibility_problems(tab) == [], f"{name} at {width}x{height} in {locale}"
                save_screenshot(tab, name)
