"""The perks desk in a real browser: an administrator creates a perk with a picture, adjusts its
stock with a reason, and a volunteer sees it in the catalog; screenshots of the desk pages."""

import pytest
from PIL import Image

from points_service.extensions import db
from tests.browser.support import log_in, save_screenshot

pytestmark = pytest.mark.browser

SIZES = ((1280, 800), (390, 844))
LOCALES = ("en-US", "zh-CN")


@pytest.fixture
def app_config(tmp_path):
    return {"PERK_PICTURE_DIR": str(tmp_path / "pictures")}


def test_an_admin_creates_a_perk_with_a_picture_adjusts_its_stock_and_a_volunteer_sees_it(
    build, live_server, new_page, tmp_path
):
    tree = build.tree()
    district = tree["districts"][0]
    build.staff("admin", tree["city"], username="perkadmin")
    volunteer = build.volunteer(tree["communities"][0], points=200, name="Wang Fang")
    build.service_rules()
    build.perk(organization=district, venues=[district], name="Bus card top-up", points_cost=20, stock=40)
    db.session.commit()
    photo = tmp_path / "rice.jpg"
    Image.new("RGB", (640, 480), (230, 180, 60)).save(photo, format="JPEG")

    admin = new_page(width=1280, height=800)
    log_in(admin, live_server, "perkadmin")
    admin.goto(f"{live_server}/admin/perks/new")
    admin.fill("input[name=name]", "Rice 5 kg")
    admin.select_option("select[name=kind]", "goods")
    admin.fill("input[name=points_cost]", "80")
    admin.fill("input[name=copay_amount]", "1.5")
    admin.fill("input[name=stock]", "12")
    admin.check(f"input[name=venues][value='{district.id}']")
    admin.click("form.perk-form button[type=submit]")
    admin.wait_for_url(f"{live_server}/admin/perks/*")

    admin.set_input_files("input[name=picture]", str(photo))
    admin.click("#picture button[type=submit]:not(.link)")
    admin.wait_for_selector("#picture img.perk-picture")

    admin.fill("input[name=change]", "20")
    admin.fill("#stock form:has(input[name=change]) input[name=reason]", "Delivery from the supermarket")
    admin.click("#stock form:has(input[name=change]) button[type=submit]")
    admin.wait_for_selector("table.stock-adjustments")
    assert admin.inner_text("[data-testid=stock]") == "32"
    assert "Delivery from the supermarket" in admin.inner_text("table.stock-adjustments")

    admin.goto(f"{live_server}/admin/perks")
    listing = admin.inner_text("table.perk-table")
    assert "Rice 5 kg" in listing and "¥1.50" in listing and "32" in listing

    volunteer_page = new_page()
    log_in(volunteer_page, live_server, volunteer.mobile)
    volunteer_page.goto(f"{live_server}/perks/")
    card = volunteer_page.locator(".perk-card", has_text="Rice 5 kg")
    picture = card.locator("img.perk-picture")
    picture.scroll_into_view_if_needed()
    volunteer_page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=picture.element_handle())
    assert picture.evaluate("image => image.naturalWidth") == 640
    assert "¥1.50" in card.inner_text() and "32 left" in card.inner_text()

    rice = admin.locator("table.perk-table a", has_text="Rice 5 kg").get_attribute("href")
    for locale in LOCALES:
        for width, height in SIZES:
            tab = new_page(locale=locale, width=width, height=height)
            log_in(tab, live_server, "perkadmin")
            for path, name in (
                ("/admin/perks", "admin-perks"),
                (rice, "admin-perk-form"),
                ("/admin/categories", "admin-categories"),
            ):
                tab.goto(f"{live_server}{path}")
                tab.wait_for_load_state("load")
                overflow = tab.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
                assert overflow <= 0, f"{name} at {width}x{height} in {locale} scrolls sideways by {overflow}px"
                save_screenshot(tab, name)
