"""The desk's manual adjustments: find a volunteer, credit or debit with a reason and a
category, a second administrator above the threshold, never an overdraft."""

import uuid

import pytest
from sqlalchemy import func, select

from points_service.audit.models import AuditEvent
from points_service.changes.models import ChangeRequest
from points_service.extensions import db
from points_service.ledger.models import LedgerEntry
from tests.builders import PASSWORD


@pytest.fixture
def district(build):
    return build.tree()["districts"][0]


@pytest.fixture
def admin(build, district):
    return build.staff("admin", district)


@pytest.fixture
def volunteer(build):
    return build.volunteer(points=100, name="Chen Jing", mobile="13912345678")


@pytest.fixture
def signed_in(client, auth, admin):
    auth.login(admin.username, PASSWORD)
    return client


def adjust(client, volunteer, points, direction="credit", category="goodwill", reason="Helped at the flood", key=None):
    return client.post(
        f"/admin/adjustments/volunteers/{volunteer.volunteer.id}",
        data={
            "points": str(points),
            "direction": direction,
            "category": category,
            "reason": reason,
            "idempotency_key": key or str(uuid.uuid4()),
        },
    )


def adjust_entries():
    db.session.expire_all()
    return db.session.execute(select(LedgerEntry).where(LedgerEntry.kind == "adjust")).scalars().all()


def balance(build, volunteer):
    db.session.expire_all()
    return build.account(volunteer).balance


def test_a_volunteer_is_found_by_member_number_mobile_or_name_and_shown_masked(build, signed_in, volunteer):
    outsider = build.volunteer(build.tree()["communities"][3], name="Chen Jun")
    for query in (volunteer.volunteer.member_no, "139 1234 5678", "Chen"):
        response = signed_in.post("/admin/adjustments", data={"query": query})
        page = response.get_data(as_text=True)
        assert f"/admin/adjustments/volunteers/{volunteer.volunteer.id}" in page, query
        assert "Chen Jing" not in page.replace(f'value="{query}"', "") and "C********" in page
        assert "139****5678" in page and volunteer.volunteer.member_no[-4:] in page
        assert f"/admin/adjustments/volunteers/{outsider.volunteer.id}" not in page
    assert signed_in.post("/admin/adjustments", data={"query": " "}).status_code == 422


def test_an_adjustment_up_to_the_threshold_applies_at_once_with_its_category_and_reason(
    build, signed_in, volunteer, admin
):
    response = adjust(signed_in, volunteer, 150, category="goodwill", reason="Helped at the flood")

    assert response.status_code == 302
    assert balance(build, volunteer) == 250
    [entry] = adjust_entries()
    assert (entry.delta, entry.note, entry.details["category"], entry.actor_id) == (
        150,
        "Helped at the flood",
        "goodwill",
        admin.id,
    )
    [event] = db.session.execute(select(AuditEvent).where(AuditEvent.action == "ledger.adjust")).scalars()
    assert (event.before, event.after["balance"], event.after["category"]) == ({"balance": 100}, 250, "goodwill")
    assert "+150 points; the balance is now 250." in signed_in.get(response.headers["Location"]).get_data(as_text=True)


def test_the_same_form_sent_twice_adjusts_once(build, signed_in, volunteer):
    key = str(uuid.uuid4())
    adjust(signed_in, volunteer, 20, key=key)
    adjust(signed_in, volunteer, 20, key=key)
    assert balance(build, volunteer) == 120
    assert len(adjust_entries()) == 1


def test_above_the_threshold_a_second_admin_approves_and_the_author_cannot(
    build, client, auth, signed_in, volunteer, admin, district
):
    response = adjust(signed_in, volunteer, 500, category="correction", reason="Paper records of March")
    assert response.status_code == 302
    assert balance(build, volunteer) == 100 and adjust_entries() == []
    [request] = db.session.execute(select(ChangeRequest)).scalars()
    assert (request.kind, request.author_id, request.status) == ("points.adjust", admin.id, "pending")

    signed_in.post(f"/admin/approvals/{request.id}/decision", data={"decision": "approve"})
    db.session.expire_all()
    assert db.session.get(ChangeRequest, request.id).status == "pending" and balance(build, volunteer) == 100

    auth.logout()
    reviewer = build.staff("admin", district)
    auth.login(reviewer.username, PASSWORD)
    page = client.get(f"/admin/approvals/{request.id}").get_data(as_text=True)
    for shown in ("C********", "+500", "correction", "Paper records of March", "600"):
        assert shown in page
    assert "Chen Jing" not in page
    client.post(f"/admin/approvals/{request.id}/decision", data={"decision": "approve"})

    assert balance(build, volunteer) == 600
    [entry] = adjust_entries()
    assert (entry.actor_id, entry.details) == (reviewer.id, {"category": "correction", "requested_by": admin.id})


def test_a_debit_never_overdraws_and_the_page_says_so(build, signed_in, volunteer):
    response = adjust(signed_in, volunteer, 150, direction="debit", category="recovery")
    assert response.status_code == 409
    assert "would take the balance below zero: 150 points asked, 100 available" in response.get_data(as_text=True)
    large = adjust(signed_in, volunteer, 300, direction="debit", category="recovery")
    assert large.status_code == 409
    assert balance(build, volunteer) == 100
    assert adjust_entries() == [] and db.session.execute(select(func.count(ChangeRequest.id))).scalar_one() == 0


def test_bad_input_is_refused_naming_the_field_and_nothing_changes(build, signed_in, volunteer):
    assert "Points must be a whole number" in adjust(signed_in, volunteer, "1.5").get_data(as_text=True)
    assert "Choose a category" in adjust(signed_in, volunteer, 5, category="bonus").get_data(as_text=True)
    assert "A reason of 1 to 255" in adjust(signed_in, volunteer, 5, reason=" ").get_data(as_text=True)
    assert adjust(signed_in, volunteer, 5, direction="sideways").status_code == 422
    assert balance(build, volunteer) == 100


def test_the_volunteer_sees_the_adjustment_with_its_category_and_reason_escaped(
    build, client, auth, signed_in, volunteer
):
    adjust(signed_in, volunteer, 30, category="goodwill", reason="<b>Flood</b> relief")
    auth.logout()
    auth.login(volunteer.mobile, PASSWORD)
    page = client.get("/me/").get_data(as_text=True)
    assert "Goodwill · Adjusted by an administrator: &lt;b&gt;Flood&lt;/b&gt; relief" in page


def test_an_admin_of_another_district_finds_nobody_and_changes_nothing(build, client, auth, volunteer):
    outsider = build.staff("admin", build.tree()["districts"][1])
    auth.login(outsider.username, PASSWORD)
    page = client.post("/admin/adjustments", data={"query": volunteer.volunteer.member_no}).get_data(as_text=True)
    assert "No volunteer in your area matches." in page
    assert client.get(f"/admin/adjustments/volunteers/{volunteer.volunteer.id}").status_code == 404
    assert adjust(client, volunteer, 10).status_code == 404
    assert balance(build, volunteer) == 100


def test_organizers_and_counter_staff_are_refused(build, client, auth, volunteer):
    for user in (build.organizer(), build.staff("counter")):
        auth.login(user.username, PASSWORD)
        assert client.get("/admin/adjustments").status_code == 403
        assert adjust(client, volunteer, 10).status_code == 403
        auth.logout()
    assert balance(build, volunteer) == 100
