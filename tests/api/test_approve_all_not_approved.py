"""POST /api/v1/activities/{id}/approve-all lists the records the rule table cannot rate."""

from points_service.rules import service as rules


def test_approve_all_lists_the_records_the_rules_cannot_rate_with_a_code_and_a_message(client, build):
    table = build.service_rules()
    rules.create_category(None, "tutoring", "Homework tutoring", "课业辅导")  # after the table was published
    activity = build.activity(category="tutoring")
    (record,) = build.checked_in_roster(activity, [build.volunteer()])
    headers = {**build.bearer(build.approver()), "Idempotency-Key": build.idempotency_key()}

    response = client.post(f"/api/v1/activities/{activity.id}/approve-all", json={}, headers=headers)

    assert response.status_code == 200, response.json
    assert response.json["approved"] == []
    (refused,) = response.json["not_approved"]
    assert (refused["id"], refused["code"]) == (record.id, "category_not_rated")
    assert f"rules-export {table.id}" in refused["message"]
