"""Service categories and their names in both languages."""

import pytest
from flask_babel import force_locale

from points_service.audit.models import AuditEvent
from points_service.errors import Conflict, PermissionDenied, ValidationError
from points_service.rules import service as rules


def test_categories_are_listed_in_the_order_created_and_inactive_ones_hidden(build):
    build.categories()
    rules.update_category(None, rules.get_category("patrol"), active=False)
    assert [c.code for c in rules.list_categories()] == ["elderly_care", "clean_up"]
    assert [c.code for c in rules.list_categories(active_only=False)] == ["elderly_care", "patrol", "clean_up"]


def test_category_label_follows_the_language(app, build):
    build.categories()
    with force_locale("zh_CN"):
        assert rules.category_label("elderly_care") == "助老服务"
        assert rules.category_labels()["patrol"] == "治安巡逻"
    with force_locale("en"):
        assert rules.category_label("elderly_care") == "Elderly care"
    assert rules.category_label("no_such_thing") == "no_such_thing"


def test_a_category_code_is_unique(build):
    build.categories()
    with pytest.raises(Conflict) as refused:
        rules.create_category(None, "patrol", "Patrol", "巡逻")
    assert refused.value.details == {"field": "code"}


@pytest.mark.parametrize(
    ("code", "name_en", "name_zh", "field"),
    [
        ("Elderly Care", "Elderly care", "助老", "code"),
        ("x", "X", "X", "code"),
        ("tutoring", "", "助学", "name_en"),
        ("tutoring", "Tutoring", " " * 3, "name_zh"),
    ],
)
def test_bad_category_input_is_refused(build, code, name_en, name_zh, field):
    with pytest.raises(ValidationError) as refused:
        rules.create_category(None, code, name_en, name_zh)
    assert refused.value.details == {"field": field}
    assert rules.list_categories(active_only=False) == []


def test_categories_are_managed_by_city_administrators_and_audited(build):
    community_admin = build.rules_admin(build.community)
    with pytest.raises(PermissionDenied):
        rules.create_category(community_admin, "tutoring", "Tutoring", "助学辅导")
    city_admin = build.rules_admin()
    category = rules.create_category(city_admin, "tutoring", "Tutoring", "助学辅导")
    rules.update_category(city_admin, category, name_en="Homework help")
    events = AuditEvent.query.filter_by(target_type="service_category").order_by(AuditEvent.id).all()
    assert [(e.action, e.actor_id) for e in events] == [
        ("rules.category_create", city_admin.id),
        ("rules.category_update", city_admin.id),
    ]
    assert events[1].before["name_en"] == "Tutoring"
    assert events[1].after["name_en"] == "Homework help"
