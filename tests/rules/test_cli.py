"""The rules commands: import, publish, list, export, holidays, categories."""

import json
from datetime import date

from points_service.demo import DEMO_CATEGORIES, _rules
from points_service.rules import service as rules
from points_service.rules.models import HolidayOverride, RuleSet
from tests.builders.rules import CITY_RULES, rules_config


def test_import_and_publish_a_rule_table_from_json(build, runner, tmp_path):
    build.categories()
    city = build.tree()["city"]
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(rules_config(CITY_RULES)), encoding="utf-8")
    result = runner.invoke(
        args=["points", "rules-import", str(path), "--org", "Test City", "--effective-from", "2026-01-01", "--publish"]
    )
    assert result.exit_code == 0, result.output
    assert "version 1 (published)" in result.output
    rule_set = rules.applicable_rule_set(city, date(2026, 5, 1))
    assert rule_set.config["caps"]["per_day"] == 150


def test_a_bad_file_is_refused_with_every_field_named(build, runner, tmp_path):
    build.categories()
    build.tree()
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rates": {"patrol": {"points": -1, "per_minutes": 0}}}), encoding="utf-8")
    result = runner.invoke(args=["points", "rules-import", str(path), "--org", "Test City"])
    assert result.exit_code == 2
    assert "rates.patrol.points" in result.output
    assert "rates.patrol.per_minutes" in result.output
    assert RuleSet.query.count() == 0


def test_publish_list_export_and_retire(build, runner):
    draft = build.rule_set(publish=False)
    result = runner.invoke(args=["points", "rules-publish", str(draft.id), "--effective-from", "2026-02-01"])
    assert result.exit_code == 0, result.output
    assert "effective from 2026-02-01" in result.output
    listing = runner.invoke(args=["points", "rules-list", "--org", "Test City"])
    assert "v1  published  2026-02-01" in listing.output
    exported = runner.invoke(args=["points", "rules-export", str(draft.id)])
    assert json.loads(exported.output) == draft.config
    retired = runner.invoke(args=["points", "rules-retire", str(draft.id)])
    assert retired.exit_code == 0
    again = runner.invoke(args=["points", "rules-retire", str(draft.id)])
    assert again.exit_code == 2
    assert "already retired" in again.output


def test_holiday_and_category_commands(build, runner):
    build.tree()
    result = runner.invoke(args=["points", "holiday-set", "2035-10-01", "holiday", "--note", "National Day"])
    assert result.exit_code == 0, result.output
    assert HolidayOverride.query.one().kind == "holiday"
    added = runner.invoke(args=["points", "category-add", "tutoring", "--en", "Tutoring", "--zh", "助学辅导"])
    assert added.exit_code == 0, added.output
    assert rules.get_category("tutoring").name_zh == "助学辅导"


def test_the_demo_step_creates_categories_and_a_published_city_table(build):
    city = build.tree()["city"]
    _rules(city=city)
    assert [c.code for c in rules.list_categories()] == [code for code, _en, _zh in DEMO_CATEGORIES]
    rule_set = rules.applicable_rule_set(build.community, date(2026, 10, 1))
    assert rule_set.organization_id == city.id
    assert rule_set.config["multipliers"]["holiday_percent"] == 150
    assert set(rule_set.config["rates"]) == {code for code, _en, _zh in DEMO_CATEGORIES}
