"""The JSON API under /api/v1 (flask-smorest): one module per resource.

Handlers parse (marshmallow schemas), authorize (``authz``), call one domain service
and dump. Authentication, CSRF for cookie-authenticated writes and the per-token rate
limit are set up once in ``auth.resource_blueprint``; the Idempotency-Key protocol in
``idempotency``. Every error has one shape, ``{"error": {"code", "message",
"details"}}``, rendered by ``points_service.errors`` and documented by ``ErrorSchema``.
The OpenAPI document is at /api/v1/openapi.json, the interactive page at /api/v1/docs.
"""

from http import HTTPStatus
from importlib import import_module

from flask_smorest import Api

from .schemas import ErrorSchema

# One module per resource; each defines a flask-smorest blueprint ``blp``.
RESOURCE_MODULES = [
    "members",
    "entries",
    "perks",
    "redemptions",
    "vouchers",
    "service_records",
    "activities",
    "imports",
    "tokens",
    "honor_rolls",
]

BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API token (vpt_...): your own (POST /tokens), or a service account's "
    "(`flask points create-token`).",
}

SPEC_DESCRIPTION = (
    "Counters, kiosks and city systems call this API with `Authorization: Bearer <token>`; "
    "a logged-in browser session works too (writes then need the X-CSRFToken header). "
    "Every POST that changes points, stock or money needs an `Idempotency-Key` header: "
    "repeating a request with the same key returns the first response; the same key with "
    "another payload is refused with 409. Every error is "
    '`{"error": {"code": ..., "message": ..., "details": {...}}}`, the message in the language '
    "of `Accept-Language` (zh-CN or en). Input is strict: a JSON body with a key given twice, "
    "nested more than 10 levels or with a control character (such as NUL) in any string is "
    "a 400, and so is a control character in a header, path, query or form value; numbers "
    'are JSON integers (not `1.5` or `"11"`) within the documented bounds, else 422 naming '
    "the field in `details.fields`."
)


class PointsApi(Api):
    """flask-smorest's Api, documenting our error shape instead of its own, and every error
    status by its number (no catch-all ``default`` response)."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None


# What any operation may answer, whatever it does: 400 for a malformed request (a body
# that is not strict JSON, a control character in any value, a missing Idempotency-Key),
# 413 for a body over MAX_CONTENT_LENGTH, 429 when rate limited, and 500 or 503 when the
# server or its database fails.
EVERY_OPERATION = (400, 413, 429, 500, 503)


def error_responses(blp, *statuses):
    """Document the error responses an endpoint may give (all in the one error shape):
    ``statuses`` (401, 403, 404, 409, 415, 422 as it can give them) and ``EVERY_OPERATION``."""

    def decorate(view):
        for status in sorted(set(statuses) | set(EVERY_OPERATION)):
            view = blp.alt_response(status, response=HTTPStatus(status).name)(view)
        return view

    return decorate


def register_api(app):
    """Create the Api for ``app`` and register every resource blueprint and the docs page."""
    from . import docs

    api = PointsApi(
        app,
        spec_kwargs={
            "info": {"description": SPEC_DESCRIPTION},
            "security": [{"bearerAuth": []}],
        },
    )
    api.spec.components.security_scheme("bearerAuth", BEARER_SCHEME)
    for name in RESOURCE_MODULES:
        module = import_module(f"{__name__}.{name}")
        api.register_blueprint(module.blp)
    app.register_blueprint(docs.bp)
    app.extensions["points_api"] = api
    return api
