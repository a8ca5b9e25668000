"""What browser tests do again and again: sign in, and keep a screenshot for people to look at."""

import re
from pathlib import Path

from tests.builders import PASSWORD

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def log_in(page, live_server, username, password=PASSWORD):
    """Sign in through the login form and wait for the page it leads to."""
    page.goto(f"{live_server}/login")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"^(?!.*/login).*$"))
    page.wait_for_load_state("load")


def save_screenshot(page, name):
    """Save the whole page under ``tests/artifacts/`` (ignored by git), named by viewport and language.

    ``name`` is a short slug such as ``admin-rules``; the file becomes
    ``admin-rules-1280x800-zh.png``.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    size = page.viewport_size
    language = page.evaluate("document.documentElement.lang || navigator.language").split("-")[0]
    path = ARTIFACTS / f"{name}-{size['width']}x{size['height']}-{language}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def accessibility_problems(page):
    """The serious and critical axe-core findings on the page, as short readable lines."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page).response
    return [
        f"{violation['id']} ({violation['impact']}): {node['target']} {node.get('failureSummary', '')[:160]}"
        for violation in results["violations"]
        if violation["impact"] in ("serious", "critical")
        for node in violation["nodes"][:3]
    ]


def sideways_overflow(page):
    """How many pixels the page scrolls sideways (0 when it fits the screen)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
