"""The one check of redirect targets that come from a request: same-site paths only."""

import pytest

from points_service.redirects import MAX_TARGET_LENGTH, is_same_site_path, safe_redirect_target

# Each is a value of ``next`` as the server reads it (after the query string's own decoding).
OFF_SITE = [
    "//evil.example",
    "///evil.example",
    "////evil.example/path",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/%09/evil.example",
    "/%5Cevil.example",
    "/%5cevil.example",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "/%252F/evil.example",
    "/%25252F/evil.example",
    "//evil.example%2F..",
    "https://evil.example",
    "HTTPS://evil.example/",
    "http:/evil.example",
    "http:evil.example",
    "https:\\\\evil.example",
    "javascript:alert(1)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/\r\n/evil.example",
    "/\n/evil.example",
    "/%0d%0a/evil.example",
    "/%0D%0ASet-Cookie:%20session=stolen",
    "/me/\r\nSet-Cookie: session=stolen",
    "/\x00/evil.example",
    "@evil.example",
    "evil.example",
    " //evil.example",
    "/\u3000/evil.example",
    "/\u200b/evil.example",
    "/\u202e/elpmaxe.live",
    "/\uff0fevil.example",
    "\uff0f\uff0fevil.example",
    "/\uff3cevil.example",
    "/%EF%BC%8Fevil.example",
    "/" + "a" * MAX_TARGET_LENGTH,
    "",
    None,
    ["/me/"],
]

SAME_SITE = [
    "/",
    "/me/",
    "/@evil.example",
    "/organizer/records?status=pending&page=2",
    "/perks/?kind=parking_discount#top",
    "/me/activities?q=Zhang%20San",
    "/honor/3?next=//evil.example",
    "/me/%E4%B8%AD",
]


@pytest.mark.parametrize("target", OFF_SITE, ids=lambda target: repr(target)[:40])
def test_a_target_another_site_could_be_read_from_falls_back_to_the_default(target):
    assert not is_same_site_path(target)
    assert safe_redirect_target(target, "/home") == "/home"


@pytest.mark.parametrize("target", SAME_SITE, ids=lambda target: repr(target)[:40])
def test_a_path_on_this_site_with_its_query_and_fragment_is_kept(target):
    assert safe_redirect_target(target, "/home") == target
