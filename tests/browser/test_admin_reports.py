"""The reports dashboard in a real browser: charts with their tables, in both languages,
on a laptop and on a phone, with no page-wide sideways scrolling."""

from datetime import timedelta

import pytest

from points_service.extensions import db
from points_service.timeutil import utcnow
from tests.browser.support import log_in, save_screenshot
from tests.builders.perks import redeem_with_code, request_key, stars

pytestmark = pytest.mark.browser


def test_the_dashboard_shows_charts_and_tables_in_both_languages_on_laptop_and_phone(build, live_server, new_page):
    tree = build.tree()
    district = tree["districts"][0]
    build.staff("admin", tree["city"], username="city-admin")
    for index, community in enumerate(tree["communities"]):
        volunteer = build.volunteer(community)
        for day in range(1, 4):
            started = (utcnow() - timedelta(days=20 * day + index)).replace(second=0, microsecond=0)
            build.approved_record(volunteer, organization=community, started_at=started, minutes=60 + 30 * index)
    build.record(volunteer, started_at=(utcnow() - timedelta(days=2)).replace(second=0, microsecond=0))
    perk = build.perk(name="停车优惠 2 小时", points_cost=5)
    member_no = build.volunteer(tree["communities"][0], points=50).volunteer.member_no
    redeem_with_code(build.counter_clerk(district), district, member_no, perk.id, 1, request_key(), level_of=stars(0))
    db.session.commit()

    for locale, title, figure in (
        ("en-US", "Reports", "Active volunteers by month"),
        ("zh-CN", "报表", "按月活跃志愿者"),
    ):
        for width, height in ((1280, 800), (390, 844)):
            page = new_page(locale=locale, width=width, height=height)
            log_in(page, live_server, "city-admin")
            page.goto(f"{live_server}/admin/reports")
            assert title in page.inner_text("h1")
            assert page.locator("img.chart").count() == 8
            assert figure in page.inner_text("#report-active figcaption")
            assert "停车优惠 2 小时" in page.inner_text("#report-perks table")
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{locale} {width}px scrolls sideways by {overflow}px"
            save_screenshot(page, "admin-reports")
