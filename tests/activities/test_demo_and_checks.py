from points_service.activities.models import Activity, ServiceRecord
from points_service.demo import load_demo


def test_the_demo_has_activities_with_approved_and_pending_records_and_passes_verify(app, runner):
    load_demo(volunteers=16)

    statuses = {record.status for record in ServiceRecord.query.all()}
    assert statuses == {"approved", "pending"}
    assert Activity.query.count() == 5
    result = runner.invoke(args=["points", "verify"])
    assert result.exit_code == 0, result.output
    assert "0 discrepancies" in result.output


def test_the_demo_shows_ranked_honor_rolls_a_draft_to_simulate_and_histories_in_date_order(app):
    from points_service.honor.models import HonorRoll
    from points_service.honor.service import period_has_ended
    from points_service.ledger.models import LedgerEntry
    from points_service.rules.models import RuleSet

    load_demo(volunteers=16)

    rolls = HonorRoll.query.all()
    assert rolls and all(roll.entries for roll in rolls)
    # Published once the month has ended (by a second administrator); a draft while it runs.
    assert all(roll.status == ("published" if period_has_ended(roll) else "draft") for roll in rolls)
    assert {roll.metric for roll in rolls} == {"hours", "points"}
    assert RuleSet.query.filter_by(status="draft").count() == 1
    by_account = {}
    for entry in LedgerEntry.query.order_by(LedgerEntry.id):
        by_account.setdefault(entry.account_id, []).append(entry.created_at)
    assert all(moments == sorted(moments) for moments in by_account.values())


def test_verify_reports_a_broken_service_record(app, build, runner):
    from points_service.extensions import db

    record = build.approved_record(build.volunteer())
    db.session.execute(ServiceRecord.__table__.update().where(ServiceRecord.id == record.id).values(status="pending"))
    db.session.commit()

    result = runner.invoke(args=["points", "verify"])

    assert result.exit_code == 1
    assert f"service record {record.id} (pending" in result.output
