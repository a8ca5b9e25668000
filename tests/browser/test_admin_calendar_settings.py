"""An administrator adds a holiday override and changes a setting in the browser; the
calendar and settings pages fit a laptop and a phone, in English and in Chinese."""

from datetime import date

import pytest

from points_service.extensions import db
from points_service.organizations import settings
from points_service.rules import service as rules
from tests.browser.support import log_in, save_screenshot

pytestmark = pytest.mark.browser

SIZES = ((1280, 800), (390, 844))
LOCALES = ("en-US", "zh-CN")


def _fits_the_width(page):
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_an_admin_adds_an_override_and_changes_a_setting(build, live_server, new_page):
    tree = build.tree()
    city, district = tree["city"], tree["districts"][0]
    admin = build.staff("admin", city)
    rules.set_holiday_override(None, "2026-10-08", "workday", "Flood duty", district)

    page = new_page(locale="en-US", width=1280, height=800)
    log_in(page, live_server, admin.username)
    page.goto(f"{live_server}/admin/calendar?org={city.id}&year=2026")
    page.fill("input[name=day]", "2026-03-09")
    page.select_option("select[name=kind]", "holiday")
    page.fill("input[name=note]", "Local festival")
    page.click("text=Add the override")
    page.wait_for_selector("text=Records approved from now on are rated with it.")
    assert "Local festival" in page.inner_text("#overrides-heading + p + .table-wrap")
    db.session.rollback()  # end this thread's read: the server committed in another
    assert rules.classify_day_for(tree["communities"][0], date(2026, 3, 9)).kind == "holiday"

    page.goto(f"{live_server}/admin/settings?org={district.id}")
    form = page.locator("form[data-setting=voucher_ttl_minutes]")
    form.locator("input[name=value]").fill("90")
    form.locator("button[value=set]").click()
    page.wait_for_selector("text=is saved for District 1")
    assert "Set here" in page.locator("form[data-setting=voucher_ttl_minutes]").inner_text()
    db.session.rollback()
    assert settings.setting(tree["communities"][0], "voucher_ttl_minutes") == 90

    for locale in LOCALES:
        for width, height in SIZES:
            tab = page if (locale, width) == ("en-US", 1280) else new_page(locale=locale, width=width, height=height)
            if tab is not page:
                log_in(tab, live_server, admin.username)
            tab.goto(f"{live_server}/admin/calendar?org={city.id}&year=2026")
            assert _fits_the_width(tab), (locale, width, "calendar")
            save_screenshot(tab, "admin-calendar")
            tab.goto(f"{live_server}/admin/settings?org={tree['communities'][0].id}")
            assert _fits_the_width(tab), (locale, width, "settings")
            save_screenshot(tab, "admin-settings")
