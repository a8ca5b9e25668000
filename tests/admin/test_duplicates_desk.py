"""The duplicates page over HTTP: the masked list, the preview, merging, approval, refusals."""

import pytest

from points_service.accounts.models import VolunteerProfile
from points_service.changes.models import ChangeRequest
from points_service.extensions import db
from tests.builders import PASSWORD


@pytest.fixture
def tree(build):
    return build.tree()


@pytest.fixture
def community(tree):
    return tree["communities"][0]


def _log_in(client, user):
    client.post("/logout")
    response = client.post("/login", data={"login": user.username, "password": PASSWORD})
    assert response.status_code == 302


def _merged_into(profile_id):
    db.session.expire_all()
    return db.session.get(VolunteerProfile, profile_id).merged_into_id


def test_the_list_shows_likely_duplicates_masked(client, build, community):
    older = build.volunteer(community, name="Ouyang Xiu")
    newer = build.volunteer(community, name="Ouyang Xiu")
    _log_in(client, build.staff("admin", community))

    page = client.get("/admin/duplicates").get_data(as_text=True)

    assert f"#{older.volunteer.id}" in page and f"#{newer.volunteer.id}" in page
    for secret in ("Ouyang Xiu", older.mobile, newer.mobile, older.volunteer.member_no):
        assert secret not in page
    assert f"/admin/duplicates/{newer.volunteer.id}/into/{older.volunteer.id}" in page


def test_a_merge_with_points_waits_for_a_second_admin_who_approves_it_on_the_desk(client, build, community):
    absorbed = build.volunteer(community, name="Li Lei", points=70)
    survivor = build.volunteer(community, name="Li Lei", points=30)
    author, reviewer = build.staff("admin", community), build.staff("admin", community)
    url = f"/admin/duplicates/{absorbed.volunteer.id}/into/{survivor.volunteer.id}"
    _log_in(client, author)

    preview = client.get(url).get_data(as_text=True)
    assert 'id="points-moved">70<' in preview and "Ask another administrator to approve" in preview
    response = client.post(url)
    request = db.session.execute(db.select(ChangeRequest)).scalar_one()
    assert response.headers["Location"].endswith(f"/admin/approvals/{request.id}")
    assert _merged_into(absorbed.volunteer.id) is None

    _log_in(client, reviewer)
    client.post(f"/admin/approvals/{request.id}/decision", data={"decision": "approve"})

    assert _merged_into(absorbed.volunteer.id) == survivor.volunteer.id
    assert build.account(survivor).balance == 100


def test_a_merge_without_points_applies_at_once(client, build, community):
    absorbed = build.volunteer(community, name="Li Lei")
    survivor = build.volunteer(community, name="Li Lei")
    _log_in(client, build.staff("admin", community))

    response = client.post(f"/admin/duplicates/{absorbed.volunteer.id}/into/{survivor.volunteer.id}")

    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/duplicates")
    assert _merged_into(absorbed.volunteer.id) == survivor.volunteer.id


def test_merging_a_profile_into_itself_is_refused_with_nothing_changed(client, build, community):
    volunteer = build.volunteer(community, name="Li Lei")
    _log_in(client, build.staff("admin", community))
    url = f"/admin/duplicates/{volunteer.volunteer.id}/into/{volunteer.volunteer.id}"

    assert client.get(url).status_code == 422
    client.post(url)
    assert _merged_into(volunteer.volunteer.id) is None


def test_another_communitys_profiles_are_not_found_and_stay_as_they_were(client, build, tree):
    inside, outside = tree["communities"][0], tree["communities"][3]
    mine = build.volunteer(inside, name="Li Lei")
    theirs = build.volunteer(outside, name="Li Lei")
    other_pair = build.volunteer(outside, name="Li Lei")
    _log_in(client, build.staff("admin", inside))

    assert f"#{theirs.volunteer.id}" not in client.get("/admin/duplicates").get_data(as_text=True)
    for absorbed, survivor in ((theirs, mine), (mine, theirs), (theirs, other_pair)):
        url = f"/admin/duplicates/{absorbed.volunteer.id}/into/{survivor.volunteer.id}"
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404
    assert _merged_into(theirs.volunteer.id) is None and _merged_into(mine.volunteer.id) is None


def test_organizers_and_counter_staff_are_refused(client, build, community):
    first = build.volunteer(community, name="Li Lei")
    second = build.volunteer(community, name="Li Lei")
    for role in ("organizer", "counter"):
        _log_in(client, build.staff(role, community))
        assert client.get("/admin/duplicates").status_code == 403
        assert client.post(f"/admin/duplicates/{first.volunteer.id}/into/{second.volunteer.id}").status_code == 403
    assert _merged_into(first.volunteer.id) is None
