"""Every page of the administrator's desk, on a laptop and on a phone, in both languages.

The walk starts from the desk's navigation on the demo data (what ``make run`` shows),
opens every section and every page one link further, and checks that each answers, speaks
the language asked for, fits the screen without sideways scrolling and has no serious
accessibility problem that axe-core finds (checked once per language). It keeps a
screenshot of each under ``tests/artifacts/`` for people to look at.
"""

import re
from urllib.parse import urlsplit

import pytest

from points_service.demo import load_demo
from points_service.extensions import db
from tests.browser.support import accessibility_problems, log_in, save_screenshot, sideways_overflow

pytestmark = pytest.mark.browser

SCREENS = [("en-US", 1280, 800), ("zh-CN", 1280, 800), ("en-US", 390, 844), ("zh-CN", 390, 844)]
# Links that download a file or act rather than show a page.
NOT_A_PAGE = re.compile(r"\.(pdf|csv|xlsx|json|svg|png|jpe?g)$|/(export|download|poster)\b")


def _shape(path):
    """A page's kind: its path with ids left out, so one rule set stands for all of them."""
    return re.sub(r"/\d+", "/n", path)


def _slug(path):
    return re.sub(r"[^a-z0-9]+", "-", _shape(path).lower()).strip("-")


def _desk_links(page):
    hrefs = page.eval_on_selector_all("a[href^='/admin']", "links => links.map(a => a.getAttribute('href'))")
    return [urlsplit(href).path for href in hrefs if not NOT_A_PAGE.search(urlsplit(href).path)]


def _check_page(page, live_server, path, language, *, accessibility=False):
    response = page.goto(f"{live_server}{path}")
    assert response.status == 200, f"{path} answered {response.status}"
    assert page.evaluate("document.documentElement.lang").startswith(language), path
    overflow = sideways_overflow(page)
    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {page.viewport_size['width']}px"
    if accessibility:
        assert accessibility_problems(page) == [], path


def test_every_desk_page_answers_fits_the_screen_and_is_kept_as_a_screenshot(app, live_server, new_page):
    with app.app_context():
        load_demo(volunteers=12)
        db.session.commit()

    seen_on_first_screen = None
    for locale, width, height in SCREENS:
        page = new_page(locale=locale, width=width, height=height)
        language = locale.split("-")[0]
        log_in(page, live_server, "admin", "admin-demo-2026")
        page.goto(f"{live_server}/admin/")
        sections = list(dict.fromkeys(_desk_links(page)))
        assert "/admin/" in sections
        pages, shapes = [], set()
        for section in sections:
            _check_page(page, live_server, section, language)
            pages.append(section)
            shapes.add(_shape(section))
            for path in _desk_links(page):
                if _shape(path) not in shapes:
                    shapes.add(_shape(path))
                    pages.append(path)
        for path in pages:
            _check_page(page, live_server, path, language, accessibility=width < 600)  # once per language
            save_screenshot(page, _slug(path))
        if seen_on_first_screen is None:
            seen_on_first_screen = set(shapes)
        else:
            assert shapes == seen_on_first_screen, "the phone and the laptop, or the languages, offer other pages"
