from datetime import date, timedelta

import pytest
from sqlalchemy import select

from points_service.activities import service as activities
from points_service.errors import PermissionDenied, ValidationError
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.ledger.models import LedgerEntry
from points_service.rules import service as rules
from points_service.timeutil import to_local, utcnow
from tests.builders.rules import rules_config


def hours_ago(hours):
    return (utcnow() - timedelta(hours=hours)).replace(second=0, microsecond=0)


def double_rates():
    config = rules_config()
    for rate in config["rates"].values():
        rate["points"] = 20
    return config


@pytest.fixture
def admin(build):
    return build.staff("admin", build.tree()["city"])


@pytest.fixture
def history(build):
    """Two volunteers with approved records: 60 + 120 minutes, and 30 minutes (10 points an hour)."""
    first, second = build.volunteer(), build.volunteer()
    build.approved_record(first, started_at=hours_ago(48), minutes=60)
    build.approved_record(first, started_at=hours_ago(30), minutes=120, category="patrol")
    build.approved_record(second, started_at=hours_ago(40), minutes=30)
    return first, second


def test_simulating_a_draft_shows_points_before_and_after_per_category(build, admin, history):
    first, second = history
    draft = build.rule_set(config=double_rates(), publish=False)

    result = activities.simulate_draft(admin, draft, 3)

    assert (result.records, result.points_before, result.points_after) == (3, 35, 70)
    by_category = {c.category: (c.points_before, c.points_after) for c in result.categories}
    assert by_category == {"elderly_care": (15, 30), "patrol": (20, 40)}
    assert [c.volunteer_id for c in result.most_affected] == [first.volunteer.id, second.volunteer.id]


def test_simulation_is_for_rule_administrators_and_a_sensible_period(build, history):
    draft = build.rule_set(config=double_rates(), publish=False)
    with pytest.raises(PermissionDenied):
        activities.simulate_draft(build.approver(), draft, 3)
    with pytest.raises(ValidationError):
        activities.simulate_draft(build.staff("admin", build.tree()["city"]), draft, 0)


def test_re_rating_a_period_writes_one_adjustment_per_record_once(build, admin, history):
    first, second = history
    newer = rules.publish_rule_set(None, build.rule_set(config=double_rates(), publish=False), date(2020, 1, 1))
    today = to_local(utcnow(), build.community.timezone).date()

    done = activities.rerate_period(admin, newer, today - timedelta(days=7), today)
    again = activities.rerate_period(admin, newer, today - timedelta(days=7), today)

    assert (done.records, done.changed, done.points_added) == (3, 3, 35)
    assert (again.changed, again.already_done) == (0, 3)
    assert build.account(first).balance == 60
    assert build.account(second).balance == 10
    adjustments = db.session.execute(select(LedgerEntry).where(LedgerEntry.kind == "adjust")).scalars().all()
    assert len(adjustments) == 3
    assert all(e.idempotency_key.endswith(f":rerate:{newer.id}:{newer.version}") for e in adjustments)
    records = activities.my_records(first)
    assert {r.record.rule_set_id for r in records} == {newer.id}
    assert activities.check_service_records() == []
    assert ledger.verify_ledger().discrepancies == []


def test_re_rating_down_takes_back_what_remains_and_reports_the_rest(build, admin):
    volunteer = build.volunteer()
    build.approved_record(volunteer, started_at=hours_ago(30), minutes=120)
    ledger.spend_points(build.account(volunteer).id, 15, reason="Goods")
    cheaper = rules_config()
    for rate in cheaper["rates"].values():
        rate["points"] = 1
    newer = rules.publish_rule_set(None, build.rule_set(config=cheaper, publish=False), date(2020, 1, 1))
    today = to_local(utcnow(), build.community.timezone).date()

    done = activities.rerate_period(admin, newer, today - timedelta(days=3), today)

    assert (done.points_removed, done.shortfall) == (5, 13)
    assert build.account(volunteer).balance == 0


def test_records_another_rule_set_applies_to_are_not_re_rated(build, admin, history):
    community_rules = build.rule_set(build.community, config=double_rates())
    city_rules = rules.publish_rule_set(None, build.rule_set(config=double_rates(), publish=False), date(2020, 1, 1))
    today = to_local(utcnow(), build.community.timezone).date()

    done = activities.rerate_period(admin, city_rules, today - timedelta(days=7), today)

    assert (done.changed, done.not_covered) == (0, 3)
    assert community_rules.status == "published"


def test_a_record_reversed_after_re_rating_loses_all_its_points(build, admin):
    volunteer = build.volunteer()
    record = build.approved_record(volunteer, started_at=hours_ago(30), minutes=60)
    newer = rules.publish_rule_set(None, build.rule_set(config=double_rates(), publish=False), date(2020, 1, 1))
    today = to_local(utcnow(), build.community.timezone).date()
    activities.rerate_period(admin, newer, today - timedelta(days=3), today)
    assert build.account(volunteer).balance == 20

    result = activities.reverse_record(admin, record.id, "Fake hours")

    assert (result.points_removed, result.shortfall) == (20, 0)
    assert build.account(volunteer).balance == 0
    assert activities.check_service_records() == []


def test_re_rating_needs_a_published_set_and_a_real_period(build, admin):
    draft = build.rule_set(config=double_rates(), publish=False)
    today = date.today()
    with pytest.raises(ValidationError, match="published"):
        activities.rerate_period(admin, draft, today, today)
    published = build.service_rules()
    with pytest.raises(ValidationError, match="end on or after"):
        activities.rerate_period(admin, published, today, today - timedelta(days=1))
