"""The desk's People pages over HTTP: tree, users and roles, disabling, API tokens."""

import logging

import pytest
from sqlalchemy import func, select

from points_service.accounts.models import ApiToken, RoleMembership, User
from points_service.changes.models import ChangeRequest
from points_service.extensions import db
from points_service.organizations.models import Organization
from tests.builders import PASSWORD


@pytest.fixture
def tree(build):
    return build.tree()


@pytest.fixture
def admin(build, tree, auth):
    user = build.staff("admin", tree["districts"][0], username="district.admin")
    auth.login(user.username, PASSWORD)
    return user


def _reload(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def test_the_tree_shows_the_admins_subtree_only(client, tree, admin):
    page = client.get("/admin/people").get_data(as_text=True)
    assert "District 1" in page and "Community 1.2" in page
    assert "District 2" not in page and "Community 2.1" not in page


def test_adding_renaming_and_moving_nodes_from_the_desk(client, build, tree, auth):
    city_admin = build.staff("admin", tree["city"])
    auth.login(city_admin.username, PASSWORD)
    street = tree["streets"][0]

    client.post(f"/admin/people/organizations/{street.id}/children", data={"name": "Garden Community"})
    added = db.session.execute(select(Organization).where(Organization.name == "Garden Community")).scalar_one()
    assert added.kind == "community" and added.parent_id == street.id

    client.post(f"/admin/people/organizations/{added.id}/rename", data={"name": "Garden Court"})
    assert _reload(Organization, added.id).name == "Garden Court"

    page = client.get(f"/admin/people/organizations/{added.id}").get_data(as_text=True)
    assert "Test City/District 2/Street 2" in page  # the one place it can move to
    target = str(tree["streets"][1].id)
    moved = client.post(f"/admin/people/organizations/{added.id}/move", data={"parent": target}, follow_redirects=True)
    assert "Moved." in moved.get_data(as_text=True)
    assert _reload(Organization, added.id).path == f"{tree['streets'][1].path}{added.id}/"


def test_a_refused_move_says_why_and_changes_nothing(client, tree, admin):
    community = tree["communities"][0]
    page = client.post(
        f"/admin/people/organizations/{community.id}/move",
        data={"parent": str(community.id)},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "cannot be moved under itself" in page
    assert _reload(Organization, community.id).parent_id == tree["streets"][0].id


def test_another_communitys_nodes_are_not_found_and_nothing_changes(client, tree, admin):
    outside = tree["communities"][3]
    assert client.get(f"/admin/people/organizations/{outside.id}").status_code == 404
    assert client.post(f"/admin/people/organizations/{outside.id}/rename", data={"name": "Mine"}).status_code == 404
    assert (
        client.post(
            f"/admin/people/organizations/{tree['communities'][0].id}/move", data={"parent": str(tree["streets"][1].id)}
        ).status_code
        == 404
    )
    assert _reload(Organization, outside.id).name == "Community 2.2"
    assert _reload(Organization, tree["communities"][0].id).parent_id == tree["streets"][0].id


def test_searching_by_mobile_posts_the_text_shows_masked_results_and_logs_nothing_of_it(
    client, build, tree, admin, caplog
):
    caplog.set_level(logging.DEBUG)
    volunteer = build.volunteer(tree["communities"][0], name="Zhuge Liang", mobile="13712345678")
    page = client.post("/admin/people/users", data={"query": "13712345678"}).get_data(as_text=True)
    assert f"/admin/people/users/{volunteer.id}" in page
    assert "Z**********" in page and "137****5678" in page
    assert "Zhuge Liang" not in page and "13712345678" not in page
    assert "13712345678" not in caplog.text and "Zhuge" not in caplog.text
    assert 'method="post" action="/admin/people/users"' in client.get("/admin/people/users").get_data(as_text=True)


def test_an_empty_search_names_the_field_in_the_users_language(client, admin):
    page = client.post("/admin/people/users", data={"query": " "}).get_data(as_text=True)
    assert "Type a name, a mobile number or a member number" in page


def test_a_users_page_shows_roles_state_and_last_sign_in(client, build, tree, admin):
    organizer = build.staff("organizer", tree["communities"][0])
    page = client.get(f"/admin/people/users/{organizer.id}").get_data(as_text=True)
    assert "Organizer" in page and "Community 1.1" in page and "Active" in page and "Not known" in page


def test_a_staff_role_is_granted_directly_and_can_be_taken_away(client, build, tree, admin):
    organizer = build.staff("organizer", tree["communities"][0])
    client.post(
        f"/admin/people/users/{organizer.id}/roles",
        data={"role": "counter", "organization": str(tree["communities"][1].id)},
    )
    held = {(m.role, m.organization_id) for m in _reload(User, organizer.id).memberships}
    assert ("counter", tree["communities"][1].id) in held
    membership = next(m for m in _reload(User, organizer.id).memberships if m.role == "counter")

    client.post(f"/admin/people/users/{organizer.id}/roles/{membership.id}/revoke")

    assert _reload(RoleMembership, membership.id) is None


def test_granting_admin_needs_a_second_admin_and_the_author_cannot_approve(client, build, tree, admin, auth):
    organizer = build.staff("organizer", tree["communities"][0])
    response = client.post(
        f"/admin/people/users/{organizer.id}/roles",
        data={"role": "admin", "organization": str(tree["communities"][0].id)},
    )
    request = db.session.execute(select(ChangeRequest).where(ChangeRequest.kind == "role.grant_admin")).scalar_one()
    assert response.headers["Location"].endswith(f"/admin/approvals/{request.id}")
    assert not any(m.role == "admin" for m in _reload(User, organizer.id).memberships)

    own = client.post(f"/admin/approvals/{request.id}/decision", data={"decision": "approve"}, follow_redirects=True)
    assert "another person must review it" in own.get_data(as_text=True)
    assert _reload(ChangeRequest, request.id).status == "pending"

    second = build.staff("admin", tree["city"])
    auth.logout()
    auth.login(second.username, PASSWORD)
    client.post(f"/admin/approvals/{request.id}/decision", data={"decision": "approve"})
    assert _reload(ChangeRequest, request.id).status == "approved"
    assert any(m.role == "admin" for m in _reload(User, organizer.id).memberships)


def test_a_disabled_users_open_session_and_token_are_refused_on_the_next_request(app, client, build, tree, admin):
    organizer = build.staff("organizer", tree["communities"][0])
    token = build.token(organizer)
    their_browser = app.test_client()
    their_browser.post("/login", data={"login": organizer.username, "password": PASSWORD})
    assert their_browser.get("/organizer/").status_code == 200
    bearer = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/perks", headers=bearer).status_code == 200

    page = client.post(f"/admin/people/users/{organizer.id}/disable", follow_redirects=True)

    assert "Disabled" in page.get_data(as_text=True)
    assert "/login" in their_browser.get("/organizer/").headers["Location"]
    assert app.test_client().get("/api/v1/perks", headers=bearer).status_code == 401


def test_nobody_disables_themselves_from_the_desk(client, admin):
    page = client.post(f"/admin/people/users/{admin.id}/disable", follow_redirects=True).get_data(as_text=True)
    assert "You cannot disable or enable yourself." in page
    assert _reload(User, admin.id).active


def test_disabling_a_nodes_last_own_admin_asks_for_a_confirmation_first(client, build, tree, admin):
    community_admin = build.staff("admin", tree["communities"][0])
    warning = client.post(f"/admin/people/users/{community_admin.id}/disable")
    assert warning.status_code == 409
    assert "Confirm to go ahead" in warning.get_data(as_text=True)
    assert _reload(User, community_admin.id).active

    client.post(f"/admin/people/users/{community_admin.id}/disable", data={"confirm": "yes"})
    assert not _reload(User, community_admin.id).active


def test_another_communitys_user_is_not_found_and_nothing_changes(client, build, tree, admin):
    stranger = build.staff("organizer", tree["communities"][3])
    assert client.get(f"/admin/people/users/{stranger.id}").status_code == 404
    assert client.post(f"/admin/people/users/{stranger.id}/disable").status_code == 404
    membership = stranger.memberships[0]
    assert client.post(f"/admin/people/users/{stranger.id}/roles/{membership.id}/revoke").status_code == 404
    assert _reload(User, stranger.id).active and _reload(RoleMembership, membership.id) is not None
    page = client.post("/admin/people/users", data={"query": "Organizer"}).get_data(as_text=True)
    assert f"/admin/people/users/{stranger.id}" not in page


def test_a_new_token_is_shown_once_and_listed_without_its_secret(client, build, tree, admin):
    desk = build.service_account("counter", tree["communities"][0], username="desk1")
    created = client.post(
        "/admin/people/tokens",
        data={"name": "Front desk", "user": "desk1", "role": "counter", "organization": str(tree["communities"][0].id)},
    )
    page = created.get_data(as_text=True)
    token = db.session.execute(select(ApiToken).where(ApiToken.user_id == desk.id)).scalar_one()
    plaintext = page.split('data-testid="token-plaintext">')[1].split("<")[0]
    assert plaintext.startswith("vpt_") and created.headers["Cache-Control"] == "no-store"

    listing = client.get("/admin/people/tokens").get_data(as_text=True)
    assert "Front desk" in listing and token.prefix in listing and plaintext not in listing


def test_a_token_for_another_person_is_refused_with_the_reason(client, build, tree, admin):
    other = build.staff("organizer", tree["communities"][0])
    page = client.post("/admin/people/tokens", data={"name": "Theirs", "user": other.username}).get_data(as_text=True)
    assert "no service account has that name" in page
    assert db.session.execute(select(func.count(ApiToken.id))).scalar_one() == 0


def test_revoking_a_token_stops_it_at_once(app, client, build, tree, admin):
    build.service_account("counter", tree["communities"][0], username="desk2")
    plaintext = build.token(db.session.execute(select(User).where(User.username == "desk2")).scalar_one())
    token = db.session.execute(select(ApiToken)).scalar_one()
    client.post(f"/admin/people/tokens/{token.id}/revoke")
    assert _reload(ApiToken, token.id).revoked_at is not None
    assert app.test_client().get("/api/v1/perks", headers={"Authorization": f"Bearer {plaintext}"}).status_code == 401


def test_organizer_and_counter_staff_get_403(client, build, tree, auth):
    for role in ("organizer", "counter"):
        user = build.staff(role, tree["communities"][0])
        auth.login(user.username, PASSWORD)
        for url in ("/admin/people", "/admin/people/users", "/admin/people/tokens"):
            assert client.get(url).status_code == 403
        assert client.post("/admin/people/users", data={"query": "x"}).status_code == 403
        auth.logout()


def test_the_people_pages_are_in_chinese_for_a_chinese_admin(client, build, tree, admin):
    client.post("/language/zh_CN")
    page = client.get("/admin/people/users").get_data(as_text=True)
    assert "姓名、手机号或会员号" in page
