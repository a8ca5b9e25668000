import pytest

from points_service.errors import NotFound, ValidationError
from points_service.organizations.models import Organization
from points_service.organizations.service import create_organization, find_organization, subtree_ids


def test_a_subtree_contains_its_descendants_and_not_its_siblings(build):
    tree = build.tree()
    district = tree["districts"][0]
    assert district.contains(tree["communities"][0])
    assert not district.contains(tree["communities"][2])
    assert set(subtree_ids(district)) == {district.id, tree["streets"][0].id} | {c.id for c in tree["communities"][:2]}


def test_levels_must_follow_city_district_street_community(build):
    city = build.tree()["city"]
    count = Organization.query.count()
    with pytest.raises(ValidationError):
        create_organization("Wrong", "community", city)
    with pytest.raises(ValidationError):
        create_organization("Orphan", "district")
    with pytest.raises(ValidationError):
        create_organization("", "district", city)
    assert Organization.query.count() == count


def test_unknown_organization_is_not_found(build):
    build.tree()
    with pytest.raises(NotFound):
        find_organization("No such place")
    with pytest.raises(NotFound):
        find_organization("99999")


def test_a_sibling_with_the_same_name_or_an_unknown_time_zone_is_refused_and_nothing_added(build):
    from points_service.errors import Conflict

    tree = build.tree()
    district = tree["districts"][0]
    count = Organization.query.count()
    existing = tree["streets"][0]
    with pytest.raises(Conflict) as taken:
        create_organization(f"  {existing.name} ", "street", district)
    assert taken.value.details["organization_id"] == existing.id
    with pytest.raises(ValidationError) as zone:
        create_organization("New street", "street", district, timezone="Mars/Olympus")
    assert zone.value.details == {"field": "timezone"}
    assert Organization.query.count() == count

    elsewhere = create_organization(existing.name, "street", tree["districts"][1])  # another parent: fine
    assert elsewhere.parent_id == tree["districts"][1].id


def test_a_new_node_inherits_its_parents_time_zone_and_is_audited(build):
    from points_service.audit.models import AuditEvent

    city = create_organization("Harbour City", "city", timezone="Asia/Hong_Kong")
    district = create_organization("North", "district", city)

    assert district.timezone == "Asia/Hong_Kong"
    assert city.contains(district) and district.path == f"{city.path}{district.id}/"
    events = AuditEvent.query.filter_by(action="organization.create").order_by(AuditEvent.id).all()
    assert [event.target_id for event in events][-2:] == [str(city.id), str(district.id)]
    assert events[-1].after["parent_id"] == city.id
