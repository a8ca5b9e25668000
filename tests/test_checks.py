"""``points verify`` across domains: an approved service record's points against its ledger entries."""

from datetime import date, timedelta

from sqlalchemy import text

from points_service.activities import service as activities
from points_service.checks import run_all_checks
from points_service.extensions import db
from points_service.rules import service as rules
from points_service.timeutil import to_local, utcnow
from tests.builders.rules import rules_config
from tests.ledger.helpers import rewrite_history


def test_approved_and_re_rated_records_match_their_entries(build):
    volunteer = build.volunteer()
    started = (utcnow() - timedelta(days=2)).replace(second=0, microsecond=0)
    build.approved_record(volunteer, started_at=started, minutes=60)
    build.approved_record(volunteer, started_at=started + timedelta(hours=3), minutes=90)
    doubled = rules_config(rates={"elderly_care": {"points": 20, "per_minutes": 60}})
    newer = rules.publish_rule_set(None, build.rule_set(config=doubled, publish=False), date(2020, 1, 1))
    today = to_local(utcnow(), build.community.timezone).date()

    done = activities.rerate_period(build.rules_admin(), newer, today - timedelta(days=7), today)

    assert done.changed == 2
    assert run_all_checks().discrepancies == []


def test_an_approved_record_holding_other_points_than_its_entries_is_reported(build):
    volunteer = build.volunteer()
    record = build.approved_record(volunteer, minutes=60)
    db.session.execute(text("UPDATE service_records SET points = 15 WHERE id = :id"), {"id": record.id})
    db.session.commit()

    problems = run_all_checks().discrepancies

    account_id = build.account(volunteer).id
    assert (account_id, f"service record {record.id} holds 15 points, its ledger entries 10") in problems


def test_an_earn_entry_rewritten_behind_the_databases_back_is_reported_against_its_record(build, runner):
    volunteer = build.volunteer()
    record = build.approved_record(volunteer, minutes=60)
    rewrite_history("UPDATE ledger_entries SET delta = 7, balance_after = 7 WHERE id = :id", id=record.earn_entry_id)

    result = runner.invoke(args=["points", "verify"])

    assert result.exit_code == 1
    account_id = build.account(volunteer).id
    assert f"account {account_id}: service record {record.id} holds 10 points, its ledger entries 7" in result.output
