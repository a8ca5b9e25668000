"""The holiday calendar page of the desk: each special day with where its kind comes
from, overrides added and removed, a year's calendar entered from a file, re-rating."""

import io
from datetime import date

import pytest
from sqlalchemy import func, select

from points_service.extensions import db
from points_service.rules import service as rules
from points_service.rules.models import HolidayCalendar, HolidayOverride
from tests.builders import PASSWORD
from tests.rules.test_calendar_years import without_package_data  # noqa: F401  (a fixture)

NATIONAL_DAY_2026 = date(2026, 10, 1)
ORDINARY_MONDAY = date(2026, 3, 9)


@pytest.fixture
def tree(build):
    return build.tree()


@pytest.fixture
def city_admin(build, tree, auth):
    admin = build.staff("admin", tree["city"])
    auth.login(admin.username, PASSWORD)
    return admin


def _overrides():
    db.session.expire_all()
    return db.session.execute(select(HolidayOverride)).scalars().all()


def test_the_page_shows_each_special_day_with_its_source_and_offers_next_year(client, city_admin):
    page = client.get("/admin/calendar?org=global&year=2026").get_data(as_text=True)

    assert "Package data: the chinese-calendar package" in page
    assert 'data-day="2026-10-01"' in page and "Public holiday" in page
    swapped_sunday = page[page.index('data-day="2026-09-20"') :]
    assert swapped_sunday.index("Workday") < swapped_sunday.index("</tr>")  # a swapped working day
    assert "Next year" in page
    assert 'href="/admin/calendar"' in client.get("/admin/").get_data(as_text=True)


def test_a_year_no_source_knows_is_shown_as_missing(client, city_admin, without_package_data):  # noqa: F811
    without_package_data.add(2027)
    page = client.get("/admin/calendar?org=global&year=2027").get_data(as_text=True)
    assert "Missing: no source knows the public holidays of 2027" in page


def test_a_year_out_of_range_is_refused_naming_the_year(client, city_admin):
    response = client.get("/admin/calendar?year=1066")
    assert response.status_code == 400
    assert "Choose a year from 2000 to 2100." in response.get_data(as_text=True)


def test_an_admin_adds_an_override_that_is_listed_with_who_and_why_and_rates_later_records(client, city_admin, tree):
    community = tree["communities"][0]
    response = client.post(
        "/admin/calendar/overrides",
        data={
            "org": str(tree["districts"][0].id),
            "day": ORDINARY_MONDAY.isoformat(),
            "kind": "holiday",
            "note": "Local festival",
        },
    )
    assert response.status_code == 302

    page = client.get(f"/admin/calendar?org={community.id}&year=2026").get_data(as_text=True)
    assert "Local festival" in page and city_admin.name in page and "District 1" in page
    assert "Override" in page and "the calendar says: Workday" in page
    assert rules.classify_day_for(community, ORDINARY_MONDAY).kind == "holiday"


def test_an_override_is_removed_from_the_page(client, city_admin, tree):
    district = tree["districts"][0]
    rules.set_holiday_override(city_admin, NATIONAL_DAY_2026, "workday", "Flood duty", district)

    response = client.post(
        "/admin/calendar/overrides/remove",
        data={"org": str(district.id), "day": NATIONAL_DAY_2026.isoformat(), "year": "2026"},
    )

    assert response.status_code == 302
    assert _overrides() == []
    assert rules.classify_day_for(district, NATIONAL_DAY_2026).kind == "holiday"


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"day": "2026-02-30", "kind": "holiday", "note": "x"}, 422, "Enter a date as YYYY-MM-DD."),
        ({"day": "0001-01-01", "kind": "holiday", "note": "x"}, 422, "Choose a date from 2000 to 2100."),
        ({"day": "9999-12-31", "kind": "holiday", "note": "x"}, 422, "Choose a date from 2000 to 2100."),
        ({"day": "yesterday", "kind": "holiday", "note": "x"}, 422, "Enter a date as YYYY-MM-DD."),
        ({"day": "2026-03-09", "kind": "weekend", "note": "x"}, 422, "must be &#39;holiday&#39; or &#39;workday&#39;"),
        ({"day": "2026-03-09", "kind": "holiday", "note": "  "}, 400, "Say why this day is different."),
        ({"day": "2026-03-09", "kind": "holiday", "note": "x" * 201}, 422, "at most 200 characters"),
        ({"day": "2026-03\x00-09", "kind": "holiday", "note": "x"}, 400, "control character"),
    ],
)
def test_a_bad_override_is_refused_with_the_field_named_and_nothing_is_saved(
    client, city_admin, tree, data, status, message
):
    response = client.post("/admin/calendar/overrides", data={"org": str(tree["city"].id), **data})
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert _overrides() == []


def test_an_admin_enters_a_years_calendar_from_a_file_and_sees_who_entered_it(
    client,
    city_admin,
    tree,
    without_package_data,  # noqa: F811
):
    without_package_data.add(2027)
    content = "date,kind,name\n2027-01-01,holiday,元旦\n2027-10-01,holiday,国庆节\n2027-10-09,workday,国庆节\n"
    response = client.post(
        "/admin/calendar/import",
        data={
            "org": "global",
            "year": "2027",
            "source": "国办发明电〔2026〕1号",
            "file": (io.BytesIO(content.encode()), "2027.csv"),
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )

    page = response.get_data(as_text=True)
    assert "The calendar of 2027 is entered." in page and "Re-rated 0 approved records of 2027" in page
    assert "An entered calendar" in page and "国办发明电〔2026〕1号" in page and city_admin.name in page
    assert 'data-day="2027-10-09"' in page
    assert rules.classify_day_for(tree["communities"][0], date(2027, 10, 9)).kind == "workday"


def test_a_calendar_file_with_a_wrong_line_is_refused_whole_with_the_lines_listed(
    client,
    city_admin,
    without_package_data,  # noqa: F811
):
    without_package_data.add(2027)
    content = "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-30,holiday,春节\n2027-10-08,workday,国庆节\n"
    response = client.post(
        "/admin/calendar/import",
        data={"org": "global", "year": "2027", "file": (io.BytesIO(content.encode()), "2027.csv")},
        content_type="multipart/form-data",
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "nothing was saved" in page
    assert "Enter the date as YYYY-MM-DD." in page and "cannot be a swapped working day" in page
    assert db.session.execute(select(func.count(HolidayCalendar.id))).scalar_one() == 0


def test_importing_without_a_file_or_with_a_bad_year_names_the_field(client, city_admin):
    no_file = client.post("/admin/calendar/import", data={"org": "global", "year": "2027"})
    assert no_file.status_code == 422 and "Choose the file to import." in no_file.get_data(as_text=True)
    bad_year = client.post(
        "/admin/calendar/import",
        data={"org": "global", "year": "20x7", "file": (io.BytesIO(b"date,kind,name\n"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert bad_year.status_code == 422 and "Choose a year from 2000 to 2100." in bad_year.get_data(as_text=True)


def test_the_re_rate_button_reports_what_it_did(client, city_admin):
    page = client.post("/admin/calendar/rerate", data={"org": "global", "year": "2026"}, follow_redirects=True)
    assert "Re-rated 0 approved records of 2026" in page.get_data(as_text=True)


def test_a_community_admin_sees_their_tree_but_not_another_community_nor_the_deployment(client, build, tree, auth):
    mine, other = tree["communities"][0], tree["communities"][3]
    admin = build.staff("admin", mine)
    auth.login(admin.username, PASSWORD)

    page = client.get("/admin/calendar?year=2026").get_data(as_text=True)
    assert "Community 1.1" in page and "Community 2.2" not in page
    assert "Whole deployment (every organization)" not in page
    assert "calendar is entered for the whole deployment or for a city" in page
    assert client.get(f"/admin/calendar?org={other.id}").status_code == 404
    assert client.get("/admin/calendar?org=global").status_code == 404
    assert client.get("/admin/calendar?org=99999999999").status_code == 404

    for org in (str(other.id), "global"):
        data = {"org": org, "day": "2026-03-09", "kind": "holiday", "note": "x"}
        assert client.post("/admin/calendar/overrides", data=data).status_code == 404
    rules.set_holiday_override(None, NATIONAL_DAY_2026, "workday", "city", tree["city"])
    removal = {"org": str(other.id), "day": NATIONAL_DAY_2026.isoformat()}
    assert client.post("/admin/calendar/overrides/remove", data=removal).status_code == 404
    assert client.post("/admin/calendar/rerate", data={"org": str(other.id), "year": "2026"}).status_code == 404
    assert [(o.organization_id, o.note) for o in _overrides()] == [(tree["city"].id, "city")]

    # Their own community: an override is theirs to set, the city's is not theirs to remove.
    data = {"org": str(mine.id), "day": "2026-03-09", "kind": "holiday", "note": "Our festival"}
    assert client.post("/admin/calendar/overrides", data=data).status_code == 302
    page = client.get(f"/admin/calendar?org={mine.id}&year=2026").get_data(as_text=True)
    assert page.count(">Remove</button>") == 1


def test_organizers_and_counter_staff_get_no_calendar_page(client, build, auth):
    for user in (build.staff("organizer"), build.staff("counter")):
        auth.login(user.username, PASSWORD)
        assert client.get("/admin/calendar").status_code == 403
        data = {"org": str(build.community.id), "day": "2026-03-09", "kind": "holiday", "note": "x"}
        assert client.post("/admin/calendar/overrides", data=data).status_code == 403
        auth.logout()
    assert _overrides() == []


def test_the_page_speaks_chinese(client, city_admin):
    page = client.get("/admin/calendar?org=global&year=2026", headers={"Accept-Language": "zh-CN"})
    text = page.get_data(as_text=True)
    assert "节假日日历" in text and "法定节假日" in text
    assert "国庆节" in text and "National Day" not in text  # the package's names, in Chinese
