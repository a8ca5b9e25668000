"""The dashboard's figures of the present moment, its months, and the rebuild command."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from points_service.audit.models import AuditEvent
from points_service.errors import NotFound, PermissionDenied, ValidationError
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.reports import service as reports
from points_service.timeutil import utcnow


def test_points_outstanding_are_the_subtrees_balances_less_points_past_their_time(build):
    tree = build.tree()
    inside, outside = build.volunteer(tree["communities"][0], points=40), build.volunteer(tree["communities"][3], 70)
    now = utcnow()
    account = build.account(inside).id
    ledger.earn_points(account, 5, reason="test", expires_at=now - timedelta(hours=1), now=now - timedelta(days=1))
    ledger.earn_points(account, 6, reason="test", expires_at=now + timedelta(days=10))
    ledger.earn_points(account, 8, reason="test", expires_at=now + timedelta(days=60))
    ledger.earn_points(build.account(outside).id, 9, reason="test", expires_at=now + timedelta(days=5))

    district = tree["districts"][0]
    assert reports.points_outstanding(district, now) == 40 + 6 + 8  # the 5 past their time are not owed
    assert reports.points_expiring(district, now) == {30: 6, 90: 14}
    assert reports.points_outstanding(tree["city"], now) == 54 + 79


def test_the_backlog_counts_pending_records_by_how_long_they_waited(build):
    volunteer = build.volunteer()
    for day in range(3):
        build.record(volunteer, started_at=(utcnow() - timedelta(days=day + 1)).replace(second=0, microsecond=0))

    backlog = reports.approval_backlog(build.community, now=utcnow() + timedelta(days=10))

    assert (backlog.pending, backlog.oldest_days, backlog.by_age) == (3, 10, [0, 0, 3, 0, 0])
    assert reports.approval_backlog(build.tree()["communities"][3]).pending == 0


def test_the_dashboard_is_for_admins_of_the_node(build):
    tree = build.tree()
    months = reports.month_span(date(2026, 1, 1), date(2026, 3, 1))
    admin = build.staff("admin", tree["districts"][0])
    assert reports.build_dashboard(admin, tree["communities"][1], months).months == months
    with pytest.raises(PermissionDenied):
        reports.build_dashboard(build.staff("organizer", tree["city"]), tree["city"], months)
    with pytest.raises(NotFound):
        reports.report_organization(admin, tree["communities"][3].id)
    assert reports.report_organization(admin) == tree["districts"][0]


def test_the_nodes_offered_are_the_admins_roots_the_way_down_and_the_children(build):
    tree = build.tree()
    admin = build.staff("admin", tree["districts"][0])
    offered = reports.organization_choices(admin, tree["streets"][0])
    assert offered == [tree["districts"][0], tree["streets"][0], *tree["communities"][:2]]


def test_months_are_in_order_and_at_most_sixty():
    assert reports.month_span(date(2025, 11, 1), date(2026, 2, 1)) == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]
    with pytest.raises(ValidationError):
        reports.month_span(date(2026, 2, 1), date(2026, 1, 1))
    with pytest.raises(ValidationError):
        reports.month_span(date(2020, 1, 1), date(2025, 1, 1))


def test_the_rebuild_command_reports_its_rows_and_is_audited_as_the_command_line(build, runner):
    volunteer = build.volunteer()
    build.approved_record(volunteer)

    result = runner.invoke(args=["points", "reports-rebuild", "--org", "Test City", "--actor", "ops"])

    assert result.exit_code == 0, result.output
    assert "report_service_months: 4 rows" in result.output  # the community, its street, district and city
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "reports.rebuild")).scalar_one()
    assert event.actor_label == "cli:ops"
    assert runner.invoke(args=["points", "reports-rebuild", "--org", "Nowhere"]).exit_code == 2
