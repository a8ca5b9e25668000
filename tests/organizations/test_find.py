"""find_organization: the one node a person means, by #id, name or path; two nodes with the
same name are never silently confused."""

import pytest

from points_service.errors import NotFound, ValidationError
from points_service.organizations.service import create_organization, find_organization, organization_paths


@pytest.fixture
def twins(build):
    """Two communities named 光明社区, one under each street of the test city."""
    tree = build.tree()
    return [create_organization("光明社区", "community", street) for street in tree["streets"]]


def test_a_name_two_nodes_share_is_refused_with_the_id_and_path_of_each(twins):
    first, second = twins

    with pytest.raises(ValidationError) as refused:
        find_organization("光明社区")

    message = refused.value.render_message()
    assert f"#{first.id} Test City/District 1/Street 1/光明社区" in message
    assert f"#{second.id} Test City/District 2/Street 2/光明社区" in message
    assert refused.value.details == {"field": "organization", "matches": [first.id, second.id]}


@pytest.mark.parametrize(
    ("reference", "which"),
    [
        ("Test City/District 1/Street 1/光明社区", 0),
        ("Street 2/光明社区", 1),
        ("  District 2 / Street 2 / 光明社区 ", 1),
        ("/Test City/District 1/Street 1/光明社区", 0),
        ("#{0}", 0),
        ("id:{1}", 1),
        ("ID: {1}", 1),
        ("{0}", 0),
    ],
)
def test_a_path_from_any_level_or_an_id_picks_exactly_one(twins, reference, which):
    reference = reference.format(*(node.id for node in twins))
    assert find_organization(reference) is twins[which]


@pytest.mark.parametrize(
    "reference",
    ["District 1/光明社区", "/Street 1/光明社区", "Street 1//光明社区", "Nowhere/光明社区", "", "#", "#99999"],
)
def test_a_path_that_fits_nothing_is_not_found(twins, reference):
    with pytest.raises(NotFound):
        find_organization(reference)


def test_an_id_that_is_also_a_name_is_ambiguous(build):
    tree = build.tree()
    street = tree["streets"][0]
    numbered = create_organization(str(tree["city"].id), "community", street)

    with pytest.raises(ValidationError, match="fits 2 organizations"):
        find_organization(str(tree["city"].id))
    assert find_organization(f"#{tree['city'].id}") is tree["city"]
    assert find_organization(f"Street 1/{tree['city'].id}") is numbered


def test_a_unique_name_still_works_alone(build):
    district = build.tree()["districts"][1]
    assert find_organization("District 2") is district


def test_names_with_the_path_separator_are_refused(build):
    with pytest.raises(ValidationError) as refused:
        create_organization("A/B", "district", build.tree()["city"])
    assert refused.value.details == {"field": "name"}


def test_paths_name_every_level_from_the_city(build, twins):
    paths = organization_paths([twins[1], build.tree()["city"]])
    assert paths == {twins[1].id: "Test City/District 2/Street 2/光明社区", build.tree()["city"].id: "Test City"}
