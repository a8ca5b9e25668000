"""The rules desk through HTTP: list, view, clone, edit with validation and a version check,
import/export, diff, backtest, and publication by a second administrator."""

import copy
import io
import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from points_service.audit.models import AuditEvent
from points_service.changes.models import ChangeRequest
from points_service.extensions import db
from points_service.rules import service as rules
from points_service.rules.models import RuleSet
from points_service.timeutil import utcnow
from tests.builders import PASSWORD


@pytest.fixture
def city(build):
    return build.tree()["city"]


@pytest.fixture
def published(build, city):
    return build.city_rules(city, effective_from=date(2020, 1, 1), name="City rules")


@pytest.fixture
def admin(build, city, auth):
    user = build.staff("admin", city)
    auth.login(user.username, PASSWORD)
    return user


def _reload(rule_set_id):
    db.session.expire_all()
    return db.session.get(RuleSet, rule_set_id)


def _count(model):
    db.session.expire_all()
    return db.session.execute(select(func.count(model.id))).scalar_one()


def _edit_form(client, draft):
    """What the edit form sends when saved unchanged (read from the page)."""
    import re

    page = client.get(f"/admin/rules/{draft.id}/edit").get_data(as_text=True)
    data = dict(re.findall(r'<input name="([^"]+)" id="[^"]*" value="([^"]*)"', page))
    data.update(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    for name, chosen in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        selected = re.search(r'<option value="([^"]+)" selected>', chosen)
        data[name] = selected.group(1) if selected else re.search(r'<option value="([^"]+)"', chosen).group(1)
    return data


def test_the_list_shows_each_rule_set_with_its_state(client, admin, published, city):
    draft = rules.create_rule_set(admin, city, name="Next year")
    page = client.get("/admin/rules").get_data(as_text=True)
    assert "City rules" in page and "Next year" in page
    assert "published" in page and "from 2020-01-01" in page and "draft" in page
    rules.request_rule_set_publication(admin, rules.update_draft(admin, draft, effective_from="2030-01-01"))
    assert "awaiting approval" in client.get("/admin/rules").get_data(as_text=True)


def test_a_rule_set_reads_as_tables(client, admin, published):
    page = client.get(f"/admin/rules/{published.id}").get_data(as_text=True)
    assert "Elderly care" in page and "10 points per hour" in page
    assert "rounded down to a multiple of 30 minutes" in page
    assert "×1.2" in page and "×1.5" in page  # weekend, public holiday
    assert "150 points" in page  # the limit per day
    assert "1★ 100 h" in page


def test_cloning_a_published_set_makes_a_draft_copy(client, admin, published):
    response = client.post(f"/admin/rules/{published.id}/clone")
    assert response.status_code == 302 and "/edit" in response.headers["Location"]
    draft = rules.list_rule_sets(status="draft")[0]
    assert draft.config == published.config and draft.based_on_id == published.id


def test_editing_a_rate_saves_it_and_the_diff_names_the_change(client, admin, published, city):
    draft = rules.create_rule_set(admin, city, copy_from=published)
    data = _edit_form(client, draft)
    data["rates.elderly_care.points"] = "12"
    response = client.post(f"/admin/rules/{draft.id}/edit", data=data)
    assert response.status_code == 302
    saved = _reload(draft.id)
    assert saved.config["rates"]["elderly_care"]["points"] == 12
    assert saved.config["rates"]["patrol"] == published.config["rates"]["patrol"]
    assert saved.revision == 2
    page = client.get(f"/admin/rules/{draft.id}").get_data(as_text=True)
    assert "Rate for Elderly care" in page and "10 points per hour" in page and "12 points per hour" in page


def test_a_bad_field_is_named_in_the_users_language_and_nothing_is_saved(client, admin, published, city):
    draft = rules.create_rule_set(admin, city, copy_from=published)
    audited = _count(AuditEvent)
    data = _edit_form(client, draft)
    data["rates.elderly_care.points"] = "-5"
    data["caps.per_day"] = "50"  # below the limit per record (100)
    response = client.post(f"/admin/rules/{draft.id}/edit", data=data, headers={"Accept-Language": "zh-CN"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "助老服务" in page and "0" in page and "10000" in page
    assert _reload(draft.id).config == published.config and _reload(draft.id).revision == 1
    assert _count(AuditEvent) == audited


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("rates.patrol.points", "-1", "Rate for Neighbourhood patrol"),
        ("caps.per_month", "120", "Limit per month"),
        ("star_thresholds_hours.2", "250", "Star levels (hours)"),
        ("multipliers.weekend_percent", "ninety", "Weekend multiplier"),
    ],
)
def test_each_kind_of_bad_table_is_refused_whole(client, admin, published, city, field, value, words):
    draft = rules.create_rule_set(admin, city, copy_from=published)
    data = _edit_form(client, draft)
    data["rates.elderly_care.points"] = "11"  # a good change alongside: not saved either
    data[field] = value
    response = client.post(f"/admin/rules/{draft.id}/edit", data=data)
    assert response.status_code == 422
    assert words in response.get_data(as_text=True)
    assert _reload(draft.id).config == published.config


def test_the_second_of_two_admins_saving_one_draft_is_refused(client, build, admin, published, city, auth):
    draft = rules.create_rule_set(admin, city, copy_from=published)
    first = _edit_form(client, draft)
    other = build.staff("admin", city)
    auth.logout()
    auth.login(other.username, PASSWORD)
    second = _edit_form(client, draft)  # both opened revision 1
    first["rates.elderly_care.points"] = "12"
    second["rates.elderly_care.points"] = "15"
    assert client.post(f"/admin/rules/{draft.id}/edit", data=second).status_code == 302
    auth.logout()
    auth.login(admin.username, PASSWORD)
    response = client.post(f"/admin/rules/{draft.id}/edit", data=first)
    assert response.status_code == 409
    assert "changed since you opened it" in response.get_data(as_text=True)
    assert _reload(draft.id).config["rates"]["elderly_care"]["points"] == 15


def test_export_downloads_the_json_the_command_line_imports(client, admin, published):
    response = client.get(f"/admin/rules/{published.id}/export.json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    assert json.loads(response.get_data(as_text=True)) == published.config


def test_import_makes_a_draft_from_a_file(client, admin, published, city):
    body = json.dumps(published.config).encode()
    response = client.post(
        "/admin/rules/import",
        data={"organization": str(city.id), "file": (io.BytesIO(body), "rules.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    draft = rules.list_rule_sets(status="draft")[0]
    assert draft.config == published.config and draft.created_by_id == admin.id


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"rates": {"patrol": {"points": 1, "points": 2, "per_minutes": 60}}}', "more than once"),
        (b"not json", "not valid JSON"),
        (b'{"rates": {"patrol": {"points": -3, "per_minutes": 60}}}', "Rate for Neighbourhood patrol"),
        (b" " * (300 * 1024), "larger than"),
    ],
)
def test_a_bad_import_is_refused_with_a_reason_and_creates_nothing(client, admin, published, city, content, message):
    before = _count(RuleSet)
    page = client.post(
        "/admin/rules/import",
        data={"organization": str(city.id), "file": (io.BytesIO(content), "rules.json")},
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert message in page
    assert _count(RuleSet) == before


def test_the_backtest_shows_points_before_and_after_with_a_chart_and_its_table(client, build, admin, city):
    volunteer = build.volunteer(name="Li Si")
    started = (utcnow() - timedelta(days=3)).replace(hour=2, minute=0, second=0, microsecond=0)
    build.approved_record(volunteer, started_at=started, minutes=120)  # the plain table: 10 points an hour
    config = copy.deepcopy(build.service_rules().config)
    config["rates"]["elderly_care"]["points"] = 20
    draft = rules.create_rule_set(admin, city, config)
    yesterday = date.today() - timedelta(days=1)
    data = {"first_day": (yesterday - timedelta(days=30)).isoformat(), "last_day": yesterday.isoformat()}
    page = client.post(f"/admin/rules/{draft.id}/backtests", data=data, follow_redirects=True).get_data(as_text=True)
    assert 'data-testid="points-before">20<' in page and 'data-testid="points-after">40<' in page
    assert 'data-testid="difference">+20<' in page
    assert "data:image/svg+xml" in page and "chart-table" in page
    assert "L*" in page and "Li Si" not in page  # the volunteer's name is masked


def test_a_backtest_period_that_ends_before_it_starts_is_refused(client, admin, published, city):
    draft = rules.create_rule_set(admin, city, copy_from=published)
    response = client.post(
        f"/admin/rules/{draft.id}/backtests", data={"first_day": "2026-03-01", "last_day": "2026-02-01"}
    )
    assert response.status_code == 422
    assert "must end on or after its first day" in response.get_data(as_text=True)


def test_publication_needs_a_second_admin_who_sees_the_diff(client, build, admin, published, city, auth):
    draft = rules.create_rule_set(admin, city, copy_from=published)
    data = _edit_form(client, draft)
    data["rates.elderly_care.points"] = "12"
    data["effective_from"] = (date.today() + timedelta(days=30)).isoformat()
    client.post(f"/admin/rules/{draft.id}/edit", data=data)
    response = client.post(f"/admin/rules/{draft.id}/publish")
    request = db.session.execute(select(ChangeRequest)).scalar_one()
    assert response.headers["Location"].endswith(f"/admin/approvals/{request.id}")
    own = client.post(f"/admin/approvals/{request.id}/decision", data={"decision": "approve"}, follow_redirects=True)
    assert "another person must review it" in own.get_data(as_text=True)
    assert _reload(draft.id).status == "draft"

    reviewer = build.staff("admin", city)
    auth.logout()
    auth.login(reviewer.username, PASSWORD)
    page = client.get(f"/admin/approvals/{request.id}").get_data(as_text=True)
    assert "Rate for Elderly care" in page and "12 points per hour" in page
    assert f"/admin/rules/{draft.id}/backtest" in page
    client.post(f"/admin/approvals/{request.id}/decision", data={"decision": "approve"})
    assert _reload(draft.id).status == "published" and _reload(draft.id).published_by_id == reviewer.id
    history = client.get(f"/admin/rules/{draft.id}").get_data(as_text=True)
    assert admin.name in history and reviewer.name in history


def test_a_draft_waiting_for_review_cannot_be_edited(client, admin, published, city):
    draft = rules.update_draft(
        admin, rules.create_rule_set(admin, city, copy_from=published), effective_from="2031-01-01"
    )
    data = _edit_form(client, draft)
    rules.request_rule_set_publication(admin, draft)
    response = client.post(f"/admin/rules/{draft.id}/edit", data=data)
    assert response.status_code == 409 and "waiting for review" in response.get_data(as_text=True)


def test_an_admin_of_another_community_gets_404_and_changes_nothing(client, build, published, auth):
    communities = build.tree()["communities"]
    owner = build.staff("admin", communities[0])
    draft = rules.create_rule_set(owner, communities[0])
    outsider = build.staff("admin", communities[3])
    auth.login(outsider.username, PASSWORD)
    assert client.get(f"/admin/rules/{draft.id}").status_code == 404
    assert client.get(f"/admin/rules/{draft.id}/backtest").status_code == 404
    assert client.get(f"/admin/rules/{draft.id}/export.json").status_code == 404
    assert client.post(f"/admin/rules/{draft.id}/edit", data={"revision": "1", "name": "x"}).status_code == 404
    assert client.post(f"/admin/rules/{draft.id}/publish").status_code == 404
    assert client.post(f"/admin/rules/{published.id}/clone").status_code == 404
    assert "Community 1.1" not in client.get("/admin/rules").get_data(as_text=True)
    assert _reload(draft.id).name == draft.name and _count(ChangeRequest) == 0


def test_organizers_and_counter_staff_get_no_rules_page(client, build, auth):
    for user in (build.staff("organizer"), build.staff("counter")):
        auth.login(user.username, PASSWORD)
        assert client.get("/admin/rules").status_code == 403
        auth.logout()
