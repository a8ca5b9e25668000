import pytest

from points_service import authz
from points_service.accounts import service as accounts
from points_service.accounts.models import RoleMembership
from points_service.audit.service import list_audit_events
from points_service.codes import is_valid_member_number
from points_service.errors import Conflict, NotFound, PermissionDenied, ValidationError
from points_service.ledger import service as ledger


def test_granting_a_role_is_audited_with_who_and_where(build):
    district = build.tree()["districts"][0]
    admin = build.staff("admin", district)
    user = accounts.create_user(username="li.counter", name="Li", password="long-password-9", actor=admin)

    accounts.grant_role(user, "counter", build.community, actor=admin)

    assert authz.can(user, "counter.redeem", build.community)
    grant = list_audit_events(action="role.grant")[0]
    assert (grant.actor_id, grant.target_id, grant.organization_id) == (admin.id, str(user.id), build.community.id)
    assert grant.after == {"role": "counter"}
    assert list_audit_events(action="user.create")[0].after == {"username": "li.counter"}


def test_granting_a_role_twice_changes_nothing(build):
    user = build.staff("organizer")
    again = accounts.grant_role(user, "organizer", build.community)
    assert RoleMembership.query.filter_by(user_id=user.id).count() == 1
    assert again.role == "organizer"


def test_only_an_admin_of_the_subtree_may_grant_roles(build):
    tree = build.tree()
    user = build.staff("organizer", tree["communities"][0])
    outsiders = (build.staff("admin", tree["districts"][1]), build.staff("organizer", tree["city"]))
    grants = len(list_audit_events(action="role.grant"))
    for actor in outsiders:
        with pytest.raises(PermissionDenied):
            accounts.grant_role(user, "admin", tree["communities"][0], actor=actor)
    assert {m.role for m in user.memberships} == {"organizer"}
    assert len(list_audit_events(action="role.grant")) == grants
    accounts.grant_role(user, "counter", tree["communities"][0], actor=build.staff("admin", tree["districts"][0]))
    assert {m.role for m in user.memberships} == {"organizer", "counter"}


def test_an_unknown_role_or_organization_is_refused(build):
    user = build.staff("organizer")
    with pytest.raises(ValidationError) as unknown:
        accounts.grant_role(user, "boss", build.community)
    assert unknown.value.render_message() == "Unknown role boss; use one of volunteer, organizer, counter, admin."
    with pytest.raises(NotFound):
        accounts.grant_role(user, "admin", None)


def test_the_volunteer_role_on_a_community_gives_a_staff_user_a_profile_and_an_account(build):
    user = build.staff("organizer")
    accounts.grant_role(user, "volunteer", build.community)

    assert is_valid_member_number(user.volunteer.member_no)
    assert ledger.account_of_volunteer(user.volunteer.id).balance == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"username": "a b"}, "username"),
        ({"username": "ab"}, "username"),
        ({"name": ""}, "name"),
        ({"password": "12345678"}, "password"),
        ({"mobile": "555-1234"}, "mobile"),
    ],
)
def test_create_user_refuses_bad_fields_and_names_them(app, fields, field):
    with pytest.raises(ValidationError) as refused:
        accounts.create_user(**{"username": "good.name", "name": "N", "password": "long-password-9", **fields})
    assert refused.value.details == {"field": field}


def test_user_names_are_unique(build):
    build.staff("admin", username="taken")
    with pytest.raises(Conflict):
        accounts.create_user(username="taken", name="N", password="long-password-9")


def test_passwords_are_stored_as_argon2id_hashes(build):
    user = accounts.create_user(username="hashed", name="N", password="long-password-9")
    assert user.password_hash.startswith("$argon2id$")
    assert "long-password-9" not in user.password_hash


def test_a_service_account_holds_staff_roles_but_never_becomes_a_volunteer(build):
    robot = build.service_account("counter", build.community)
    assert authz.can(robot, "counter.redeem", build.community)
    with pytest.raises(ValidationError):
        accounts.grant_role(robot, "volunteer", build.community)
    assert robot.volunteer is None
    assert RoleMembership.query.filter_by(user_id=robot.id, role="volunteer").count() == 0
