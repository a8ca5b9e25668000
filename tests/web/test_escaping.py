"""Text people type is data: every page shows it escaped, never as markup.

One world where every field a person can fill in (names, organization names, activity
title, place and description, category names, notes, evidence, reasons, perk names and
terms, rule set names, import files and cells) holds markup, and every page of every
audience that shows those fields. A page passes when no raw markup of the payload is in
it and each field it shows is there in its escaped form.
"""

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from markupsafe import escape

from points_service.accounts import service as accounts
from points_service.activities import service as activities
from points_service.changes.service import approve_change
from points_service.honor import service as honor
from points_service.organizations.service import create_organization
from points_service.perks import service as perks
from points_service.rules import service as rules
from points_service.timeutil import local_midnight_utc, to_local, utcnow
from tests.builders import PASSWORD
from tests.builders.perks import redeem_with_code, request_key, stars
from tests.builders.rules import CATEGORIES, rules_config

PAYLOAD = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
RAW = ("<script>alert(1)", "<img src=x", "onerror=alert(1)>")
CATEGORY = "escape_care"


# An organization's name cannot hold "/" (it separates the levels of a path).
ORGANIZATION_PAYLOAD = '"><img src=x onerror=alert(1)><script>alert(1)'
ORGANIZATION_LABELS = {"District", "Street", "Community"}


def marked(label):
    return f"{label}{ORGANIZATION_PAYLOAD if label in ORGANIZATION_LABELS else PAYLOAD}"


def assert_escaped(html, *labels):
    for raw in RAW:
        assert raw not in html
    for label in labels:
        assert str(escape(marked(label))) in html, label


@pytest.fixture
def world(build):
    """Everything a person could have typed, holding markup, written through the services."""
    rules.create_category(None, CATEGORY, marked("Cat"), marked("Cat"))
    rates = {code: {"points": 10, "per_minutes": 60} for code in [c for c, _en, _zh in CATEGORIES] + [CATEGORY]}
    build._service_rules = build.rule_set(config=rules_config(rates=rates))
    city = build.tree()["city"]
    district = create_organization(marked("District"), "district", city)
    home = create_organization(
        marked("Community"), "community", create_organization(marked("Street"), "street", district)
    )

    volunteer = build.volunteer(community=home, points=100, name=marked("Vol"))
    member_no = volunteer.volunteer.member_no
    organizer, approver, admin = build.organizer(home), build.approver(home), build.staff("admin", city, "escape-admin")
    clerk = accounts.create_user(username="escape-clerk", name=marked("Clerk"), password=PASSWORD)
    accounts.grant_role(clerk, "counter", district)

    starts = (utcnow() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    activity = activities.create_activity(
        organizer,
        organization=home,
        title=marked("Title"),
        category=CATEGORY,
        place=marked("Place"),
        description=marked("Description"),
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        capacity=10,
    )
    activities.sign_up(volunteer, activity.id)

    base = (utcnow() - timedelta(hours=30)).replace(minute=0, second=0, microsecond=0)

    def entered(hours, **extra):
        start = base + timedelta(hours=hours)
        return activities.enter_record(
            organizer,
            member_no=member_no,
            organization=home,
            category=CATEGORY,
            started_at=start,
            ended_at=start + timedelta(hours=1),
            **extra,
        )

    activities.approve_record(approver, entered(0, note=marked("Note")).id)
    activities.reject_record(approver, entered(2).id, marked("Rejected"))
    activities.approve_record(approver, (reversed_record := entered(4)).id)
    activities.reverse_record(admin, reversed_record.id, marked("Reversed"))
    activities.report_service(
        volunteer,
        category=CATEGORY,
        started_at=base + timedelta(hours=6),
        ended_at=base + timedelta(hours=7),
        evidence=marked("Evidence"),
    )

    perk = build.perk(name=marked("Perk"), venues=[district], points_cost=10, terms=marked("Terms"))
    voided = redeem_with_code(clerk, district, member_no, perk.id, 1, request_key("escape-1"), level_of=stars(0))
    perks.void_redemption(clerk, voided.id, marked("Void"))
    redeem_with_code(clerk, district, member_no, perk.id, 1, request_key("escape-2"), level_of=stars(0))
    reserved = perks.reserve_perk(volunteer, perk.id, 1, request_key("escape-3"), level_of=stars(0))
    accounts.adjust_volunteer_points(admin, volunteer.volunteer, 5, marked("Adjust"))

    year = date(to_local(base, home.timezone).year, 1, 1)
    after_the_year = datetime(year.year + 1, 1, 2)
    roll = honor.compute_honor_roll(None, district, "year", year, "hours", 10, name_style="full", now=after_the_year)
    publication = honor.request_honor_roll_publication(admin, roll.id, now=after_the_year)
    approve_change(build.staff("admin", city), publication.id, now=after_the_year)
    build.rule_set(config=rules_config(rates=rates), publish=False, name=marked("Rules"))

    return {
        "volunteer": volunteer,
        "admin": admin,
        "clerk": clerk,
        "home": home,
        "activity": activity,
        "perk": perk,
        "voided": voided,
        "reserved": reserved,
        "roll": roll,
        # Three days back at 10:00 local: clear of the records above, and the imported hour never
        # crosses midnight whatever time of day the suite runs.
        "import_start": local_midnight_utc(to_local(utcnow(), home.timezone).date() - timedelta(days=3), home.timezone)
        + timedelta(hours=10),
    }


def page(client, url, **kwargs):
    response = client.post(url, **kwargs) if kwargs else client.get(url)
    assert response.status_code in (200, 422), (url, response.status_code)
    return response.get_data(as_text=True)


def test_the_volunteer_pages_show_what_people_typed_escaped(client, auth, world):
    auth.login(world["volunteer"].mobile, PASSWORD)
    activity, perk, reserved = world["activity"], world["perk"], world["reserved"]

    assert_escaped(page(client, "/me/"), "Vol", "Community", "Title", "Perk", "Void", "Adjust")
    assert_escaped(page(client, "/me/activities"), "Title", "Place", "Cat")
    assert_escaped(page(client, f"/me/activities/{activity.id}"), "Title", "Place", "Description", "Cat", "Community")
    assert_escaped(page(client, f"/me/checkin/{activity.id}/0000"), "Title", "Place")
    assert_escaped(page(client, "/me/records"), "Cat", "Rejected", "Reversed")
    assert_escaped(page(client, "/me/records/new"), "Cat")
    assert_escaped(page(client, "/perks/"), "Perk")
    assert_escaped(page(client, f"/perks/{perk.id}"), "Perk", "Terms")
    assert_escaped(page(client, "/perks/vouchers"), "Perk")
    assert_escaped(page(client, f"/perks/vouchers/{reserved.id}"), "Perk")


def test_the_counter_pages_show_what_people_typed_escaped(client, auth, world):
    auth.login("escape-clerk", PASSWORD)
    volunteer, voided, reserved = world["volunteer"], world["voided"], world["reserved"]

    assert_escaped(page(client, "/counter/"), "District", "Perk")
    assert_escaped(page(client, "/counter/scan", data={"code": volunteer.volunteer.member_no}), "Perk")
    assert_escaped(page(client, "/counter/scan", data={"code": reserved.voucher_code}), "Perk")
    assert_escaped(page(client, f"/counter/redemptions/{voided.id}"), "District", "Perk", "Void", "Clerk")
    assert_escaped(page(client, "/counter/scan", data={"code": PAYLOAD}))


def test_the_organizer_pages_show_what_people_typed_escaped(client, auth, world):
    auth.login("escape-admin", PASSWORD)
    activity = world["activity"]

    assert_escaped(page(client, "/organizer/"), "Title")
    assert_escaped(page(client, "/organizer/activities"), "Title", "Place", "Community", "Cat")
    assert_escaped(
        page(client, f"/organizer/activities/{activity.id}"), "Title", "Place", "Description", "Community", "Cat"
    )
    assert_escaped(page(client, "/organizer/records"), "Cat", "Community", "Evidence", "Rejected")
    assert_escaped(page(client, "/organizer/records/new"), "Community", "Cat")
    assert_escaped(page(client, "/organizer/activities/new"), "Community", "Cat")
    assert_escaped(page(client, "/organizer/simulation"), "Rules")


def test_the_form_a_person_sent_back_is_shown_escaped(client, auth, world):
    home = world["home"]
    assert_escaped(page(client, "/login", data={"login": marked("Login"), "password": "wrong-password-1"}), "Login")
    assert_escaped(page(client, "/register"), "Community")
    registration = {"name": marked("Reg"), "mobile": "1", "community": home.id, "password": "x", "consent": "y"}
    assert_escaped(page(client, "/register", data=registration), "Reg")

    auth.login("escape-admin", PASSWORD)
    activity_form = {
        "organization": home.id,
        "title": marked("Form"),
        "category": CATEGORY,
        "place": marked("Where"),
        "starts_at": "2030-05-01T11:00",
        "ends_at": "2030-05-01T09:00",
        "capacity": "5",
        "description": marked("Said"),
    }
    assert_escaped(page(client, "/organizer/activities/new", data=activity_form), "Form", "Where", "Said")


def spreadsheet(member_no, category, start, note):
    local = to_local(start, "Asia/Shanghai")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Member number", "Category", "Date", "Start", "End", "Urgent", "Note"])
    end = local + timedelta(hours=1)
    writer.writerow([member_no, category, local.date(), local.strftime("%H:%M"), end.strftime("%H:%M"), "", note])
    return io.BytesIO(out.getvalue().encode())


def test_imported_files_and_cells_are_shown_escaped(client, auth, world):
    auth.login("escape-admin", PASSWORD)
    member_no, home, start = world["volunteer"].volunteer.member_no, world["home"], world["import_start"]

    refused = page(
        client,
        "/organizer/imports",
        data={"organization": home.id, "file": (spreadsheet(member_no, marked("Kind"), start, ""), "hours.csv")},
        content_type="multipart/form-data",
    )
    assert_escaped(refused, "Kind")

    imported = client.post(
        "/organizer/imports",
        data={
            "organization": home.id,
            "file": (spreadsheet(member_no, CATEGORY, start, marked("Cell")), "<script>alert(1)</script>.csv"),
        },
        content_type="multipart/form-data",
    )
    assert imported.status_code == 302
    listing = page(client, "/organizer/imports")
    assert_escaped(listing)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.csv" in listing
    assert_escaped(page(client, "/organizer/records"), "Cell")


def test_the_public_pages_show_what_people_typed_escaped(client, world):
    assert_escaped(page(client, "/"))
    assert_escaped(page(client, "/honor/"), "District")
    assert_escaped(page(client, f"/honor/{world['roll'].id}"), "District", "Vol", "Community")
