"""Administrators managing people: search, staff roles, the admin role by request, disabling."""

import pytest
from sqlalchemy import select

from points_service.accounts import people
from points_service.accounts import service as accounts
from points_service.accounts.models import RoleMembership, User
from points_service.accounts.tokens import authenticate_token
from points_service.audit.models import AuditEvent
from points_service.changes import service as changes
from points_service.changes.service import SecondPersonRequired
from points_service.errors import Conflict, NotFound, PermissionDenied, ValidationError
from points_service.extensions import db


@pytest.fixture
def tree(build):
    return build.tree()


@pytest.fixture
def admin(build, tree):
    return build.staff("admin", tree["districts"][0])


def _reload(user):
    db.session.expire_all()
    return db.session.get(User, user.id)


def _events(action):
    db.session.expire_all()
    return db.session.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars().all()


# -- search --------------------------------------------------------------------------------------


def test_search_finds_by_exact_mobile_member_number_or_name_prefix_within_the_subtree_only(build, tree, admin):
    inside = build.volunteer(tree["communities"][0], name="Liu Bei", mobile="13900000001")
    outside = build.volunteer(tree["communities"][3], name="Liu Biao", mobile="13900000002")

    assert people.search_users(admin, "139 0000 0001") == [inside]
    assert people.search_users(admin, "1390000000") == []  # a mobile number matches only whole
    assert people.search_users(admin, inside.volunteer.member_no) == [inside]
    assert people.search_users(admin, "Liu") == [inside]
    assert people.search_users(admin, "13900000002") == []
    assert people.search_users(admin, outside.volunteer.member_no) == []
    assert people.search_users(admin, "L%") == []  # wildcards are plain text


def test_an_empty_or_overlong_search_is_refused_naming_the_field(admin):
    for text in ("", "   ", "x" * 81):
        with pytest.raises(ValidationError) as refused:
            people.search_users(admin, text)
        assert refused.value.details == {"field": "query"}


def test_a_user_of_another_subtree_is_not_found(build, tree, admin):
    stranger = build.volunteer(tree["communities"][3])
    with pytest.raises(NotFound):
        people.get_managed_user(admin, stranger.id)


def test_a_user_page_lists_only_the_roles_inside_the_subtree(build, tree, admin):
    user = build.staff("organizer", tree["communities"][0])
    accounts.grant_role(user, "counter", tree["communities"][3])
    assert [(m.role, m.organization_id) for m in people.visible_roles(admin, user)] == [
        ("organizer", tree["communities"][0].id)
    ]


# -- roles ---------------------------------------------------------------------------------------


def test_a_staff_role_is_granted_at_once_and_audited(build, tree, admin):
    user = build.staff("organizer", tree["communities"][0])
    grant = people.grant_staff_role(admin, user, "counter", tree["communities"][1])
    assert grant.membership.role == "counter" and grant.request is None
    event = _events("role.grant")[-1]
    assert event.actor_id == admin.id
    assert (event.after, event.organization_id) == ({"role": "counter"}, tree["communities"][1].id)


def test_a_role_outside_the_subtree_or_not_a_staff_role_is_refused(build, tree, admin):
    user = build.staff("organizer", tree["communities"][0])
    with pytest.raises(PermissionDenied):
        people.grant_staff_role(admin, user, "counter", tree["communities"][3])
    with pytest.raises(ValidationError) as volunteer:
        people.grant_staff_role(admin, user, "volunteer", tree["communities"][0])
    assert volunteer.value.details == {"field": "role"}
    assert len(_reload(user).memberships) == 1


def test_the_admin_role_needs_a_second_administrator_who_is_not_the_author(build, tree, admin):
    user = build.staff("organizer", tree["communities"][0])
    grant = people.grant_staff_role(admin, user, "admin", tree["communities"][0])
    assert grant.membership is None and grant.request.kind == people.GRANT_ADMIN_KIND
    assert not any(m.role == "admin" for m in _reload(user).memberships)

    with pytest.raises(SecondPersonRequired):
        changes.approve_change(admin, grant.request.id)
    assert not any(m.role == "admin" for m in _reload(user).memberships)

    second = build.staff("admin", tree["city"])
    changes.approve_change(second, grant.request.id)
    held = [(m.role, m.organization_id) for m in _reload(user).memberships]
    assert ("admin", tree["communities"][0].id) in held
    event = _events("role.grant")[-1]
    assert event.actor_id == second.id and event.after["requested_by"] == admin.id


def test_a_person_cannot_grant_the_admin_role_directly(build, tree, admin):
    user = build.staff("organizer", tree["communities"][0])
    with pytest.raises(accounts.SecondAdministratorRequired):
        accounts.grant_role(user, "admin", tree["communities"][0], actor=admin)
    assert not any(m.role == "admin" for m in _reload(user).memberships)


def test_revoking_a_role_removes_it_and_records_before_and_after(build, tree, admin):
    user = build.staff("organizer", tree["communities"][0])
    membership = user.memberships[0]
    people.revoke_role(admin, user, membership.id)
    assert _reload(user).memberships == []
    event = _events("role.revoke")[-1]
    assert event.before == {"role": "organizer", "organization_id": tree["communities"][0].id} and event.after is None


def test_a_volunteer_role_or_one_outside_the_subtree_is_not_revoked_here(build, tree, admin):
    volunteer = build.volunteer(tree["communities"][0])
    with pytest.raises(ValidationError):
        people.revoke_role(admin, volunteer, volunteer.memberships[0].id)
    outsider = build.staff("organizer", tree["communities"][3])
    with pytest.raises(NotFound):
        people.revoke_role(admin, outsider, outsider.memberships[0].id)
    assert db.session.get(RoleMembership, outsider.memberships[0].id) is not None


def test_taking_the_last_own_administrator_of_a_node_needs_a_confirmation(build, tree, admin):
    community_admin = build.staff("admin", tree["communities"][0])
    membership = community_admin.memberships[0]
    with pytest.raises(people.LastAdministrator) as warned:
        people.revoke_role(admin, community_admin, membership.id)
    assert tree["communities"][0].name in warned.value.render_message()
    assert db.session.get(RoleMembership, membership.id) is not None

    people.revoke_role(admin, community_admin, membership.id, confirm_last_admin=True)
    assert _reload(community_admin).memberships == []


def test_nobody_takes_away_their_own_role_when_nobody_else_could_manage_the_node(build, tree, admin):
    with pytest.raises(Conflict) as refused:
        people.revoke_role(admin, admin, admin.memberships[0].id, confirm_last_admin=True)
    assert "last administrator who can manage" in refused.value.render_message()
    assert len(_reload(admin).memberships) == 1


# -- disabling -----------------------------------------------------------------------------------


def test_disabling_ends_sessions_and_tokens_at_once_and_enabling_restores_access(build, tree, admin):
    user = build.staff("organizer", tree["communities"][0])
    session_id = user.get_id()
    token = build.token(user)
    assert accounts.load_session_user(session_id) is not None and authenticate_token(token) is not None

    people.set_user_active(admin, user, False)

    assert accounts.load_session_user(session_id) is None
    assert authenticate_token(token) is None
    assert [(e.before, e.after) for e in _events("user.disable")] == [({"active": True}, {"active": False})]

    people.set_user_active(admin, _reload(user), True)
    assert _reload(user).active and authenticate_token(token) is not None
    assert accounts.load_session_user(session_id) is None  # the old session stays ended
    assert [(e.before, e.after) for e in _events("user.enable")] == [({"active": False}, {"active": True})]


def test_nobody_disables_themselves(admin):
    with pytest.raises(ValidationError):
        people.set_user_active(admin, admin, False)
    assert _reload(admin).active


def test_a_user_with_roles_outside_the_subtree_is_left_to_an_administrator_over_all_of_them(build, tree, admin):
    user = build.staff("organizer", tree["communities"][0])
    accounts.grant_role(user, "counter", tree["communities"][3])
    with pytest.raises(PermissionDenied):
        people.set_user_active(admin, user, False)
    assert _reload(user).active
    people.set_user_active(build.staff("admin", tree["city"]), user, False)
    assert not _reload(user).active


def test_disabling_the_last_own_administrator_of_a_node_needs_a_confirmation(build, tree, admin):
    community_admin = build.staff("admin", tree["communities"][0])
    with pytest.raises(people.LastAdministrator):
        people.set_user_active(admin, community_admin, False)
    assert _reload(community_admin).active
    people.set_user_active(admin, community_admin, False, confirm_last_admin=True)
    assert not _reload(community_admin).active


def test_a_disabled_administrator_no_longer_counts_as_another_administrator(build, tree, admin):
    first = build.staff("admin", tree["communities"][0])
    second = build.staff("admin", tree["communities"][0])
    people.set_user_active(admin, second, False)
    with pytest.raises(people.LastAdministrator):
        people.revoke_role(admin, first, first.memberships[0].id)


def test_an_admin_grant_for_a_user_disabled_meanwhile_is_not_applied(build, tree, admin):
    user = build.staff("organizer", tree["communities"][0])
    request = people.grant_staff_role(admin, user, "admin", tree["communities"][0]).request
    people.set_user_active(admin, user, False)
    with pytest.raises(Conflict):
        changes.approve_change(build.staff("admin", tree["city"]), request.id)
    assert not any(m.role == "admin" for m in _reload(user).memberships)
