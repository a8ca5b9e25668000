"""Who is calling the API: a bearer token or the browser session, and what follows.

Every resource blueprint of the API is made by ``resource_blueprint``, which:

- authenticates each request: ``Authorization: Bearer <token>`` wins; without that
  header the session cookie counts. A token acts as its user narrowed to the token's
  scope (``authz.effective_memberships`` sees ``user.token_scope``);
- checks CSRF on writes authenticated by the cookie only (a cross-site page can send a
  cookie but not an ``Authorization`` header);
- shares one rate limit over the whole API per token (or per user, or per address).
"""

import hashlib

from flask import current_app, g, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import missing
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.datastructures import CombinedMultiDict

from .. import authz
from ..accounts import tokens
from ..errors import PermissionDenied, PointsError
from ..extensions import csrf, limiter, login_manager
from ..organizations.service import get_organization

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class AuthenticationRequired(PointsError):
    status = 401
    code = "unauthorized"
    default_message = _l("Log in, or send a valid API token as 'Authorization: Bearer ...'.")


class InvalidToken(AuthenticationRequired):
    code = "invalid_token"
    default_message = _l("The API token is not valid: it is unknown, expired or revoked.")


def _bearer_credential():
    """The credential of an ``Authorization`` header, '' when malformed, None when absent."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, credential = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return credential.strip()


def rate_limit_key():
    """One bucket per token presented, else per logged-in user, else per address."""
    credential = _bearer_credential()
    if credential:
        return "token:" + hashlib.sha256(credential.encode()).hexdigest()[:32]
    if credential is None and current_user.is_authenticated:
        return f"user:{current_user.id}"
    return "address:" + (get_remote_address() or "unknown")


def authenticate_request():
    """``before_request`` of every API resource blueprint."""
    credential = _bearer_credential()
    if credential is not None:
        token = tokens.authenticate_token(credential) if credential else None
        if token is None:
            raise InvalidToken()
        user = token.user
        user.token_scope = tokens.TokenScope(token.role, token.organization)
        g.api_token = token
        g.api_user = user
        login_manager._update_request_context_with_user(user)
        return
    if not current_user.is_authenticated:
        raise AuthenticationRequired()
    if request.method not in SAFE_METHODS and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()


def authenticate_public_request():
    """``before_request`` of a public blueprint: anyone may read; nothing may be written."""
    if request.method not in SAFE_METHODS:
        raise PermissionDenied()


def forget_token_scope(error=None):
    """``teardown_request``: the token and its scope belong to this request only.

    In production every request has its own application context (and ``g``); a test
    that holds one context over several requests must not see a token's user linger.
    """
    user = g.pop("api_user", None)
    if user is not None:
        user.__dict__.pop("token_scope", None)
        g.pop("_login_user", None)
    g.pop("api_token", None)
    g.pop("domain_idempotency_key", None)


def finish_response(response):
    """``after_request``: say how to authenticate on a 401, and in which language messages are."""
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    locale = get_locale()
    if locale is not None:
        tag = locale.language + (f"-{locale.territory}" if locale.territory else "")
        response.headers.setdefault("Content-Language", tag)
    return response


def principal_id():
    """Who owns an Idempotency-Key: the token when there is one, else the user."""
    token = g.get("api_token")
    return f"token:{token.id}" if token is not None else f"user:{current_user.id}"


def acts_as_volunteer(profile):
    """True when the caller is this volunteer, acting in the volunteer role (not as staff)."""
    if not current_user.is_authenticated or current_user.id != profile.user_id:
        return False
    return any(m.role == "volunteer" for m in authz.effective_memberships(current_user))


def _api_limit():
    return current_app.config["API_RATELIMIT"]


def code_lookup_limit():
    return current_app.config["CODE_LOOKUP_RATELIMIT"]


class MultipartParser(FlaskParser):
    """webargs' parser with one more location, ``multipart``: form fields and files together.

    A JSON body is read by ``request.get_json`` (``inputs.loads_json``: strict, parsed once)."""

    __location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart"}

    def _raw_load_json(self, req):
        if not is_json_request(req) or not req.get_data(cache=True):
            return missing
        return req.get_json()

    def load_multipart(self, req, schema):
        return self._makeproxy(CombinedMultiDict([req.form, req.files]), schema)


class ApiBlueprint(Blueprint):
    """flask-smorest's Blueprint; ``location="multipart"`` documents one multipart/form-data body."""

    ARGUMENTS_PARSER = MultipartParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "multipart": "multipart/form-data",
    }


def resource_blueprint(name, import_name, url_prefix, description, *, public=False):
    """A flask-smorest blueprint under /api/v1 with authentication, CSRF and rate limits.

    A ``public`` blueprint (published, non-personal data such as honor rolls) needs no
    token and takes no writes; it keeps the rate limit."""
    blueprint = ApiBlueprint(f"api_{name}", import_name, url_prefix="/api/v1" + url_prefix, description=description)
    blueprint.before_request(authenticate_public_request if public else authenticate_request)
    blueprint.teardown_request(forget_token_scope)
    blueprint.after_request(finish_response)
    csrf.exempt(blueprint)
    limiter.shared_limit(_api_limit, scope="api", key_func=rate_limit_key)(blueprint)
    return blueprint


def limit_code_lookups(view):
    """A stricter limit on endpoints that take a member number or voucher code."""
    return limiter.limit(code_lookup_limit, key_func=rate_limit_key)(view)


class OrganizationRequired(PointsError):
    status = 422
    code = "organization_required"
    default_message = _l("You work in more than one organization: say which one with %(field)s.")


def organization_of_request(organization_id, permission, field):
    """The organization node this request acts for.

    ``organization_id`` when given (the service then checks the caller may act there),
    else the API token's organization, else the one subtree where the caller holds
    ``permission``. ``field`` names the parameter in the error when that is ambiguous.
    """
    if organization_id is not None:
        return get_organization(organization_id)
    token = g.get("api_token")
    if token is not None and token.organization is not None:
        return token.organization
    roots = authz.scope_roots(current_user, permission)
    if not roots:
        raise PermissionDenied()
    if len(roots) > 1:
        raise OrganizationRequired(field=field, details={"field": field})
    return roots[0]


def counter_of_request(counter_id=None):
    """The counter (organization node) a counter request works at."""
    return organization_of_request(counter_id, "counter.redeem", "counter_id")
