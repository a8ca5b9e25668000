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


def test_verify_reports_a_broken_service_record(app, build, runner):
    from points_service.extensions import db

    record = build.approved_record(build.volunteer())
    db.session.execute(ServiceRecord.__table__.update().where(ServiceRecord.id == record.id).values(status="pending"))
    db.session.commit()

    result = runner.invoke(args=["points", "verify"])

    assert result.exit_code == 1
    assert f"service record {record.id} (pending" in result.output
