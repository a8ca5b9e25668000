from datetime import timedelta

import pytest
from sqlalchemy import func, select

from points_service import authz
from points_service.accounts import service as accounts_service
from points_service.accounts import tokens
from points_service.accounts.models import ApiToken
from points_service.audit.models import AuditEvent
from points_service.errors import PermissionDenied, ValidationError
from points_service.extensions import db
from points_service.timeutil import utcnow
from tests.builders import PASSWORD


def _tokens_page(client, headers):
    return client.get("/api/v1/tokens", headers=headers)


def test_token_is_stored_only_as_its_sha256(build):
    admin = build.staff("admin", build.tree()["city"])
    plaintext = build.token(admin)
    row = db.session.execute(select(ApiToken)).scalar_one()
    assert plaintext.startswith("vpt_") and len(plaintext) == 47
    assert row.token_hash == tokens.hash_token(plaintext)
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
    row = db.session.execute(select(ApiToken).where(ApiToken.token_hash == tokens.hash_token(expired))).scalar_one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert _tokens_page(client, {"Authorization": f"Bearer {expired}"}).status_code == 401

    revoked = build.token(admin)
    row = db.session.execute(select(ApiToken).where(ApiToken.token_hash == tokens.hash_token(revoked))).scalar_one()
    tokens.revoke_api_token(row.id, admin)
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
    scope = tokens.TokenScope("counter", tree["communities"][0])
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
    clerk = build.staff("counter", build.community)
    with pytest.raises(ValidationError):
        tokens.issue_api_token(clerk, name="x", role="admin", actor=clerk)
    with pytest.raises(ValidationError):
        tokens.issue_api_token(
            clerk, name="x", role="counter", organization=build.tree()["communities"][3], actor=clerk
        )


def test_admin_issues_lists_and_revokes_a_service_account_token_through_the_api(client, build):
    tree = build.tree()
    admin = build.staff("admin", tree["districts"][0])
    desk = build.service_account("counter", tree["communities"][0], username="desk-one", created_by=admin)
    headers = build.bearer(admin)
    response = client.post(
        "/api/v1/tokens",
        json={
            "user": "desk-one",
            "name": "Counter 1 scanner",
            "role": "counter",
            "organization_id": tree["communities"][0].id,
            "days": 30,
        },
        headers=headers,
    )
    assert response.status_code == 201
    issued = response.json
    assert issued["token"].startswith("vpt_") and issued["role"] == "counter" and issued["user_id"] == desk.id
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


def test_admin_cannot_issue_a_service_account_token_outside_their_subtree(client, build):
    tree = build.tree()
    admin = build.staff("admin", tree["districts"][0])
    build.service_account("counter", tree["communities"][3], username="far-desk")
    response = client.post(
        "/api/v1/tokens",
        json={"user": "far-desk", "name": "x", "role": "counter", "organization_id": tree["communities"][3].id},
        headers=build.bearer(admin),
    )
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"


def test_an_admin_cannot_issue_a_token_that_acts_as_another_person(client, build):
    tree = build.tree()
    admin = build.staff("admin", tree["city"])
    clerk = build.staff("counter", tree["communities"][0], username="clerk-one")
    with pytest.raises(PermissionDenied):
        tokens.issue_api_token(clerk, name="x", role="counter", actor=admin)
    with pytest.raises(PermissionDenied):
        tokens.issue_api_token(clerk, name="x", role="counter")  # the command line neither
    body = {"name": "x", "role": "counter", "organization_id": tree["communities"][0].id}
    for login in ("clerk-one", clerk.mobile or "13800000000"):
        response = client.post("/api/v1/tokens", json={**body, "user": login}, headers=build.bearer(admin))
        assert response.status_code == 404
    assert db.session.execute(select(func.count(ApiToken.id)).where(ApiToken.user_id == clerk.id)).scalar_one() == 0


def test_the_token_endpoint_answers_alike_for_a_person_who_exists_and_one_who_does_not(client, build):
    tree = build.tree()
    admin = build.staff("admin", tree["city"])
    volunteer = build.volunteer(mobile="13911112222")
    headers = build.bearer(admin)
    body = {"name": "x", "organization_id": tree["communities"][0].id}
    answers = [
        client.post("/api/v1/tokens", json={**body, "user": login}, headers=headers)
        for login in (volunteer.mobile, "13933334444", build.staff("organizer").username, "no-such-user")
    ]
    assert {(answer.status_code, answer.get_data()) for answer in answers} == {
        (answers[0].status_code, answers[0].get_data())
    }


def test_a_person_issues_a_token_for_themselves_and_it_acts_as_them(client, build, auth):
    clerk = build.staff("counter", build.community, username="self-issuer")
    auth.login("self-issuer", PASSWORD)  # a cookie session (the suite turns CSRF checks off)
    response = client.post(
        "/api/v1/tokens",
        json={"user": "self-issuer", "name": "my scanner", "role": "counter", "organization_id": build.community.id},
    )
    assert response.status_code == 201, response.json
    token = tokens.authenticate_token(response.json["token"])
    assert token.user_id == clerk.id and token.created_by_id == clerk.id
    revoked = client.post(f"/api/v1/tokens/{token.id}/revoke")
    assert revoked.status_code == 200  # the owner may revoke their own token


def test_a_token_cannot_issue_a_token_wider_than_itself(client, build):
    tree = build.tree()
    admin = build.staff("admin", tree["city"])
    narrow = build.bearer(admin, role="admin", organization=tree["communities"][0])
    response = client.post(
        "/api/v1/tokens",
        json={"user": admin.username, "name": "wider", "role": "admin", "organization_id": tree["city"].id},
        headers=narrow,
    )
    assert response.status_code == 403
    assert db.session.execute(select(func.count(ApiToken.id))).scalar_one() == 1


def test_a_token_that_acts_as_someone_other_than_its_issuer_stops_working(client, build):
    tree = build.tree()
    admin = build.staff("admin", tree["city"])
    clerk = build.staff("counter", tree["communities"][0])
    plaintext = "vpt_" + "L" * 43
    db.session.add(  # as an earlier version let an administrator issue it
        ApiToken(
            user_id=clerk.id,
            name="issued for someone else",
            token_hash=tokens.hash_token(plaintext),
            prefix=plaintext[:10],
            created_by_id=admin.id,
            expires_at=utcnow() + timedelta(days=30),
        )
    )
    db.session.commit()
    assert client.get("/api/v1/perks", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 401


def test_a_service_accounts_actions_name_it_and_its_creator_in_the_audit_log(client, build):
    tree = build.tree()
    admin = build.staff("admin", tree["city"], username="city-admin")
    robot = build.service_account("organizer", build.community, username="hours-sync", created_by=admin)
    record = build.record(build.volunteer())
    response = client.post(
        f"/api/v1/service-records/{record.id}/approve",
        headers=build.bearer(robot, **{"Idempotency-Key": build.idempotency_key()}),
    )
    assert response.status_code == 200, response.json
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "record.approve")).scalar_one()
    assert event.actor_id == robot.id
    assert event.actor_label == "service account hours-sync, created by city-admin"


def test_a_service_account_never_logs_in_with_a_password(build):
    robot = build.service_account("counter")
    with pytest.raises(ValidationError):
        accounts_service.authenticate(robot.username, accounts_service.NO_PASSWORD)
    assert accounts_service.load_session_user(robot.get_id()) is None


def test_create_token_command_prints_a_service_account_token_last(runner, build):
    desk = build.service_account("counter", build.community, username="desk-7")
    result = runner.invoke(args=["points", "create-token", "--user", "desk-7", "--role", "counter", "--days", "7"])
    assert result.exit_code == 0, result.output
    plaintext = result.output.strip().splitlines()[-1]
    token = tokens.authenticate_token(plaintext)
    assert token is not None and token.user_id == desk.id and token.role == "counter"
    assert (token.expires_at - utcnow()).days in (6, 7)
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "token.create")).scalar_one()
    assert event.actor_id is None and event.actor_label.startswith("cli:")


def test_create_token_command_refuses_a_person(runner, build):
    build.staff("counter", build.community, username="a-person")
    result = runner.invoke(args=["points", "create-token", "--user", "a-person", "--role", "counter"])
    assert result.exit_code == 2
    assert "A token acts only as the person who issues it, or as a service account." in result.output
    assert db.session.execute(select(func.count(ApiToken.id))).scalar_one() == 0


def test_create_token_command_refuses_an_unknown_user(runner, build):
    result = runner.invoke(args=["points", "create-token", "--user", "nobody"])
    assert result.exit_code == 2
