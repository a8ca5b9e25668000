"""Every page volunteers, organizers, counter clerks and visitors see, on a phone, in both languages.

On the demo data (what ``make run`` shows), each person's pages and the pages one link
further are opened at 390×844 in Chinese and in English. Each must answer, say which
language it is in (``<html lang>``), in Chinese use Chinese punctuation, fit the screen
without sideways scrolling, and pass axe-core without a serious or critical finding. A screenshot of each is kept under
``tests/artifacts/``.
"""

import re
from urllib.parse import urlsplit

import pytest

from points_service.demo import load_demo
from points_service.extensions import db
from tests.browser.support import accessibility_problems, log_in, save_screenshot, sideways_overflow

pytestmark = pytest.mark.browser

# Who, their password, where they start, and which parts of the site are theirs.
PEOPLE = [
    (None, None, ["/", "/login", "/register", "/reset", "/privacy", "/honor/", "/verify"], ("/honor/",)),
    (
        "volunteer",
        "volunteer-demo-2026",
        ["/me/", "/me/code", "/me/activities", "/me/records", "/me/records/new", "/me/checkin", "/perks/", "/account/"],
        ("/me/", "/perks/", "/account/"),
    ),
    ("organizer", "organizer-demo-2026", ["/organizer/", "/organizer/activities"], ("/organizer/",)),
    ("counter", "counter-demo-2026", ["/counter/"], ("/counter/",)),
]
NOT_A_PAGE = re.compile(r"\.(pdf|csv|xlsx|json|svg|png|jpe?g)$|/(export|download)\b|/checkin/\d+/")
LANGUAGES = ["zh-CN", "en-US"]


# A Western comma, colon, semicolon, question or exclamation mark, or full stop written
# right after a Chinese character (Chinese text takes the full-width forms ，：；？！。).
_WESTERN_AFTER_HAN = re.compile(r"[\u4e00-\u9fff][,:;?!](?=\s|$)|[\u4e00-\u9fff]\.(?=\s|$)")


def western_punctuation(page):
    """Bits of the page's visible text where Chinese is followed by Western punctuation."""
    text = page.inner_text("body")
    return [text[max(0, m.start() - 8) : m.end() + 8] for m in _WESTERN_AFTER_HAN.finditer(text)][:5]


def _shape(path):
    return re.sub(r"/\d+", "/n", path)


def _links_within(page, areas):
    hrefs = page.eval_on_selector_all("a[href^='/']", "links => links.map(a => a.getAttribute('href'))")
    paths = [urlsplit(href).path for href in hrefs]
    return [path for path in paths if path.startswith(areas) and not NOT_A_PAGE.search(path)]


@pytest.mark.parametrize("locale", LANGUAGES)
def test_every_page_answers_speaks_its_language_fits_a_phone_and_passes_axe(app, live_server, new_page, locale):
    with app.app_context():
        load_demo(volunteers=12)
        db.session.commit()
    language = locale.split("-")[0]
    problems = []
    for login, password, starts, areas in PEOPLE:
        page = new_page(locale=locale, width=390, height=844)
        if login:
            log_in(page, live_server, login, password)
        pages, shapes = [], set()
        for path in starts:
            page.goto(f"{live_server}{path}")
            pages.append(path)
            shapes.add(_shape(path))
            for link in _links_within(page, areas):
                if _shape(link) not in shapes:
                    shapes.add(_shape(link))
                    pages.append(link)
        for path in pages:
            response = page.goto(f"{live_server}{path}")
            if response.status != 200:
                problems.append(f"{path} as {login}: {response.status}")
                continue
            if not page.evaluate("document.documentElement.lang").startswith(language):
                problems.append(f"{path}: <html lang> is not {language}")
            if sideways_overflow(page) > 0:
                problems.append(f"{path}: scrolls sideways by {sideways_overflow(page)}px")
            problems += [f"{path}: {finding}" for finding in accessibility_problems(page)]
            if language == "zh":
                problems += [f"{path}: western punctuation in Chinese: {bit!r}" for bit in western_punctuation(page)]
            save_screenshot(page, re.sub(r"[^a-z0-9]+", "-", f"{login or 'visitor'}{_shape(path)}".lower()).strip("-"))
    assert problems == [], "\n".join(problems)
