"""Security headers on pages and API responses, and templates that need no inline script."""

import re
from pathlib import Path

import pytest

from points_service import create_app
from tests.conftest import BASE_CONFIG

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = [ROOT / "points_service" / "templates", ROOT / "points_service" / "api" / "templates", ROOT / "admin"]


def _directive(policy, name):
    for part in policy.split(";"):
        words = part.split()
        if words and words[0] == name:
            return words[1:]
    return None


@pytest.mark.parametrize("path", ["/", "/login", "/register", "/api/v1/openapi.json", "/api/v1/perks", "/no-such-page"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    policy = response.headers["Content-Security-Policy"]
    assert _directive(policy, "frame-ancestors") == ["'none'"]
    assert _directive(policy, "script-src") == ["'self'"]
    assert _directive(policy, "object-src") == ["'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer", "strict-origin-when-cross-origin")
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_is_sent_in_production(database_url):
    app = create_app({**BASE_CONFIG, "ENV": "production", "SQLALCHEMY_DATABASE_URI": database_url})
    response = app.test_client().get("/login")
    assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_session_cookie_is_httponly_samesite_and_secure_in_production(database_url):
    app = create_app({**BASE_CONFIG, "ENV": "production", "SQLALCHEMY_DATABASE_URI": database_url})
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SECURE"]
    assert app.config["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")


def _templates():
    for directory in TEMPLATE_DIRS:
        yield from sorted(directory.rglob("*.html"))


def test_no_template_has_inline_script_or_event_handler_attributes():
    offenders = []
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<script\b([^>]*)>", text, flags=re.IGNORECASE):
            if "src=" not in match.group(1):
                offenders.append(f"{path.relative_to(ROOT)}: inline <script>")
        for match in re.finditer(r"<[^>]+\s(on[a-z]+)\s*=", text, flags=re.IGNORECASE):
            offenders.append(f"{path.relative_to(ROOT)}: {match.group(1)}= attribute")
        if re.search(r"""(href|src|action)\s*=\s*["']\s*javascript:""", text, flags=re.IGNORECASE):
            offenders.append(f"{path.relative_to(ROOT)}: javascript: URL")
    assert offenders == []
