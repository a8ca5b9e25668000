"""The public faces: GET /api/v1/honor-rolls[/{id}] and the /honor/ pages, with no login."""

from datetime import date, timedelta

import pytest

from points_service.honor import service as honor

from .conftest import MARCH_FIRST_UTC, serve


@pytest.fixture
def rolls(build, tree):
    volunteer = build.volunteer(name="张三丰")
    serve(build, volunteer, MARCH_FIRST_UTC + timedelta(days=1), minutes=90)
    published = build.honor_roll(tree["city"])
    draft = build.honor_roll(tree["city"], metric="points", publish=False)
    return {"published": published, "draft": draft, "volunteer": volunteer}


def test_the_api_serves_a_published_roll_without_a_token_with_masked_names(client, rolls):
    response = client.get(f"/api/v1/honor-rolls/{rolls['published'].id}")

    assert response.status_code == 200
    body = response.get_json()
    assert body["metric"] == "hours" and body["unit"] == "minutes"
    assert body["period_start"] == "2026-03-01" and body["period_end"] == "2026-04-01"
    assert body["entries"] == [{"rank": 1, "display_name": "张**", "value": 90, "home_community": "Community 1.1"}]
    text = response.get_data(as_text=True)
    assert "张三丰" not in text
    assert rolls["volunteer"].volunteer.member_no not in text
    assert "volunteer_id" not in text


def test_the_api_does_not_find_drafts_and_answers_in_the_one_error_shape(client, rolls):
    for roll_id in (rolls["draft"].id, 2147483647):
        response = client.get(f"/api/v1/honor-rolls/{roll_id}", headers={"Accept-Language": "zh-CN"})
        assert response.status_code == 404
        error = response.get_json()["error"]
        assert error["code"] == "honor_roll_not_found"
        assert set(error) == {"code", "message", "details"}


def test_the_api_lists_published_rolls_page_by_page(build, client, tree, rolls):
    second = build.honor_roll(tree["city"], period_start=date(2026, 2, 1))

    first_page = client.get("/api/v1/honor-rolls?limit=1").get_json()
    assert [roll["id"] for roll in first_page["honor_rolls"]] == [second.id]
    second_page = client.get(f"/api/v1/honor-rolls?limit=1&cursor={first_page['next_cursor']}").get_json()
    assert [roll["id"] for roll in second_page["honor_rolls"]] == [rolls["published"].id]
    assert second_page["next_cursor"] is None
    district = tree["districts"][1].id
    assert client.get(f"/api/v1/honor-rolls?organization_id={district}").get_json()["honor_rolls"] == []


def test_the_api_takes_no_writes(client, rolls):
    assert client.post(f"/api/v1/honor-rolls/{rolls['published'].id}").status_code == 405


def test_the_openapi_document_marks_the_honor_rolls_public(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/honor-rolls/{roll_id}"]["get"]
    assert operation["security"] == []
    assert "404" in operation["responses"]


def test_the_public_pages_show_published_rolls_only(client, rolls):
    listing = client.get("/honor/")
    assert listing.status_code == 200
    assert honor.honor_roll_title(rolls["published"]) in listing.get_data(as_text=True)
    assert honor.honor_roll_title(rolls["draft"]) not in listing.get_data(as_text=True)

    page = client.get(f"/honor/{rolls['published'].id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "张**" in text and "张三丰" not in text
    assert "1 h 30 min" in text
    assert client.get(f"/honor/{rolls['draft'].id}").status_code == 404


def test_a_roll_page_shows_whole_hours_plainly_and_explains_equal_values(build, client, tree):
    first, second = build.volunteer(name="赵一"), build.volunteer(name="钱二")
    serve(build, first, MARCH_FIRST_UTC + timedelta(days=1), minutes=120)
    serve(build, second, MARCH_FIRST_UTC + timedelta(days=2), minutes=120)
    tied = build.honor_roll(tree["city"])

    text = client.get(f"/honor/{tied.id}").get_data(as_text=True)

    assert "2 h" in text and "2 h 0 min" not in text
    assert "reached the value first ranks higher" in text
    assert [entry.display_name for entry in tied.entries] == ["赵*", "钱*"]


def test_a_roll_without_equal_values_says_nothing_about_ties(client, rolls):
    text = client.get(f"/honor/{rolls['published'].id}").get_data(as_text=True)
    assert "reached the value first" not in text
