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
