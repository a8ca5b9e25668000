"""Drafts, publishing, retiring, and which rule set applies where and when."""

from datetime import date, datetime

import pytest

from points_service.audit.models import AuditEvent
from points_service.errors import Conflict, PermissionDenied, ValidationError
from points_service.extensions import db
from points_service.rules import service as rules
from points_service.rules.errors import CategoryNotRated, NoApplicableRuleSet, RuleSetNotEditable
from points_service.rules.models import RuleSet
from points_service.rules.service import VolunteerHistory
from tests.builders.rules import rules_config

HISTORY = VolunteerHistory(lifetime_minutes=600, approved_records=3, points_same_day=0, points_same_month=0)


def rate_at(organization, started_at, category="patrol", **kwargs):
    return rules.rate_service(
        organization=organization,
        category=category,
        started_at=started_at,
        ended_at=started_at.replace(hour=started_at.hour + 1),
        urgent=False,
        history=HISTORY,
        **kwargs,
    )


def hourly(points):
    return rules_config(rates={"patrol": {"points": points, "per_minutes": 60}})


MARCH = datetime(2026, 3, 10, 2, 0)  # a Tuesday, 10:00 in Shanghai


def test_nearest_published_set_up_the_tree_applies(build):
    tree = build.tree()
    build.rule_set(tree["city"], hourly(10))
    build.rule_set(tree["districts"][0], hourly(20))
    inside = tree["communities"][0]  # under district 1
    outside = tree["communities"][2]  # under district 2
    assert rate_at(inside, MARCH).points == 20
    assert rate_at(outside, MARCH).points == 10
    assert rules.applicable_rule_set(inside, MARCH.date()).organization_id == tree["districts"][0].id


def test_a_lower_set_not_yet_effective_leaves_the_one_above_in_force(build):
    tree = build.tree()
    build.rule_set(tree["city"], hourly(10))
    build.rule_set(tree["districts"][0], hourly(20), effective_from=date(2026, 4, 1))
    assert rate_at(build.community, MARCH).points == 10
    assert rate_at(build.community, datetime(2026, 4, 7, 2, 0)).points == 20


def test_the_local_start_date_chooses_the_set(build):
    build.rule_set(config=hourly(10))
    build.rule_set(config=hourly(30), effective_from=date(2026, 4, 1))
    # 2026-03-31 17:00 UTC is already 1 April in Shanghai
    assert rate_at(build.community, datetime(2026, 3, 31, 17, 0)).points == 30
    assert rate_at(build.community, datetime(2026, 3, 31, 15, 0)).points == 10


def test_without_any_published_set_rating_is_refused(build):
    build.rule_set(config=hourly(10), publish=False)
    with pytest.raises(NoApplicableRuleSet) as refused:
        rate_at(build.community, MARCH)
    assert "2026-03-10" in refused.value.render_message()


def test_a_category_without_a_rate_is_refused(build):
    build.rule_set(config=hourly(10))
    with pytest.raises(CategoryNotRated) as refused:
        rate_at(build.community, MARCH, category="clean_up")
    assert "Clean-up" in refused.value.render_message()
    assert refused.value.details == {"field": "category"}


def test_versions_increase_per_organization(build):
    tree = build.tree()
    first = build.rule_set(tree["city"], publish=False)
    second = build.rule_set(tree["city"], publish=False)
    other = build.rule_set(tree["districts"][0], publish=False)
    assert (first.version, second.version, other.version) == (1, 2, 1)


def test_a_new_draft_copies_the_set_in_force(build):
    published = build.rule_set(config=hourly(12))
    draft = rules.create_rule_set(build.rules_admin(), build.tree()["city"])
    assert draft.status == "draft"
    assert draft.based_on_id == published.id
    assert draft.config == published.config
    assert draft.version == 2


def test_a_draft_can_copy_another_set_for_a_lower_organization(build):
    city_set = build.rule_set(config=hourly(12))
    draft = rules.create_rule_set(None, build.community, copy_from=city_set, name="Our own")
    assert (draft.organization_id, draft.version, draft.name) == (build.community.id, 1, "Our own")
    assert draft.config == city_set.config


def test_editing_a_draft_changes_it_and_is_audited(build):
    admin = build.rules_admin()
    draft = build.rule_set(config=hourly(10), publish=False)
    rules.update_draft(admin, draft, hourly(15), name="Higher rate")
    assert draft.config["rates"]["patrol"]["points"] == 15
    event = AuditEvent.query.filter_by(action="rules.update_draft").one()
    assert event.actor_id == admin.id
    assert event.before["config"]["rates"]["patrol"]["points"] == 10
    assert event.after["name"] == "Higher rate"


def test_a_published_set_is_immutable(build):
    published = build.rule_set(config=hourly(10))
    with pytest.raises(RuleSetNotEditable) as refused:
        rules.update_draft(None, published, hourly(99))
    assert "published" in refused.value.render_message()
    db.session.refresh(published)
    assert published.config["rates"]["patrol"]["points"] == 10


def test_the_database_layer_refuses_to_change_a_published_table(build):
    published = build.rule_set(config=hourly(10))
    published.config = hourly(99)
    with pytest.raises(RuntimeError, match="cannot change"):
        db.session.flush()
    db.session.rollback()


def test_publishing_replaces_sets_from_the_same_date_and_keeps_earlier_ones(build):
    admin = build.rules_admin()
    v1 = build.rule_set(config=hourly(10), effective_from=date(2025, 1, 1))
    v2 = build.rule_set(config=hourly(20), effective_from=date(2026, 6, 1))
    v3 = rules.create_rule_set(admin, build.tree()["city"], hourly(30))
    rules.publish_rule_set(admin, v3, effective_from=date(2026, 6, 1))
    assert (v1.status, v2.status, v3.status) == ("published", "retired", "published")
    assert rate_at(build.community, MARCH).rule_set_version == 1
    june = rate_at(build.community, datetime(2026, 6, 2, 2, 0))
    assert (june.rule_set_version, june.points) == (3, 30)
    publish_event = AuditEvent.query.filter_by(action="rules.publish", target_id=str(v3.id)).one()
    assert publish_event.after["effective_from"] == "2026-06-01"
    assert AuditEvent.query.filter_by(action="rules.retire", target_id=str(v2.id)).count() == 1


def test_old_awards_still_name_their_version(build):
    v1 = build.rule_set(config=hourly(10), effective_from=date(2025, 1, 1))
    build.rule_set(config=hourly(20), effective_from=date(2026, 1, 1))
    award = rate_at(build.community, datetime(2025, 12, 1, 2, 0))
    assert (award.rule_set_id, award.rule_set_version) == (v1.id, 1)
    assert award.breakdown[0] == {
        "step": "rule_set",
        "rule_set_id": v1.id,
        "version": 1,
        "name": v1.name,
        "day_kind": "workday",
        "points": 0,
    }


def test_publishing_needs_an_effective_date(build):
    draft = rules.create_rule_set(None, build.tree()["city"], _with_categories(build, hourly(10)))
    with pytest.raises(ValidationError) as refused:
        rules.publish_rule_set(None, draft)
    assert refused.value.details == {"field": "effective_from"}
    assert draft.status == "draft"


def _with_categories(build, config):
    build.categories()
    return config


def test_publishing_twice_is_refused(build):
    published = build.rule_set(config=hourly(10))
    with pytest.raises(RuleSetNotEditable):
        rules.publish_rule_set(None, published, effective_from=date(2027, 1, 1))


def test_retiring_falls_back_to_the_set_above(build):
    tree = build.tree()
    build.rule_set(tree["city"], hourly(10))
    district_set = build.rule_set(tree["districts"][0], hourly(20))
    rules.retire_rule_set(build.rules_admin(), district_set)
    assert district_set.status == "retired"
    assert district_set.retired_at is not None
    assert rate_at(build.community, MARCH).points == 10
    with pytest.raises(Conflict):
        rules.retire_rule_set(None, district_set)


def test_a_draft_can_be_rated_for_simulation(build):
    build.rule_set(config=hourly(10))
    draft = build.rule_set(config=hourly(40), publish=False)
    assert rate_at(build.community, MARCH, rule_set=draft).points == 40
    assert rate_at(build.community, MARCH).points == 10


def test_only_an_administrator_of_the_subtree_manages_rules(build):
    build.categories()
    tree = build.tree()
    community_admin = build.rules_admin(build.community)
    organizer = build.staff("organizer", tree["city"])
    with pytest.raises(PermissionDenied):
        rules.create_rule_set(community_admin, tree["city"], hourly(10))
    with pytest.raises(PermissionDenied):
        rules.create_rule_set(organizer, build.community, hourly(10))
    draft = rules.create_rule_set(community_admin, build.community, hourly(10), effective_from=date(2026, 1, 1))
    city_draft = rules.create_rule_set(build.rules_admin(), tree["city"], hourly(10))
    with pytest.raises(PermissionDenied):
        rules.publish_rule_set(community_admin, city_draft, effective_from=date(2026, 1, 1))
    rules.publish_rule_set(community_admin, draft)
    assert RuleSet.query.filter_by(status="published").count() == 1


def test_every_write_is_audited(build):
    admin = build.rules_admin()
    build.categories()
    draft = rules.create_rule_set(admin, build.tree()["city"], hourly(10), effective_from=date(2026, 1, 1))
    rules.update_draft(admin, draft, name="Renamed")
    rules.publish_rule_set(admin, draft)
    rules.retire_rule_set(admin, draft)
    actions = [e.action for e in AuditEvent.query.filter_by(target_type="rule_set").order_by(AuditEvent.id)]
    assert actions == ["rules.create", "rules.update_draft", "rules.publish", "rules.retire"]


def test_publishing_an_older_draft_on_the_same_date_replaces_the_newer_published_set(build):
    older_draft = build.rule_set(config=hourly(10), publish=False, effective_from=date(2026, 6, 1))
    newer = build.rule_set(config=hourly(20), effective_from=date(2026, 6, 1))
    rules.publish_rule_set(None, older_draft)
    assert (older_draft.status, newer.status) == ("published", "retired")
    assert rate_at(build.community, datetime(2026, 6, 2, 2, 0)).points == 10


def test_listing_rule_sets_above_or_below_a_node(build):
    tree = build.tree()
    city_set = build.rule_set(tree["city"])
    community_set = build.rule_set(build.community)
    other_set = build.rule_set(tree["communities"][3])
    assert {s.id for s in rules.list_rule_sets(build.community)} == {city_set.id, community_set.id}
    below_district = rules.list_rule_sets(tree["districts"][0], subtree=True)
    assert [s.id for s in below_district] == [community_set.id]
    assert len(rules.list_rule_sets(status="published")) == 3
    assert other_set.id not in {s.id for s in below_district}
