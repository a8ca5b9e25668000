"""Logging in and switching the language return to a page of this site, never to another."""

import pytest

from tests.builders import PASSWORD
from tests.test_redirects import OFF_SITE, SAME_SITE

# A NUL never reaches the redirect: every form value holding one is refused with 400 first
# (tests/test_bad_input.py); the helper itself refuses it too (tests/test_redirects.py).
TEXT_TARGETS = [target for target in OFF_SITE if isinstance(target, str) and target and "\x00" not in target]


@pytest.mark.parametrize("target", TEXT_TARGETS, ids=lambda target: repr(target)[:40])
def test_login_with_an_off_site_next_lands_on_the_users_own_page(client, build, target):
    user = build.volunteer()
    response = client.post("/login", query_string={"next": target}, data={"login": user.mobile, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/me/"


@pytest.mark.parametrize(
    "query", ["next=/%09/evil.example", "next=/%0d%0a/evil.example", "next=%2F%2Fevil.example", "next=/%5Cevil"]
)
def test_login_from_a_link_with_an_encoded_off_site_next_lands_on_the_users_own_page(client, build, query):
    user = build.volunteer()
    response = client.post(f"/login?{query}", data={"login": user.mobile, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/me/"


@pytest.mark.parametrize("target", TEXT_TARGETS, ids=lambda target: repr(target)[:40])
def test_the_language_switch_with_an_off_site_next_goes_to_the_home_page(client, target):
    response = client.post("/language/en", data={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", SAME_SITE, ids=lambda target: repr(target)[:40])
def test_login_and_the_language_switch_return_to_a_same_site_page_with_its_query(client, build, target):
    user = build.volunteer()
    response = client.post("/login", query_string={"next": target}, data={"login": user.mobile, "password": PASSWORD})
    assert response.headers["Location"] == target
    assert client.post("/language/zh_CN", data={"next": target}).headers["Location"] == target
