"""Drafts edited by several people, caps in order, and publication as a request a second
administrator approves (four eyes)."""

from datetime import date

import pytest

from points_service.audit.models import AuditEvent
from points_service.changes import service as changes
from points_service.errors import ValidationError
from points_service.extensions import db
from points_service.rules import service as rules
from points_service.rules.errors import DraftChanged, InvalidRuleSet, PublicationPending
from points_service.rules.models import RuleSet
from tests.builders.rules import CITY_RULES, rules_config


@pytest.fixture
def city(build):
    return build.tree()["city"]


@pytest.fixture
def author(build, city):
    return build.rules_admin(city)


@pytest.fixture
def reviewer(build, city):
    return build.rules_admin(city)


@pytest.fixture
def draft(build, city, author):
    published = build.city_rules(city)
    return rules.create_rule_set(author, city, copy_from=published, effective_from=date(2031, 1, 1))


def _with_elderly(rule_set, points):
    config = rules_config(rule_set.config)
    config["rates"]["elderly_care"]["points"] = points
    return config


def test_a_save_against_an_older_revision_is_refused_and_saves_nothing(draft, author, reviewer):
    rules.update_draft(reviewer, draft, _with_elderly(draft, 15), expected_revision=1)
    with pytest.raises(DraftChanged) as refused:
        rules.update_draft(author, draft, _with_elderly(draft, 12), expected_revision=1)
    assert "changed since you opened it" in refused.value.render_message()
    db.session.expire_all()
    saved = db.session.get(RuleSet, draft.id)
    assert saved.config["rates"]["elderly_care"]["points"] == 15 and saved.revision == 2


def test_every_save_raises_the_revision_and_is_audited_with_before_and_after(draft, author):
    rules.update_draft(author, draft, _with_elderly(draft, 12), expected_revision=1)
    event = db.session.query(AuditEvent).filter_by(action="rules.update_draft").one()
    assert event.actor_id == author.id
    assert event.before["revision"] == 1 and event.after["revision"] == 2
    assert event.after["config"]["rates"]["elderly_care"]["points"] == 12


@pytest.mark.parametrize(
    ("caps", "field"),
    [
        ({"per_record": 100, "per_day": 50}, "caps.per_day"),
        ({"per_day": 150, "per_month": 100}, "caps.per_month"),
        ({"per_record": 100, "per_month": 80}, "caps.per_month"),
    ],
)
def test_a_longer_periods_limit_below_a_shorter_ones_is_refused(draft, author, caps, field):
    with pytest.raises(InvalidRuleSet) as refused:
        rules.update_draft(author, draft, rules_config(CITY_RULES, caps=caps))
    assert refused.value.details["field"] == field
    db.session.expire_all()
    assert db.session.get(RuleSet, draft.id).revision == 1


def test_publication_is_a_request_the_author_cannot_approve(draft, author):
    request = rules.request_rule_set_publication(author, draft)
    assert request.kind == "rule_set.publish" and request.target_version == draft.revision
    assert not any(line["field"] == "Rate for Elderly care" for line in request.diff)  # no change yet
    with pytest.raises(changes.SecondPersonRequired):
        changes.approve_change(author, request.id)
    assert db.session.get(RuleSet, draft.id).status == "draft"


def test_a_second_admin_approves_and_the_draft_is_published_from_its_date(draft, author, reviewer):
    rules.update_draft(author, draft, _with_elderly(draft, 12))
    request = rules.request_rule_set_publication(author, draft)
    assert {"field": "Rate for Elderly care", "before": "10 points per hour", "after": "12 points per hour"} in (
        request.diff
    )
    changes.approve_change(reviewer, request.id)
    db.session.expire_all()
    published = db.session.get(RuleSet, draft.id)
    assert published.status == "published" and published.effective_from == date(2031, 1, 1)
    assert published.published_by_id == reviewer.id
    (entry,) = [entry for entry in rules.rule_set_history(published.organization) if entry.rule_set.id == draft.id]
    assert entry.request.author_id == author.id and entry.request.reviewer_id == reviewer.id


def test_a_draft_waiting_for_review_cannot_change(draft, author):
    rules.request_rule_set_publication(author, draft)
    with pytest.raises(PublicationPending):
        rules.update_draft(author, draft, _with_elderly(draft, 12))


def test_a_draft_changed_after_the_request_is_not_published_by_an_old_approval(draft, author, reviewer):
    request = rules.request_rule_set_publication(author, draft)
    changes.withdraw_change(author, request.id)
    rules.update_draft(author, draft, _with_elderly(draft, 12))
    again = rules.request_rule_set_publication(author, draft)
    assert again.target_version == 2
    changes.approve_change(reviewer, again.id)
    assert db.session.get(RuleSet, draft.id).config["rates"]["elderly_care"]["points"] == 12


def test_two_drafts_waiting_to_be_published_from_the_same_date_overlap_and_the_second_is_refused(draft, author, city):
    rules.request_rule_set_publication(author, draft)
    second = rules.create_rule_set(author, city, effective_from=date(2031, 1, 1))
    with pytest.raises(ValidationError) as refused:
        rules.request_rule_set_publication(author, second)
    assert refused.value.details["field"] == "effective_from"
    assert rules.pending_publication(second) is None


def test_a_draft_without_an_effective_date_cannot_be_requested(build, city, author):
    build.city_rules(city)
    undated = rules.create_rule_set(author, city)
    with pytest.raises(ValidationError) as refused:
        rules.request_rule_set_publication(author, undated)
    assert refused.value.details["field"] == "effective_from"
