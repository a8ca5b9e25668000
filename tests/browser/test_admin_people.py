"""The People pages in a real browser: find a user by mobile, grant a role, create a token
and see it once; screenshots of each page on a laptop and a phone, in both languages."""

import pytest

from points_service.accounts import service as accounts
from points_service.extensions import db
from tests.browser.support import log_in, save_screenshot
from tests.builders import PASSWORD

pytestmark = pytest.mark.browser

SIZES = ((1280, 800), (390, 844))
LOCALES = ("en-US", "zh-CN")


def _find(page, live_server, mobile):
    page.goto(f"{live_server}/admin/people/users")
    page.fill("[data-testid=user-search] input[name=query]", mobile)
    page.click("[data-testid=user-search] button[type=submit]")
    page.wait_for_selector("[data-testid=user-results]")


def test_find_by_mobile_grant_a_role_and_see_a_new_token_once(build, live_server, new_page):
    tree = build.tree()
    build.staff("admin", tree["districts"][0], username="district.admin")
    organizer = accounts.create_user(username="lu.su", name="Lu Su", password=PASSWORD, mobile="13655556666")
    accounts.grant_role(organizer, "organizer", tree["communities"][0])
    build.volunteer(tree["communities"][0], name="Sun Quan", mobile="13655554444")
    build.service_account("counter", tree["communities"][0], username="front.desk")
    db.session.commit()

    page = new_page(locale="en-US", width=1280, height=800)
    log_in(page, live_server, "district.admin")

    _find(page, live_server, "136 5555 6666")
    results = page.inner_text("[data-testid=user-results]")
    assert "136****6666" in results and "13655556666" not in results
    assert "13655556666" not in page.url
    page.click("[data-testid=user-results] a")
    page.wait_for_selector("[data-testid=user]")

    page.select_option("[data-testid=grant] select[name=role]", "counter")
    page.select_option("[data-testid=grant] select[name=organization]", str(tree["communities"][1].id))
    page.click("[data-testid=grant] button[type=submit]")
    page.wait_for_selector("text=The role is granted.")
    assert "Counter staff" in page.inner_text("[data-testid=roles]")

    page.goto(f"{live_server}/admin/people/tokens")
    page.fill("[data-testid=create-token] input[name=name]", "Front desk terminal")
    page.fill("[data-testid=create-token] input[name=user]", "front.desk")
    page.select_option("[data-testid=create-token] select[name=role]", "counter")
    page.click("[data-testid=create-token] button[type=submit]")
    plaintext = page.inner_text("[data-testid=token-plaintext]")
    assert plaintext.startswith("vpt_")

    page.goto(f"{live_server}/admin/people/tokens")
    assert "Front desk terminal" in page.inner_text("[data-testid=tokens]")
    assert plaintext not in page.content()

    for locale in LOCALES:
        for width, height in SIZES:
            tab = new_page(locale=locale, width=width, height=height)
            log_in(tab, live_server, "district.admin")
            tab.goto(f"{live_server}/admin/people")
            save_screenshot(tab, "admin-people-tree")
            _find(tab, live_server, "13655554444")
            save_screenshot(tab, "admin-people-search")
            tab.click("[data-testid=user-results] a")
            tab.wait_for_selector("[data-testid=user]")
            save_screenshot(tab, "admin-people-user")
            tab.goto(f"{live_server}/admin/people/tokens")
            save_screenshot(tab, "admin-people-tokens")
            overflow = tab.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"the tokens page scrolls sideways at {width}x{height}"
