from datetime import timedelta

from sqlalchemy import select

from points_service import authz
from points_service.api import token_service
from points_service.api.models import ApiToken
from points_service.audit.models import AuditEvent
from points_service.extensions import db
from points_service.timeutil import utcnow


def _tokens_page(client, headers):
    return client.get("/api/v1/tokens", headers=headers)


def test_token_is_stored_only_as_its_sha256(build):
    admin = build.staff("admin", build.tree()["city"])
    plaintext = build.token(admin)
    row = db.session.execute(select(ApiToken)).scalar_one()
    assert plaintext.startswith("vpt_") and len(plaintext) == 47
    assert row.token_hash == token_service.hash_token(plaintext)
    assert plaintext not in (row.token_hash, row.prefix) and plaintext.startswith(row.prefix)


def test_bearer_token_authenticates_and_records_last_use(client, build):
    admin = build.staff("admin", build.tree()["city"])
    headers = build.bearer(admin)
    response = _tokens_page(client, headers)
    assert response.status_code == 200
    assert db.session.execute(select(ApiToken.last_used_at)).scalar_one() is not None


def test_missing_unknown_expired_and_revoked_tokens_get_401(client, build):
    admin = build.staff("admin", build.tree()["city"])
    assert _tokens_page(client, {}).status_code == 401
    unknown = _tokens_page(client, {"Authorization": "Bearer vpt_" + "x" * 43})
    assert unknown.status_code == 401
    assert unknown.json["error"]["code"] == "invalid_token"
    assert unknown.headers["WWW-Authenticate"].startswith("Bearer")
    assert _tokens_page(client, {"Authorization": "Basic YWRtaW46YWRtaW4="}).status_code == 401

    expired = build.token(admin)
    row = db.session.execute(
        select(ApiToken).where(ApiToken.token_hash == token_service.hash_token(expired))
    ).scalar_one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert _tokens_page(client, {"Authorization": f"Bearer {expired}"}).status_code == 401

    revoked = build.token(admin)
    row = db.session.execute(
        select(ApiToken).where(ApiToken.token_hash == token_service.hash_token(revoked))
    ).scalar_one()
    token_service.revoke_api_token(row.id, admin)
    assert _tokens_page(client, {"Authorization": f"Bearer {revoked}"}).status_code == 401


def test_token_of_a_disabled_user_stops_working(client, build):
    admin = build.staff("admin", build.tree()["city"])
    headers = build.bearer(admin)
    admin.active = False
    db.session.commit()
    assert _tokens_page(client, headers).status_code == 401


def test_token_scope_narrows_the_users_roles_and_subtree(build):
    tree = build.tree()
    user = build.staff("admin", tree["city"])
    from points_service.accounts.service import grant_role

    grant_role(user, "counter", tree["districts"][0])
    scope = token_service.TokenScope("counter", tree["communities"][0])
    user.token_scope = scope
    try:
        assert authz.can(user, "counter.redeem", tree["communities"][0])
        assert not authz.can(user, "counter.redeem", tree["communities"][1])  # outside the token's subtree
        assert not authz.can(user, "counter.redeem", tree["communities"][2])  # outside the user's counter role
        assert not authz.can(user, "perk.manage", tree["communities"][0])  # admin role not in the token
    finally:
        del user.token_scope
    assert authz.can(user, "perk.manage", tree["communities"][0])


def test_token_scope_ends_with_the_request(client, build):
    tree = build.tree()
    admin = build.staff("admin", tree["city"])
    headers = build.bearer(admin, role="admin", organization=tree["communities"][0])
    assert _tokens_page(client, headers).status_code == 200
    assert not hasattr(admin, "token_scope")
    assert authz.can(admin, "token.manage", tree["districts"][1])


def test_token_cannot_be_issued_for_a_role_the_user_does_not_hold(build):
    import pytest

    from points_service.errors import ValidationError

    clerk = build.staff("counter", build.community)
    with pytest.raises(ValidationError):
        token_service.issue_api_token(clerk, name="x", role="admin")
    with pytest.raises(ValidationError):
        token_service.issue_api_token(clerk, name="x", role="counter", organization=build.tree()["communities"][3])


def test_admin_issues_lists_and_revokes_a_token_through_the_api(client, build):
    tree = build.tree()
    admin = build.staff("admin", tree["districts"][0])
    clerk = build.staff("counter", tree["communities"][0], username="clerk-one")
    headers = build.bearer(admin)
    response = client.post(
        "/api/v1/tokens",
        json={
            "user": "clerk-one",
            "name": "Counter 1 scanner",
            "role": "counter",
            "organization_id": tree["communities"][0].id,
            "days": 30,
        },
        headers=headers,
    )
    assert response.status_code == 201
    issued = response.json
    assert issued["token"].startswith("vpt_") and issued["role"] == "counter" and issued["user_id"] == clerk.id
    assert "token_hash" not in issued

    listed = _tokens_page(client, headers).json["tokens"]
    assert issued["id"] in [token["id"] for token in listed]
    assert all("token" not in token for token in listed)

    assert client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {issued['token']}"}).status_code == 403
    revoked = client.post(f"/api/v1/tokens/{issued['id']}/revoke", headers=headers)
    assert revoked.status_code == 200 and revoked.json["revoked_at"] is not None
    assert client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {issued['token']}"}).status_code == 401
    actions = db.session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars().all()
    assert actions[-2:] == ["token.create", "token.revoke"]


def test_admin_cannot_issue_a_token_outside_their_subtree(client, build):
    tree = build.tree()
    admin = build.staff("admin", tree["districts"][0])
    build.staff("counter", tree["communities"][3], username="far-clerk")
    response = client.post(
        "/api/v1/tokens",
        json={"user": "far-clerk", "name": "x", "role": "counter", "organization_id": tree["communities"][3].id},
        headers=build.bearer(admin),
    )
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"


def test_create_token_command_prints_the_token_last(runner, build):
    clerk = build.staff("counter", build.community, username="desk-7")
    result = runner.invoke(args=["points", "create-token", "--user", "desk-7", "--role", "counter", "--days", "7"])
    assert result.exit_code == 0, result.output
    plaintext = result.output.strip().splitlines()[-1]
    token = token_service.authenticate_token(plaintext)
    assert token is not None and token.user_id == clerk.id and token.role == "counter"
    assert (token.expires_at - utcnow()).days in (6, 7)


def test_create_token_command_refuses_an_unknown_user(runner, build):
    result = runner.invoke(args=["points", "create-token", "--user", "nobody"])
    assert result.exit_code == 2
