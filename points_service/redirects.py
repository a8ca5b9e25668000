"""Where a redirect may send a person: a path on this site, never another site.

A redirect target that comes from the request (``?next=`` after logging in, the page to
return to after switching the language) would otherwise be an *open redirect*: a link
on this site's domain that lands on a phishing page. Browsers are lenient about what
they take for another site: ``//evil``, ``/\\evil``, ``/<tab>/evil`` (tabs and newlines
are dropped before parsing), ``%2F%2Fevil`` once decoded, full-width slashes that
normalise to ``/``. So a target is accepted only when it is a plain absolute path:

* it starts with exactly one ``/`` (so it has no scheme and no authority, and
  ``/@evil`` stays a path here), in the form given, after each round of
  percent-decoding and after NFKC normalisation; a path still encoded after a few
  rounds is refused;
* it holds no backslash, control, format or whitespace character anywhere, and none
  in its path once decoded;
* it is at most ``MAX_TARGET_LENGTH`` characters long.

Anything else gives the caller's safe default. A query string and a fragment may
follow the path; they are passed on as given.
"""

import unicodedata
from urllib.parse import unquote

MAX_TARGET_LENGTH = 1024
_DECODING_ROUNDS = 3
# Control, format (zero-width, bidirectional overrides) and separator characters.
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"}


def safe_redirect_target(target, default):
    """``target`` when it is a same-site path (see the module docstring), else ``default``."""
    return target if is_same_site_path(target) else default


def is_same_site_path(target):
    """Whether ``target`` is a path on this site that no browser reads as another site."""
    if not isinstance(target, str) or not 0 < len(target) <= MAX_TARGET_LENGTH:
        return False
    if not _plain_text(target) or not _plain_text(unicodedata.normalize("NFKC", target)):
        return False
    forms = _decoded_forms(target.split("?", 1)[0].split("#", 1)[0])
    if forms is None:
        return False
    for form in forms:
        for text in (form, unicodedata.normalize("NFKC", form)):
            if not _plain_text(text) or not text.startswith("/") or text.startswith("//"):
                return False
    return True


def _decoded_forms(path):
    """The path and each round of its percent-decoding; None if it is still encoded after them."""
    forms = [path]
    for _round in range(_DECODING_ROUNDS):
        decoded = unquote(forms[-1])
        if decoded == forms[-1]:
            return forms
        forms.append(decoded)
    return None


def _plain_text(text):
    return "\\" not in text and not any(
        character.isspace() or unicodedata.category(character) in _FORBIDDEN_CATEGORIES for character in text
    )
