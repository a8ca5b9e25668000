from points_service.accounts.service import adjust_volunteer_points
from points_service.ledger import service as ledger


def _earn(build, volunteer, times):
    account = build.account(volunteer)
    for number in range(times):
        ledger.earn_points(account.id, number + 1, reason="test earning", cause_type="test", cause_id=f"e{number}")


def test_entries_come_newest_first_with_reasons_and_a_cursor(client, build):
    volunteer = build.volunteer()
    _earn(build, volunteer, 5)
    headers = build.bearer(build.staff("counter", build.community))
    url = f"/api/v1/members/{volunteer.volunteer.member_no}/entries"

    first = client.get(url + "?limit=2", headers=headers).json
    assert [entry["points"] for entry in first["entries"]] == [5, 4]
    assert first["entries"][0]["balance_after"] == 15
    assert first["entries"][0]["reason"] == "test earning" and first["entries"][0]["kind"] == "earn"
    second = client.get(url + f"?limit=2&cursor={first['next_cursor']}", headers=headers).json
    assert [entry["points"] for entry in second["entries"]] == [3, 2]
    last = client.get(url + f"?limit=2&cursor={second['next_cursor']}", headers=headers).json
    assert [entry["points"] for entry in last["entries"]] == [1]
    assert last["next_cursor"] is None


def test_page_size_is_bounded(client, build):
    volunteer = build.volunteer()
    headers = build.bearer(build.staff("counter", build.community))
    url = f"/api/v1/members/{volunteer.volunteer.member_no}/entries"
    for bad in ("limit=0", "limit=101", "limit=x", "cursor=-1", "cursor=abc"):
        response = client.get(f"{url}?{bad}", headers=headers)
        assert response.status_code == 422, bad
        assert response.json["error"]["code"] == "invalid"


def test_volunteer_reads_their_own_entries_but_not_anothers(client, build):
    volunteer = build.volunteer(points=7)
    other = build.volunteer()
    headers = build.bearer(volunteer)
    own = client.get(f"/api/v1/members/{volunteer.volunteer.member_no}/entries", headers=headers)
    assert own.status_code == 200 and own.json["entries"][0]["points"] == 7
    assert client.get(f"/api/v1/members/{other.volunteer.member_no}/entries", headers=headers).status_code == 403


def test_staff_outside_the_members_subtree_are_refused(client, build):
    volunteer = build.volunteer(points=7)
    far = build.staff("organizer", build.tree()["communities"][3])
    response = client.get(f"/api/v1/members/{volunteer.volunteer.member_no}/entries", headers=build.bearer(far))
    assert response.status_code == 403


def test_a_staff_token_does_not_carry_its_users_own_volunteer_access(client, build):
    clerk = build.staff("counter", build.tree()["communities"][3])
    from points_service.accounts.service import grant_role

    grant_role(clerk, "volunteer", build.community)
    url = f"/api/v1/members/{clerk.volunteer.member_no}/entries"
    assert client.get(url, headers=build.bearer(clerk, role="volunteer")).status_code == 200
    assert client.get(url, headers=build.bearer(clerk, role="counter")).status_code == 403


def test_an_entry_gives_its_reason_in_the_requests_language_and_a_persons_note_as_written(client, build):
    volunteer = build.volunteer(points=50)
    admin = build.staff("admin", build.community)
    adjust_volunteer_points(admin, volunteer.volunteer, 5, "Found paper records")
    url = f"/api/v1/members/{volunteer.volunteer.member_no}/entries?limit=1"

    english = client.get(url, headers=build.bearer(admin)).json["entries"][0]
    chinese = client.get(url, headers=build.bearer(admin, **{"Accept-Language": "zh-CN"})).json["entries"][0]

    assert (english["reason"], english["note"]) == ("Adjusted by an administrator", "Found paper records")
    assert (chinese["reason"], chinese["note"]) == ("管理员调整积分", "Found paper records")
