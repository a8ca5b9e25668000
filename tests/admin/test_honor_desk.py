"""Honor rolls on the desk, over HTTP: define, compute a closed period, review, leave one
off with a reason, ask for publication, a second administrator approves; the public page,
the poster and the exports show names as configured and never an opted-out volunteer."""

import csv
import io
import shutil
import subprocess
from datetime import date, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from points_service.audit.models import AuditEvent
from points_service.changes import service as changes
from points_service.changes.models import ChangeRequest
from points_service.extensions import db
from points_service.honor import definitions
from points_service.honor import service as honor
from points_service.honor.models import HonorRoll, HonorRollDefinition, HonorRollExclusion
from points_service.timeutil import to_local, utcnow
from tests.builders import PASSWORD
from tests.honor.conftest import MARCH_FIRST_UTC, opt_out, serve

MARCH = "2026-03-01"


@pytest.fixture
def tree(build):
    build.honor_rules()
    return build.tree()


@pytest.fixture
def city(tree):
    return tree["city"]


@pytest.fixture
def author(build, city):
    return build.staff("admin", city)


@pytest.fixture
def volunteers(build, tree):
    """March 2026: 王小明 120 min, 张三丰 90 min, 赵六 60 min; 李四光 (opted out) 300 min."""
    people = {}
    for day, (name, minutes) in enumerate((("王小明", 120), ("张三丰", 90), ("赵六", 60), ("李四光", 300)), start=1):
        people[name] = build.volunteer(tree["communities"][0], name=name)
        serve(build, people[name], MARCH_FIRST_UTC + timedelta(days=day), minutes=minutes)
    opt_out(people["李四光"])
    return people


@pytest.fixture
def definition(author, city):
    return definitions.create_honor_definition(author, city, "month", "hours", 10)


@pytest.fixture
def draft(author, definition, volunteers):
    return definitions.compute_definition_draft(author, definition.id, date(2026, 3, 1))


def _page(response):
    return response.get_data(as_text=True)


def _pdf_text(data):
    assert shutil.which("pdftotext"), "pdftotext comes from poppler-utils, which make install installs"
    return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


def _publish(build, city, author, roll):
    request = honor.request_honor_roll_publication(author, roll.id)
    changes.approve_change(build.staff("admin", city), request.id)


def test_an_admin_defines_a_roll_and_computes_the_draft_of_a_closed_month(client, auth, author, volunteers):
    auth.login(author.username, PASSWORD)
    defined = client.post(
        "/admin/honor-rolls",
        data={
            "organization": str(author.memberships[0].organization_id),
            "period_kind": "month",
            "metric": "hours",
            "size": "10",
            "name_style": "masked",
        },
    )
    definition = db.session.execute(select(HonorRollDefinition)).scalar_one()
    assert defined.status_code == 302 and defined.location.endswith(f"/admin/honor-rolls/definitions/{definition.id}")

    offered = _page(client.get(defined.location))
    assert f'value="{MARCH}"' in offered
    this_month = to_local(utcnow(), "Asia/Shanghai").date().replace(day=1).isoformat()
    assert f'value="{this_month}"' not in offered  # the running month is not offered

    computed = client.post(f"/admin/honor-rolls/definitions/{definition.id}/drafts", data={"period_start": MARCH})
    roll = db.session.execute(select(HonorRoll)).scalar_one()
    assert computed.status_code == 302 and computed.location.endswith(f"/admin/honor-rolls/{roll.id}")
    review = _page(client.get(computed.location))
    ranking = review[review.index('data-testid="ranking"') :]
    assert ranking.index("王**") < ranking.index("张**") < ranking.index("赵*")
    assert "王小明" not in review
    # The reviewer sees who is left out because they opted out, masked.
    assert "Left out because they opted out of public lists" in review and "李**" in review
    assert "李四光" not in review
    listing = _page(client.get("/admin/honor-rolls"))
    assert "Draft" in listing and f"/admin/honor-rolls/{roll.id}" in listing


def test_a_period_that_has_not_ended_is_refused_clearly_and_nothing_is_written(client, auth, author, definition):
    auth.login(author.username, PASSWORD)
    this_month = to_local(utcnow(), "Asia/Shanghai").date().replace(day=1).isoformat()

    refused = client.post(f"/admin/honor-rolls/definitions/{definition.id}/drafts", data={"period_start": this_month})

    assert refused.status_code == 409
    assert "a draft can be computed from" in _page(refused) and "Asia/Shanghai" in _page(refused)
    assert db.session.execute(select(func.count(HonorRoll.id))).scalar_one() == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("size", "0", "Size must be a whole number from 1 to 100."),
        ("size", "ten", "Size must be a whole number from 1 to 100."),
        ("metric", "minutes", "The metric must be one of: hours or points."),
        ("period_kind", "week", "The period must be one of: month, quarter, or year."),
    ],
)
def test_a_bad_definition_is_refused_naming_the_field(client, auth, author, city, field, value, message):
    auth.login(author.username, PASSWORD)
    data = {"organization": str(city.id), "period_kind": "month", "metric": "hours", "size": "10"}
    data["name_style"] = "masked"
    data[field] = value

    refused = client.post("/admin/honor-rolls", data=data)

    assert refused.status_code == 422 and message in _page(refused)
    assert db.session.execute(select(func.count(HonorRollDefinition.id))).scalar_one() == 0


def test_leaving_someone_off_needs_a_reason_closes_the_ranks_and_the_reviewer_sees_why(
    client, auth, build, city, author, draft
):
    auth.login(author.username, PASSWORD)
    first = draft.entries[0]
    url = f"/admin/honor-rolls/{draft.id}/exclusions"

    no_reason = client.post(url, data={"entry": first.id, "version": draft.version, "reason": " "})
    assert no_reason.status_code == 422 and "Say why this volunteer is left off the roll." in _page(no_reason)
    left_off = client.post(url, data={"entry": first.id, "version": draft.version, "reason": "Hours being checked"})
    assert left_off.status_code == 302

    review = _page(client.get(f"/admin/honor-rolls/{draft.id}"))
    assert "Left off by an administrator" in review and "Hours being checked" in review
    db.session.expire_all()
    roll = db.session.get(HonorRoll, draft.id)
    assert [(entry.rank, entry.display_name) for entry in roll.entries] == [(1, "张**"), (2, "赵*")]
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "honor.exclude")).scalar_one()
    assert event.actor_id == author.id and event.before["entries"] == 3 and event.after["entries"] == 2

    asked = client.post(f"/admin/honor-rolls/{draft.id}/publication")
    request = db.session.execute(select(ChangeRequest)).scalar_one()
    assert asked.status_code == 302 and asked.location.endswith(f"/admin/approvals/{request.id}")
    auth.logout()
    reviewer = build.staff("admin", city)
    auth.login(reviewer.username, PASSWORD)
    shown = _page(client.get(f"/admin/approvals/{request.id}"))
    assert "1. 张**" in shown and "Hours being checked" in shown and "王**" in shown


def test_the_author_cannot_approve_their_own_publication(client, auth, author, draft):
    auth.login(author.username, PASSWORD)
    client.post(f"/admin/honor-rolls/{draft.id}/publication")
    request = db.session.execute(select(ChangeRequest)).scalar_one()

    page = client.post(f"/admin/approvals/{request.id}/decision", data={"decision": "approve"}, follow_redirects=True)

    assert "another person must review it" in _page(page)
    db.session.expire_all()
    assert db.session.get(ChangeRequest, request.id).status == "pending"
    assert db.session.get(HonorRoll, draft.id).status == "draft"
    assert "Awaiting approval" in _page(client.get(f"/admin/honor-rolls/{draft.id}"))


def test_the_public_page_and_the_poster_leave_out_the_excluded_and_the_opted_out(
    client, auth, build, city, author, draft, volunteers
):
    honor.exclude_from_honor_roll(author, draft.id, draft.entries[1].id, "Asked not to", version=draft.version)
    _publish(build, city, author, draft)
    opt_out(volunteers["赵六"])  # after publication: hidden from then on

    public = _page(client.get(f"/honor/{draft.id}"))
    assert "王**" in public
    assert "张**" not in public and "赵*" not in public and "李**" not in public
    assert f"/honor/{draft.id}/poster.pdf" in public

    for url in (f"/honor/{draft.id}/poster.pdf", f"/admin/honor-rolls/{draft.id}/poster.pdf"):
        if url.startswith("/admin"):
            auth.login(author.username, PASSWORD)
        poster = client.get(url, headers={"Accept-Language": "zh-CN"})
        assert poster.status_code == 200 and poster.mimetype == "application/pdf"
        text = _pdf_text(poster.data)
        assert "光荣榜" in text and "Test City，2026 年 03 月：服务时长榜" in text
        assert "王**" in text and "2 小时" in text
        assert "张**" not in text and "赵*" not in text and "李**" not in text


def test_a_draft_has_no_poster_and_no_public_page(client, auth, author, draft):
    assert client.get(f"/honor/{draft.id}/poster.pdf").status_code == 404
    auth.login(author.username, PASSWORD)
    assert client.get(f"/admin/honor-rolls/{draft.id}/poster.pdf").status_code == 404


def test_a_published_roll_cannot_be_recomputed_or_changed_from_the_desk(client, auth, build, city, author, draft):
    _publish(build, city, author, draft)
    auth.login(author.username, PASSWORD)

    again = client.post(f"/admin/honor-rolls/definitions/{draft.definition_id}/drafts", data={"period_start": MARCH})
    excluded = client.post(
        f"/admin/honor-rolls/{draft.id}/exclusions",
        data={"entry": draft.entries[0].id, "version": draft.version, "reason": "late"},
    )

    assert again.status_code == 409 and "can no longer change" in _page(again)
    assert excluded.status_code == 409
    db.session.expire_all()
    roll = db.session.get(HonorRoll, draft.id)
    assert (roll.version, len(roll.entries), roll.exclusions) == (draft.version, 3, [])


def test_exports_show_names_as_the_poster_does(client, auth, build, city, author, draft):
    _publish(build, city, author, draft)
    auth.login(author.username, PASSWORD)

    exported = client.get(f"/admin/honor-rolls/{draft.id}/export.csv")
    text = exported.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["Rank", "Volunteer", "Community", "Hours", "Minutes"]
    assert rows[1] == ["1", "王**", "Community 1.1", "2.00", "120"]
    assert all("王小明" not in cell and "李**" not in cell for row in rows for cell in row)

    workbook = load_workbook(io.BytesIO(client.get(f"/admin/honor-rolls/{draft.id}/export.xlsx").data))
    values = list(workbook.active.iter_rows(values_only=True))
    assert [row[:2] for row in values[1:]] == [(1, "王**"), (2, "张**"), (3, "赵*")]
    assert values[2][3:] == (1.5, 90)


OUTSIDE_READS = (
    "/admin/honor-rolls/definitions/{definition}",
    "/admin/honor-rolls/{roll}",
    "/admin/honor-rolls/{roll}/poster.pdf",
    "/admin/honor-rolls/{roll}/export.csv",
)


def test_another_communitys_admin_gets_404_and_changes_nothing(client, auth, build, tree, author, draft):
    outsider = build.staff("admin", tree["communities"][3])
    auth.login(outsider.username, PASSWORD)
    ids = {"definition": draft.definition_id, "roll": draft.id}

    for url in OUTSIDE_READS:
        assert client.get(url.format(**ids)).status_code == 404, url
    writes = {
        f"/admin/honor-rolls/definitions/{draft.definition_id}": {"size": "1", "name_style": "full"},
        f"/admin/honor-rolls/definitions/{draft.definition_id}/drafts": {"period_start": MARCH},
        f"/admin/honor-rolls/{draft.id}/exclusions": {"entry": draft.entries[0].id, "version": 1, "reason": "x"},
        f"/admin/honor-rolls/{draft.id}/publication": {},
    }
    for url, data in writes.items():
        assert client.post(url, data=data).status_code == 404, url
    listing = _page(client.get("/admin/honor-rolls"))
    assert f"/admin/honor-rolls/{draft.id}" not in listing and "Test City" not in listing

    db.session.expire_all()
    roll = db.session.get(HonorRoll, draft.id)
    assert (roll.version, roll.exclusions) == (draft.version, [])
    assert db.session.get(HonorRollDefinition, draft.definition_id).size == 10
    assert db.session.execute(select(func.count(ChangeRequest.id))).scalar_one() == 0
    assert db.session.execute(select(func.count(HonorRollExclusion.id))).scalar_one() == 0


@pytest.mark.parametrize("role", ["organizer", "counter"])
def test_organizers_and_counter_staff_are_refused(client, auth, build, city, draft, role):
    auth.login(build.staff(role, city).username, PASSWORD)
    assert client.get("/admin/honor-rolls").status_code == 403
    assert client.get(f"/admin/honor-rolls/{draft.id}").status_code == 403
    assert client.post(f"/admin/honor-rolls/{draft.id}/publication").status_code == 403
    assert db.session.execute(select(func.count(ChangeRequest.id))).scalar_one() == 0


def test_the_honor_pages_have_chinese_words(client, auth, author, draft):
    auth.login(author.username, PASSWORD)
    page = _page(client.get(f"/admin/honor-rolls/{draft.id}", headers={"Accept-Language": "zh-CN"}))
    assert "排名" in page and "申请发布" in page
