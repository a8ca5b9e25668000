"""API tokens for counters and integrations: issue (shown once), list, revoke.

Anyone issues tokens for themselves; administrators with ``token.manage`` over the
organization issue them for service accounts, list and revoke them. The command
``flask points create-token`` issues them for service accounts from the shell.
"""

from types import SimpleNamespace

from flask_login import current_user

from ..accounts import tokens
from ..organizations.service import get_organization
from . import error_responses
from .auth import resource_blueprint
from .schemas import IssuedTokenSchema, TokenCreateSchema, TokenListQuerySchema, TokenListSchema, TokenSchema

blp = resource_blueprint("tokens", __name__, "/tokens", "API tokens: your own, and service accounts'.")


@blp.route("", methods=["GET"])
@blp.arguments(TokenListQuerySchema, location="query")
@blp.response(200, TokenListSchema)
@error_responses(blp, 401, 403, 429)
def list_tokens(query):
    """The tokens you may manage, newest first"""
    return {"tokens": tokens.list_api_tokens(current_user, include_revoked=query["include_revoked"])}


@blp.route("", methods=["POST"])
@blp.arguments(TokenCreateSchema)
@blp.response(201, IssuedTokenSchema)
@error_responses(blp, 400, 401, 403, 404, 429)
def create_token(body):
    """Issue a token for yourself or a service account, a role and an organization subtree; shown only here"""
    organization = get_organization(body["organization_id"])
    token, plaintext = tokens.issue_api_token(
        tokens.token_holder(body["user"], current_user),
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
    return tokens.revoke_api_token(token_id, current_user)
