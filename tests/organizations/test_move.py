"""Renaming and moving organization nodes: checks, whole-subtree paths, audit."""

import pytest
from sqlalchemy import select

from points_service.audit.models import AuditEvent
from points_service.errors import Conflict, NotFound, PermissionDenied, ValidationError
from points_service.extensions import db
from points_service.organizations.models import Organization
from points_service.organizations.service import (
    create_organization,
    get_managed_organization,
    move_organization,
    move_targets,
    rename_organization,
)


@pytest.fixture
def tree(build):
    return build.tree()


@pytest.fixture
def city_admin(build, tree):
    return build.staff("admin", tree["city"])


def _paths():
    db.session.expire_all()
    return {node.id: node.path for node in db.session.execute(select(Organization)).scalars()}


def test_moving_a_street_rewrites_the_paths_of_its_whole_subtree_and_is_audited(tree, city_admin):
    street, new_district = tree["streets"][0], tree["districts"][1]
    communities = tree["communities"][:2]

    move = move_organization(city_admin, street, new_district)

    paths = _paths()
    assert move.node.parent_id == new_district.id
    assert paths[street.id] == f"{new_district.path}{street.id}/"
    for community in communities:
        assert paths[community.id] == f"{new_district.path}{street.id}/{community.id}/"
    assert new_district.contains(db.session.get(Organization, communities[0].id))
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "organization.move")).scalar_one()
    assert event.actor_id == city_admin.id
    assert event.before["parent_id"] == tree["districts"][0].id and event.after["parent_id"] == new_district.id


def test_roles_move_with_the_node_and_staff_above_it_lose_their_reach(build, tree, city_admin):
    street, old_district, new_district = tree["streets"][0], tree["districts"][0], tree["districts"][1]
    community_organizer = build.staff("organizer", tree["communities"][0])
    district_organizer = build.staff("organizer", old_district)

    move = move_organization(city_admin, street, new_district)

    assert move.staff_roles_left_behind == 1
    db.session.expire_all()
    community = db.session.get(Organization, tree["communities"][0].id)
    from points_service import authz

    assert authz.can(community_organizer, "activity.manage", community)
    assert not authz.can(district_organizer, "activity.manage", community)


def test_a_node_cannot_move_under_itself_or_its_own_nodes(build, tree, city_admin):
    district = tree["districts"][0]
    before = _paths()
    with pytest.raises(ValidationError) as under_own:
        move_organization(city_admin, tree["streets"][0], tree["streets"][0])
    assert under_own.value.details == {"field": "parent"}
    with pytest.raises(ValidationError):
        move_organization(city_admin, district, tree["streets"][0])
    assert _paths() == before


def test_a_node_keeps_its_level(tree, city_admin):
    before = _paths()
    with pytest.raises(ValidationError) as wrong_level:
        move_organization(city_admin, tree["communities"][0], tree["districts"][1])
    assert "community cannot be placed under a district" in wrong_level.value.render_message()
    with pytest.raises(ValidationError):
        move_organization(city_admin, tree["city"], tree["districts"][1])
    assert _paths() == before


def test_a_sibling_of_the_same_name_at_the_new_place_refuses_the_move(tree, city_admin):
    community = tree["communities"][0]
    create_organization(community.name, "community", tree["streets"][1])
    before = _paths()
    with pytest.raises(Conflict) as taken:
        move_organization(city_admin, community, tree["streets"][1])
    assert taken.value.details["field"] == "name"
    assert _paths() == before


def test_a_node_never_moves_to_another_city(build, tree):
    other_city = create_organization("Other City", "city")
    other_district = create_organization("Far District", "district", other_city)
    admin = build.staff("admin", tree["city"])
    build.staff("admin", other_city, username="twocities")
    from points_service.accounts.service import grant_role

    grant_role(admin, "admin", other_city)
    before = _paths()
    with pytest.raises(ValidationError) as refused:
        move_organization(admin, tree["streets"][0], other_district)
    assert "another city" in refused.value.render_message()
    assert _paths() == before


def test_service_records_waiting_for_approval_hold_the_move_back(build, tree, city_admin):
    build.service_rules()
    volunteer = build.volunteer(tree["communities"][0])
    build.record(volunteer, entered_by=build.staff("organizer", tree["communities"][0]))
    before = _paths()
    with pytest.raises(Conflict) as waiting:
        move_organization(city_admin, tree["streets"][0], tree["districts"][1])
    assert "wait for approval" in waiting.value.render_message()
    assert _paths() == before


def test_only_an_administrator_of_the_old_and_the_new_place_moves_a_node(build, tree):
    district_admin = build.staff("admin", tree["districts"][0])
    before = _paths()
    with pytest.raises(PermissionDenied):
        move_organization(district_admin, tree["communities"][0], tree["streets"][1])
    assert move_targets(district_admin, tree["communities"][0]) == []
    with pytest.raises(NotFound):
        get_managed_organization(district_admin, tree["communities"][2].id)
    assert _paths() == before


def test_move_targets_are_the_level_above_in_the_same_city_other_than_the_parent(tree, city_admin):
    assert move_targets(city_admin, tree["communities"][0]) == [tree["streets"][1]]
    assert move_targets(city_admin, tree["city"]) == []


def test_renaming_checks_sibling_names_and_records_before_and_after(build, tree, city_admin):
    street = tree["streets"][0]
    with pytest.raises(Conflict):
        rename_organization(city_admin, tree["communities"][0], tree["communities"][1].name)
    with pytest.raises(ValidationError):
        rename_organization(city_admin, street, "a/b")
    outsider = build.staff("admin", tree["districts"][1])
    with pytest.raises(PermissionDenied):
        rename_organization(outsider, street, "Elsewhere")

    rename_organization(city_admin, street, "  Harmony Street ")

    db.session.expire_all()
    assert db.session.get(Organization, street.id).name == "Harmony Street"
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "organization.rename")).scalar_one()
    assert event.before == {"name": "Street 1"} and event.after == {"name": "Harmony Street"}


def test_a_person_adds_a_node_only_where_they_manage(build, tree):
    outsider = build.staff("admin", tree["districts"][1])
    with pytest.raises(PermissionDenied):
        create_organization("New Street", "street", tree["districts"][0], actor=outsider)
    node = create_organization("New Street", "street", tree["districts"][1], actor=outsider)
    assert node.parent_id == tree["districts"][1].id
