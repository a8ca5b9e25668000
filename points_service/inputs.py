"""The checks every value from outside passes before a face or a service sees it.

Faces stay thin because the request is sound by the time a view runs:

- ``check_request_input`` (a ``before_request`` hook) refuses a control character (NUL
  and the other C0 controls except tab, line feed and carriage return, DEL) or a lone
  UTF-16 surrogate in any path segment, query or form field name or value, upload file
  name, or JSON key or string, and any control character but tab in a header, with 400
  naming the field. Such characters cannot be stored (PostgreSQL refuses NUL; a
  surrogate is not UTF-8) and nobody types them.
- JSON bodies are read by ``loads_json``: a key given twice, nesting deeper than
  ``MAX_JSON_DEPTH``, NaN or Infinity, or text that is not UTF-8 JSON is a 400 naming
  what is wrong (``StrictJSONProvider`` makes ``request.get_json`` use it). The depth
  is counted before parsing, so a body nested 10,000 deep costs one linear scan.
- Ids are ``Integer`` columns, 32-bit on PostgreSQL: every id from outside is bounded by
  ``MAX_ID`` before it reaches a query. ``<id:name>`` in a URL rule takes 1 to ``MAX_ID``
  and answers 404 to anything else.
- Dates people type are bounded by ``EARLIEST_TIME`` and ``LATEST_TIME``: a year 1 or
  1900 is a typing mistake, and local times near the year 1 overflow when converted
  to UTC.
"""

import json
import re
from datetime import datetime

from flask import Request, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import lazy_gettext as _l
from werkzeug.routing import IntegerConverter

from .errors import PointsError

MAX_ID = 2**31 - 1
MAX_JSON_DEPTH = 10
EARLIEST_TIME = datetime(2000, 1, 1)
LATEST_TIME = datetime(2100, 1, 1)

# The control characters ``check_request_input`` refuses, as the inside of a regular
# expression's character class that Python and JSON Schema (ECMA 262) read alike;
# ``PLAIN_TEXT`` documents them. It refuses lone surrogates too, which are not characters
# at all (a JSON Schema pattern cannot name them).
CONTROL_CHARACTERS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
PLAIN_TEXT = rf"^[^{CONTROL_CHARACTERS}]*$"
_FORBIDDEN = re.compile(rf"[{CONTROL_CHARACTERS}\ud800-\udfff]")
# A header value cannot hold a line break either (it would start another header).
_FORBIDDEN_IN_HEADER = re.compile(rf"[{CONTROL_CHARACTERS}\r\n]")
# A JSON string (skipped whole, brackets inside it do not count) or one bracket.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


class InvalidCharacters(PointsError):
    status = 400
    code = "invalid_characters"
    default_message = _l(
        "“%(field)s” contains a control character (such as NUL) that is not allowed; remove it and try again."
    )


class InvalidJson(PointsError):
    status = 400
    code = "invalid_json"
    default_message = _l("The request body is not valid JSON (UTF-8).")


class UnreadableJson(ValueError):
    """Why ``loads_json`` refused a body: a lazy message, its parameters and the field it names."""

    def __init__(self, message, field=None, **params):
        super().__init__(str(message))
        self.message = message
        self.field = None if field is None else printable(field)
        self.params = params if field is None else {**params, "field": self.field}


def loads_json(data):
    """Parse a JSON body strictly (see the module docstring); raises ``UnreadableJson``."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
    except UnicodeDecodeError:
        raise UnreadableJson(InvalidJson.default_message) from None
    depth = 0
    for token in _JSON_TOKEN.finditer(text):
        bracket = token.group()
        if bracket in ("[", "{"):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise UnreadableJson(
                    _l("The JSON body is nested more than %(depth)s levels deep."), depth=MAX_JSON_DEPTH
                )
        elif bracket in ("]", "}"):
            depth -= 1
    try:
        return json.loads(text, object_pairs_hook=_object_without_repeated_keys, parse_constant=_refuse_constant)
    except UnreadableJson:
        raise
    except ValueError:  # not JSON, or an integer with more digits than Python converts
        raise UnreadableJson(InvalidJson.default_message) from None


def _object_without_repeated_keys(pairs):
    found = {}
    for key, value in pairs:
        if key in found:
            raise UnreadableJson(_l("The key “%(field)s” appears more than once in the JSON body."), field=key)
        found[key] = value
    return found


def _refuse_constant(name):
    raise UnreadableJson(_l("%(constant)s is not a JSON number."), constant=name)


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading with ``loads_json`` (writing is unchanged)."""

    def loads(self, s, **kwargs):
        return loads_json(s)


class CheckedRequest(Request):
    """A request whose unreadable JSON body is a 400 in the one error shape, naming what is wrong."""

    def on_json_loading_failed(self, e):
        if e is None:  # not a JSON request at all: werkzeug's 415
            return super().on_json_loading_failed(e)
        if isinstance(e, UnreadableJson):
            details = {"field": e.field} if e.field is not None else {}
            raise InvalidJson(e.message, details=details, **e.params) from e
        raise InvalidJson() from e


class IdConverter(IntegerConverter):
    """``<id:name>``: a row id, 1 to ``MAX_ID``; anything else is not found (404)."""

    def __init__(self, url_map):
        super().__init__(url_map, min=1, max=MAX_ID)


def printable(name):
    """A field name fit to show: its control characters written as ``\\uXXXX``."""
    return _FORBIDDEN.sub(lambda match: f"\\u{ord(match.group()):04x}", str(name))


def _has_forbidden(text):
    return isinstance(text, str) and _FORBIDDEN.search(text) is not None


def _refuse(location, name):
    field = printable(name)
    raise InvalidCharacters(field=field, details={"field": field, "location": location})


def _json_strings(value):
    """(path, text) of every key and string in a parsed JSON value, without recursion."""
    stack = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            yield path, item
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else key
                yield child_path, key
                stack.append((child_path, child))
        elif isinstance(item, list):
            stack.extend((f"{path}.{index}" if path else str(index), child) for index, child in enumerate(item))


def check_request_input():
    """``before_request``: refuse control characters anywhere in the request, and unreadable JSON."""
    for name, value in request.headers.items():
        if _FORBIDDEN_IN_HEADER.search(value):
            _refuse("header", name)
    for name, value in (request.view_args or {}).items():
        if _has_forbidden(value):
            _refuse("path", name)
    for location, fields in (("query", request.args), ("form", request.form)):
        for name, value in fields.items(multi=True):
            if _has_forbidden(name) or _has_forbidden(value):
                _refuse(location, name)
    for name, storage in request.files.items(multi=True):
        if _has_forbidden(name) or _has_forbidden(storage.filename):
            _refuse("form", name)
    if request.is_json and request.get_data(cache=True):
        for path, text in _json_strings(request.get_json()):
            if _has_forbidden(text):
                _refuse("json", path)
