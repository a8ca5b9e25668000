"""The PointsError tree and the one handler that renders it as HTML or API JSON.

Services raise a subclass with a message a person understands; the message is a lazy
translation, so it is rendered in the language of the request that sees it. Every
error has a stable machine ``code`` and an HTTP ``status``.
"""

import contextlib
import logging

from flask import current_app, has_request_context, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class PointsError(Exception):
    """Base of every error the product reports to a person."""

    status = 400
    code = "bad_request"
    default_message = _l("The request could not be processed.")

    def __init__(self, message=None, *, details=None, **params):
        self.message = message if message is not None else self.default_message
        self.params = params
        self.details = details or {}
        super().__init__(str(self.code))

    def render_message(self):
        text = str(self.message)
        if self.params:
            with contextlib.suppress(KeyError, TypeError, ValueError):
                text = text % self.params
        return text

    def __str__(self):
        return f"{self.code}: {self.render_message()}"


class ValidationError(PointsError):
    status = 422
    code = "invalid"
    default_message = _l("Some of the data is not valid.")


class NotFound(PointsError):
    status = 404
    code = "not_found"
    default_message = _l("That was not found.")


class PermissionDenied(PointsError):
    status = 403
    code = "forbidden"
    default_message = _l("You are not allowed to do that here.")


class Conflict(PointsError):
    status = 409
    code = "conflict"
    default_message = _l("That conflicts with the current state; reload and try again.")


class IdempotencyConflict(Conflict):
    code = "idempotency_key_reused"
    default_message = _l("This request key was already used for a different request.")


class OutcomeUnknown(PointsError):
    """A change may or may not have been saved: the database failed during or after its commit.

    Raised by ``database.write_transaction`` when a commit fails in a way that leaves
    its outcome unknown, and answered for any failure after a commit of the request.
    Sending the same request again with the same key is safe: it is applied once.
    """

    status = 503
    code = "outcome_unknown"
    default_message = _l(
        "We could not confirm whether this was saved. Retrying with the same Idempotency-Key is safe: "
        "it is applied only once."
    )
    form_message = _l(
        "We could not confirm whether this was saved. Sending this form again is safe: it is applied only once."
    )
    unkeyed_form_message = _l("We could not confirm whether this was saved. Check before doing it again.")

    def render_message(self):
        """The advice that fits the face: the API names its header, a page its form."""
        if not has_request_context() or wants_json():
            return str(self.default_message)
        if request.form.get("idempotency_key"):
            return str(self.form_message)
        return str(self.unkeyed_form_message)


HTTP_MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("Please log in first."),
    403: _l("You are not allowed to do that here."),
    404: _l("That page or record does not exist."),
    405: _l("That method is not allowed here."),
    409: _l("That conflicts with the current state; reload and try again."),
    413: _l("The upload is too large."),
    415: _l("That type of content is not accepted."),
    422: _l("Some of the data is not valid."),
    429: _l("Too many requests; wait a moment and try again."),
    500: _l("Something went wrong on our side; nothing was changed. Please try again."),
}

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "server_error",
}


def wants_json():
    return request.path.startswith("/api/")


def error_payload(code, message, details=None):
    return {"error": {"code": code, "message": str(message), "details": details or {}}}


def render_error(status, code, message, details=None):
    if wants_json():
        response = jsonify(error_payload(code, message, details))
        response.status_code = status
        return response
    try:
        return render_template("error.html", status=status, message=message, details=details or {}), status
    except SQLAlchemyError:
        # The database cannot be read, so neither can the page's navigation (who is logged
        # in, their roles): the same message on a page without it, and no context processors.
        from flask_babel import get_locale

        from .extensions import db

        db.session.rollback()
        page = current_app.jinja_env.get_template("error_plain.html")
        return page.render(status=status, message=message, current_locale=str(get_locale())), status


def _translated_field_messages(messages):
    """Validation messages of API input, each passed through the catalog of the request's language."""
    from flask_babel import gettext

    if isinstance(messages, dict):
        # JSON keys are text; a form part without a name comes back under the key None.
        return {"" if key is None else str(key): _translated_field_messages(value) for key, value in messages.items()}
    if isinstance(messages, list):
        return [_translated_field_messages(value) for value in messages]
    return gettext(messages) if isinstance(messages, str) and messages else messages


def register_errorhandlers(app):
    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def handle_csrf_error(error):
        return render_error(
            400,
            "csrf_failed",
            _l("This form has expired or did not come from this site; reload the page and try again."),
        )

    @app.errorhandler(PointsError)
    def handle_points_error(error):
        from .extensions import db

        db.session.rollback()
        return render_error(error.status, error.code, error.render_message(), error.details)

    @app.errorhandler(HTTPException)
    def handle_http_error(error):
        status = error.code or 500
        code = HTTP_CODES.get(status, "http_error")
        message = HTTP_MESSAGES.get(status, error.description)
        details = getattr(error, "data", None) or {}
        if isinstance(details, dict) and "messages" in details:
            details = {"fields": _translated_field_messages(details["messages"])}
            code = "invalid"
        elif not isinstance(details, dict):
            details = {}
        response = render_error(status, code, message, details)
        if hasattr(error, "get_headers") and status in (405, 429):
            if isinstance(response, tuple):
                return response
            for name, value in error.get_headers():
                if name.lower() != "content-type":
                    response.headers[name] = value
        return response

    @app.before_request
    def start_counting_commits():
        from .database import forget_commits

        forget_commits()

    @app.errorhandler(Exception)
    def handle_unexpected(error):
        from .database import may_have_committed
        from .extensions import db

        # A read asked for no change, so it cannot report one, whatever bookkeeping it did.
        changed = request.method not in ("GET", "HEAD", "OPTIONS") and may_have_committed()
        db.session.rollback()
        # The exception type and location only: request data may hold personal data.
        log.error("unhandled %s at %s %s", type(error).__name__, request.method, request.url_rule, exc_info=error)
        if changed:
            # "Nothing was changed" would be false: a unit of work of this request was committed.
            unknown = OutcomeUnknown()
            return render_error(unknown.status, unknown.code, unknown.render_message())
        return render_error(500, "server_error", HTTP_MESSAGES[500])
