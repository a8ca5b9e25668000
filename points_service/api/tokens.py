"""API tokens for counters and integrations: issue (shown once), list, revoke.

Administrators with ``token.manage`` over the organization do this; the command
``flask points create-token`` does it from the shell.
"""

from types import SimpleNamespace

from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..accounts.service import find_user
from ..errors import NotFound
from ..organizations.service import get_organization
from . import error_responses, token_service
from .auth import resource_blueprint
from .schemas import IssuedTokenSchema, TokenCreateSchema, TokenListQuerySchema, TokenListSchema, TokenSchema

blp = resource_blueprint("tokens", __name__, "/tokens", "API tokens (administrators).")


@blp.route("", methods=["GET"])
@blp.arguments(TokenListQuerySchema, location="query")
@blp.response(200, TokenListSchema)
@error_responses(blp, 401, 403, 429)
def list_tokens(query):
    """The tokens you may manage, newest first"""
    return {"tokens": token_service.list_api_tokens(current_user, include_revoked=query["include_revoked"])}


@blp.route("", methods=["POST"])
@blp.arguments(TokenCreateSchema)
@blp.response(201, IssuedTokenSchema)
@error_responses(blp, 400, 401, 403, 404, 429)
def create_token(body):
    """Issue a token for a user, a role and an organization subtree; the token is shown only here"""
    user = find_user(body["user"])
    if user is None:
        raise NotFound(_l("No active user has that name."))
    organization = get_organization(body["organization_id"])
    token, plaintext = token_service.issue_api_token(
        user,
        name=body["name"],
        role=body["role"],
        organization=organization,
        days=body["days"],
        actor=current_user,
    )
    return SimpleNamespace(**{name: getattr(token, name) for name in TokenSchema().fields}, token=plaintext)


@blp.route("/<id:token_id>/revoke", methods=["POST"])
@blp.response(200, TokenSchema)
@error_responses(blp, 400, 401, 404, 429)
def revoke_token(token_id):
    """Revoke a token at once"""
    return token_service.revoke_api_token(token_id, current_user)
