"""The organizer's approve-all page says which records the rule table cannot rate and what to do."""

import pytest

from points_service.activities import service as activities
from points_service.rules import service as rules
from tests.builders import PASSWORD


@pytest.fixture
def organizer(build, auth):
    build.service_rules()
    user = build.organizer()
    auth.login(user.username, PASSWORD)
    return user


def test_approving_an_activity_lists_the_records_the_rules_cannot_rate_and_keeps_them_pending(client, build, organizer):
    table = build.service_rules()
    rules.create_category(None, "tutoring", "Homework tutoring", "课业辅导")  # after the table was published
    activity = build.activity(category="tutoring")
    records = build.checked_in_roster(activity, [build.volunteer(), build.volunteer()])

    response = client.post(
        f"/organizer/activities/{activity.id}/approve", data={"record": [str(r.id) for r in records]}
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)

    assert "0 approved. 2 records stay pending: The rule table" in page
    assert "no rate for the category Homework tutoring and no default rate" in page
    assert f"rules-export {table.id}" in page
    assert {activities.get_record(r.id).status for r in records} == {"pending"}
