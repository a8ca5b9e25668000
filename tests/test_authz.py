"""The one authorization helper: a role on a node covers exactly its subtree."""

import pytest

from points_service import authz
from points_service.errors import PermissionDenied


def test_a_role_on_a_district_covers_its_communities_only(build):
    tree = build.tree()
    organizer = build.staff("organizer", tree["districts"][0])
    assert authz.can(organizer, "record.approve", tree["communities"][0])
    assert authz.can(organizer, "record.approve", tree["districts"][0])
    assert not authz.can(organizer, "record.approve", tree["communities"][2])
    assert not authz.can(organizer, "record.approve", tree["city"])


def test_a_role_grants_only_its_permissions(build):
    counter = build.staff("counter")
    assert authz.can(counter, "counter.redeem", build.community)
    assert not authz.can(counter, "record.approve", build.community)
    assert not authz.can(counter, "ledger.adjust", build.community)
    with pytest.raises(PermissionDenied):
        authz.require(counter, "rules.manage", build.community)


def test_volunteers_and_anonymous_users_hold_no_staff_permission(build):
    from flask_login import AnonymousUserMixin

    volunteer = build.volunteer()
    for permission in authz.PERMISSIONS:
        assert not authz.can(volunteer, permission, build.community)
        assert not authz.can(AnonymousUserMixin(), permission, None)


def test_an_admin_of_the_city_may_do_everything_everywhere(build):
    tree = build.tree()
    admin = build.staff("admin", tree["city"])
    for permission in authz.PERMISSIONS:
        assert authz.can(admin, permission, tree["communities"][3])


def test_unknown_permissions_are_a_programming_error(build):
    with pytest.raises(ValueError):
        authz.can(build.staff("admin"), "no.such.permission", None)
