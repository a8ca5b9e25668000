"""A volunteer's own account: mobile number, honor-roll opt-out, a copy of their data, deletion."""

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from points_service.accounts.models import User
from points_service.accounts.service import volunteer_by_member_number
from points_service.activities import service as activities
from points_service.audit.models import AuditEvent
from points_service.checks import run_all_checks
from points_service.errors import Conflict, NotFound, ValidationError
from points_service.extensions import db
from points_service.ledger.models import LedgerEntry
from points_service.myaccount import service as myaccount
from points_service.perks import service as perks
from points_service.timeutil import utcnow
from tests.builders import PASSWORD
from tests.builders.perks import request_key, stars


@pytest.fixture
def volunteer(build):
    return build.volunteer(points=120, name="王小明", mobile="13900000001")


@pytest.fixture
def signed_in(client, auth, volunteer):
    db.session.commit()
    auth.login(volunteer.mobile, PASSWORD)
    return volunteer


def test_the_mobile_number_changes_with_the_password_and_becomes_the_login(client, auth, signed_in):
    refused = client.post("/account/mobile", data={"mobile": "13900000002", "password": "not-it"})
    assert refused.status_code == 422 and "current password is not right" in refused.get_data(as_text=True)
    response = client.post("/account/mobile", data={"mobile": "１３９ ００００ ０００２", "password": PASSWORD})
    assert response.status_code == 302
    db.session.expire_all()
    assert signed_in.mobile == "13900000002"
    auth.logout()
    assert auth.login("13900000002", PASSWORD).status_code == 302
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "account.mobile_change")).scalar_one()
    assert "13900000002" not in json.dumps([event.before, event.after])  # no personal data in the audit log


def test_a_mobile_number_of_another_account_is_refused_and_nothing_changes(build, volunteer):
    build.volunteer(name="李四", mobile="13900000009")
    with pytest.raises(Conflict):
        myaccount.change_mobile(volunteer, PASSWORD, "13900000009")
    with pytest.raises(ValidationError) as bad:
        myaccount.change_mobile(volunteer, PASSWORD, "12345")
    assert bad.value.details["field"] == "mobile"
    db.session.expire_all()
    assert volunteer.mobile == "13900000001"


def test_opting_out_of_public_rolls_is_one_tick_and_audited(client, signed_in):
    page = client.get("/account/").get_data(as_text=True)
    (box,) = re.findall(r'<input[^>]*name="listed"[^>]*>', page)
    assert "checked" in box  # listed unless they opt out
    client.post("/account/public-listing", data={})
    db.session.expire_all()
    assert signed_in.volunteer.public_listing_opt_out is True
    client.post("/account/public-listing", data={"listed": "y"})
    db.session.expire_all()
    assert signed_in.volunteer.public_listing_opt_out is False
    assert db.session.execute(select(AuditEvent).where(AuditEvent.action == "account.public_listing")).all()


def test_my_data_holds_every_ledger_entry_record_and_redemption_and_downloads_as_json(client, build, signed_in):
    perk = build.perk(name="保温杯", kind="goods", points_cost=40, stock=3)
    perks.reserve_perk(signed_in, perk.id, 1, request_key("cup"), level_of=stars(0))
    build.record(signed_in, started_at=utcnow() - timedelta(days=2))
    db.session.commit()

    download = client.get("/account/my-data.json")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"].startswith("attachment;")
    data = json.loads(download.data)
    assert data["account"]["name"] == "王小明" and data["account"]["mobile"] == "13900000001"
    assert data["points"]["balance"] == 80
    assert [entry["points"] for entry in data["ledger"]] == [120, -40]
    assert [r["perk"] for r in data["redemptions"]] == ["保温杯"]
    assert len(data["service_records"]) == 1
    readable = client.get("/account/my-data", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "保温杯" in readable and "王小明" in readable


def test_deletion_is_explained_then_erases_personal_data_and_keeps_the_books(client, build, signed_in):
    member_no = signed_in.volunteer.member_no
    explained = client.get("/account/delete").get_data(as_text=True)
    assert "120" in explained and 'name="understood"' in explained
    unconfirmed = client.post("/account/delete", data={"password": PASSWORD})
    assert unconfirmed.status_code == 422

    response = client.post("/account/delete", data={"password": PASSWORD, "understood": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, signed_in.id)
    assert (user.name, user.mobile, user.username, user.active) == ("", None, None, False)
    assert user.deleted_at is not None and user.volunteer.public_listing_opt_out
    entries = db.session.execute(select(LedgerEntry).order_by(LedgerEntry.id)).scalars().all()
    assert [e.delta for e in entries] == [120, -120]  # the history stays; the points are given up
    assert run_all_checks().discrepancies == []
    with pytest.raises(NotFound):
        volunteer_by_member_number(member_no)
    assert client.get("/me/").status_code == 302  # logged out
    assert client.post("/login", data={"login": "13900000001", "password": PASSWORD}).status_code != 302


def test_deletion_cannot_be_asked_while_a_voucher_is_open_and_says_why(client, build, signed_in):
    perk = build.perk(name="Cup", kind="goods", points_cost=40, stock=3)
    perks.reserve_perk(signed_in, perk.id, 1, request_key("cup"), level_of=stars(0))
    db.session.commit()
    page = client.get("/account/delete").get_data(as_text=True)
    assert 'data-testid="blockers"' in page and "voucher" in page
    with pytest.raises(Conflict):
        myaccount.delete_account(signed_in, PASSWORD)
    db.session.expire_all()
    assert signed_in.name == "王小明"


def test_deletion_cancels_sign_ups_and_moves_the_waiting_list_up(build, volunteer):
    activity = build.activity(starts_at=utcnow() + timedelta(days=1), capacity=1)
    activities.sign_up(volunteer, activity.id)
    waiting = build.volunteer(name="Next", mobile="13900000005")
    activities.sign_up(waiting, activity.id)
    myaccount.delete_account(volunteer, PASSWORD)
    assert [s.status for s in activities.list_my_signups(waiting)] == ["confirmed"]


def test_staff_have_no_account_page_only_the_password_page(client, build, auth):
    organizer = build.staff("organizer")
    db.session.commit()
    auth.login(organizer.username, PASSWORD)
    assert client.get("/account/").status_code == 404
    assert client.get("/account").location.endswith("/account/password")


def test_every_heading_of_the_readable_copy_is_translated(client, build, signed_in):
    from points_service.web.account import DATA_LABELS

    perk = build.perk(name="Cup", kind="goods", points_cost=40, stock=3)
    perks.reserve_perk(signed_in, perk.id, 1, request_key("cup"), level_of=stars(0))
    build.record(signed_in, started_at=utcnow() - timedelta(days=2))
    activity = build.activity(starts_at=utcnow() + timedelta(days=1), capacity=1)
    activities.sign_up(signed_in, activity.id)
    activities.update_activity(
        build.organizer(),
        activity.id,
        title=activity.title,
        place="Hall B",
        description="",
        starts_at=activity.starts_at,
        ends_at=activity.ends_at,
        capacity=1,
    )
    data = myaccount.my_data(signed_in)
    assert all(data[section] for section in ("ledger", "service_records", "sign_ups", "redemptions", "notices"))
    keys = set(data["account"]) | set(data["volunteer"]) | set(data["points"])
    for section in ("ledger", "service_records", "sign_ups", "redemptions", "certificates", "notices"):
        keys |= {key for row in data[section] for key in row}
    assert keys <= set(DATA_LABELS)
