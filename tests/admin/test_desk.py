"""The administrator's desk: who may enter, the navigation, changes waiting for review."""

import pytest

from points_service.changes.models import ChangeRequest
from points_service.extensions import db
from points_service.rules import service as rules
from tests.builders import PASSWORD
from tests.builders.changes import rename_category_kind


@pytest.fixture(autouse=True)
def applied():
    with rename_category_kind() as applied:
        yield applied


@pytest.fixture
def city(build):
    return build.tree()["city"]


@pytest.fixture
def author(build, city):
    user = build.staff("admin", city)
    rules.create_category(user, "elderly_care", "Elderly care", "助老服务")
    return user


def test_strangers_are_sent_to_log_in_and_non_admin_staff_are_refused(client, build, auth):
    assert client.get("/admin/").status_code == 302
    for user in (build.volunteer(), build.staff("organizer"), build.staff("counter")):
        auth.login(user.username or user.mobile, PASSWORD)
        assert client.get("/admin/").status_code == 403
        assert client.get("/admin/approvals").status_code == 403
        assert b'href="/admin/"' not in client.get("/").data
        auth.logout()


def test_an_admin_sees_the_desk_link_and_only_sections_that_exist(client, build, auth, city):
    admin = build.staff("admin", city)
    auth.login(admin.username, PASSWORD)
    assert b'href="/admin/"' in client.get("/").data
    page = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/approvals"' in page
    # Sections whose pages do not exist yet are not linked.
    assert "/admin/reports" not in page


def test_a_second_admin_approves_a_request_from_the_desk(client, build, auth, city, author, applied):
    request = build.rename_request(author, city)
    reviewer = build.staff("admin", city)
    auth.login(reviewer.username, PASSWORD)

    listing = client.get("/admin/approvals").get_data(as_text=True)
    assert f"/admin/approvals/{request.id}" in listing
    detail = client.get(f"/admin/approvals/{request.id}").get_data(as_text=True)
    assert "Care for the elderly" in detail and "Approve and apply" in detail

    client.post(f"/admin/approvals/{request.id}/decision", data={"decision": "approve"})

    db.session.expire_all()
    assert db.session.get(ChangeRequest, request.id).status == "approved"
    assert rules.get_category("elderly_care").name_en == "Care for the elderly"
    assert applied == [request.id]


def test_the_author_is_offered_no_approve_button_and_a_forged_approval_changes_nothing(
    client, build, auth, city, author, applied
):
    request = build.rename_request(author, city)
    auth.login(author.username, PASSWORD)
    detail = client.get(f"/admin/approvals/{request.id}").get_data(as_text=True)
    assert "Approve and apply" not in detail and "another person must review it" in detail
    assert f"/admin/approvals/{request.id}" not in client.get("/admin/approvals").get_data(as_text=True)

    page = client.post(f"/admin/approvals/{request.id}/decision", data={"decision": "approve"}, follow_redirects=True)

    assert "another person must review it" in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ChangeRequest, request.id).status == "pending"
    assert applied == []


def test_an_admin_of_another_community_gets_404_and_changes_nothing(client, build, auth, city, author, applied):
    request = build.rename_request(author, city)
    outsider = build.staff("admin", build.tree()["communities"][3])
    auth.login(outsider.username, PASSWORD)
    assert client.get(f"/admin/approvals/{request.id}").status_code == 404
    assert client.post(f"/admin/approvals/{request.id}/decision", data={"decision": "approve"}).status_code == 404
    assert f"/admin/approvals/{request.id}" not in client.get("/admin/approvals").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ChangeRequest, request.id).status == "pending"
    assert applied == []


def test_rejecting_without_a_reason_is_refused_with_a_message(client, build, auth, city, author):
    request = build.rename_request(author, city)
    reviewer = build.staff("admin", city)
    auth.login(reviewer.username, PASSWORD)
    page = client.post(
        f"/admin/approvals/{request.id}/decision", data={"decision": "reject", "reason": " "}, follow_redirects=True
    )
    assert "Give a reason." in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ChangeRequest, request.id).status == "pending"


def test_user_text_in_a_diff_is_escaped(client, build, auth, city, author):
    request = build.rename_request(author, city, name="<script>alert(1)</script>")
    reviewer = build.staff("admin", city)
    auth.login(reviewer.username, PASSWORD)
    page = client.get(f"/admin/approvals/{request.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_chinese_pages_say_so_in_the_html_lang_and_offer_only_english(client, build, auth, city):
    admin = build.staff("admin", city)
    auth.login(admin.username, PASSWORD)
    page = client.get("/admin/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="zh-Hans">' in page
    assert "English" in page and ">中文<" not in page
    assert "概览" in page


def test_no_two_desk_pages_give_templates_the_same_name(app):
    """A blueprint context processor reaches every desk page, so two pages must not both set a name."""
    from admin import bp

    seen = {}
    with app.test_request_context("/admin/"):
        for processor in app.template_context_processors["admin"]:
            for name in processor():
                assert name not in seen, f"{name} is set by both {seen[name]} and {processor.__name__}"
                seen[name] = processor.__name__
    assert bp.name == "admin"
