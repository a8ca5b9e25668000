import pytest

pytestmark = pytest.mark.browser


def test_volunteer_logs_in_and_sees_balance(build, live_server, page):
    volunteer = build.volunteer(points=40)
    page.goto(f"{live_server}/login")
    page.fill("input[name=login]", volunteer.mobile)
    page.fill("input[name=password]", "correct-horse-7")
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server}/me/")
    assert page.inner_text("[data-testid=balance]") == "40"
