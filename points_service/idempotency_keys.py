"""Idempotency keys from clients and from the server, in namespaces that never meet.

The ledger and the perks domain each keep one idempotency key column, unique over
everyone. The server derives keys that name their cause (``service-record:12:earn``,
``service-record:12:reverse:40``, ``service-record:12:rerate:3:2``). A key a client
sends (an ``Idempotency-Key`` header, a form's hidden request key) is never stored as
sent: ``client_key`` stores ``client:`` and the SHA-256 of who sent it, for which
operation, and the key. So:

- a client can name neither a server key nor another caller's key: the same key sent
  by two callers, or by one caller to two operations, is stored as two different keys;
- no server key starts with ``client:`` (``check_stored_key`` refuses one that does
  without being a derivation), so the two namespaces are disjoint.

Services that take a key from a face accept only a derived one (``require_client_key``):
a face that forgot to derive fails loudly instead of opening the hole again.
"""

import hashlib
import json
import re

from flask_babel import lazy_gettext as _l

from .errors import ValidationError

CLIENT_PREFIX = "client:"
# What a client may send: 1 to 128 visible ASCII characters (a UUID is ideal).
KEY_PATTERN = r"^[\x21-\x7e]{1,128}$"
MAX_STORED_LENGTH = 128

_SENT_RE = re.compile(KEY_PATTERN)
_CLIENT_RE = re.compile(r"^client:[0-9a-f]{64}$")
_NO_VALID_KEY = _l("This request has no valid request key; reload the page and try again.")


def is_valid_sent_key(key):
    """True when ``key`` is something a client may send as a request key."""
    return isinstance(key, str) and _SENT_RE.match(key) is not None


def client_key(principal, operation, key):
    """The stored form of ``key`` sent by ``principal`` for ``operation``.

    ``principal`` names the caller (``"user:7"``, ``"token:3"``); ``operation`` what the
    key is for (``"POST /counter/redeem"``). A key that is not 1 to 128 visible
    characters is refused, naming the field.
    """
    if not is_valid_sent_key(key):
        raise ValidationError(_NO_VALID_KEY, details={"field": "idempotency_key"})
    material = json.dumps([principal, operation, key], separators=(",", ":"))
    return CLIENT_PREFIX + hashlib.sha256(material.encode()).hexdigest()


def is_client_key(key):
    """True when ``key`` is a derivation made by ``client_key``."""
    return isinstance(key, str) and _CLIENT_RE.match(key) is not None


def require_client_key(key):
    """``key`` when it was derived by ``client_key``; anything else is refused."""
    if not is_client_key(key):
        raise ValidationError(_NO_VALID_KEY, details={"field": "idempotency_key"})
    return key


def check_stored_key(key):
    """True when ``key`` may be stored: a client derivation, or a server key outside ``client:``."""
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_STORED_LENGTH:
        return False
    return is_client_key(key) or not key.startswith(CLIENT_PREFIX)
