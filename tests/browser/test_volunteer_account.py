"""A volunteer on a phone, in both languages: typed check-in, staying off honor rolls, a copy of their data."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from points_service.extensions import db
from points_service.honor import service as honor
from points_service.timeutil import to_local, utcnow
from tests.browser.support import log_in, save_screenshot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_typed_check_in_opting_out_and_downloading_my_data(app, build, live_server, new_page, locale):
    volunteer = build.volunteer(name="陈小雨", mobile="13900000123")
    running = build.activity(starts_at=(utcnow() - timedelta(minutes=30)).replace(microsecond=0), title="Park walk")
    organizer = build.organizer()
    last_month = build.approved_record(volunteer, started_at=utcnow() - timedelta(days=40))
    admin = build.staff("admin", build.tree()["city"])
    db.session.commit()
    language = locale.split("-")[0]

    # The organizer's screen shows six digits under the QR; the volunteer types them on the phone.
    screen = new_page(locale=locale, width=1280, height=800)
    log_in(screen, live_server, organizer.username)
    screen.goto(f"{live_server}/organizer/activities/{running.id}")
    digits = re.search(r"\d{6}", screen.inner_text("[data-testid=typed-code]")).group(0)

    phone = new_page(locale=locale, width=390, height=844)
    log_in(phone, live_server, volunteer.mobile)
    phone.goto(f"{live_server}/me/checkin")
    phone.fill("input[name=code]", digits.translate(str.maketrans("0123456789", "０１２３４５６７８９")))
    phone.keyboard.press("Enter")
    expect(phone.locator("[data-testid=checked-in]")).to_be_visible()
    save_screenshot(phone, "volunteer-checkin-typed")

    # Staying off public honor rolls: one tick on the account page.
    month = to_local(last_month.started_at, "Asia/Shanghai").date().replace(day=1)
    listed = honor.compute_honor_roll(admin, build.tree()["city"], "month", month, "hours", 10)
    assert volunteer.volunteer.id in [entry.volunteer_id for entry in listed.entries]
    db.session.commit()
    phone.goto(f"{live_server}/account/")
    save_screenshot(phone, "volunteer-account")
    box = phone.locator("input[name=listed]")
    expect(box).to_be_checked()
    box.uncheck()
    phone.locator("form[action$='/account/public-listing'] button[type=submit]").click()
    phone.wait_for_load_state("load")
    expect(phone.locator("input[name=listed]")).not_to_be_checked()
    db.session.rollback()  # the server wrote meanwhile
    roll = honor.compute_honor_roll(admin, build.tree()["city"], "month", month, "hours", 10)
    assert volunteer.volunteer.id not in [entry.volunteer_id for entry in roll.entries]

    # A copy of my data, as a file.
    with phone.expect_download() as download:
        phone.locator("a[href$='/account/my-data.json']").first.click()
    data = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert data["account"]["name"] == "陈小雨" and data["volunteer"]["on_public_honor_rolls"] is False
    phone.goto(f"{live_server}/account/my-data")
    assert "陈小雨" in phone.inner_text("main")
    assert phone.evaluate("document.documentElement.lang").startswith(language)
    save_screenshot(phone, "volunteer-my-data")
