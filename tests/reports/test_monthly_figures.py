"""Monthly figures kept with every change equal what the raw tables say, and a rebuild
recomputes the same."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from points_service.activities import service as activities
from points_service.audit.models import AuditEvent
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.perks import service as perks
from points_service.reports import aggregates
from points_service.reports import service as reports
from points_service.reports.models import ServiceMonth, VolunteerMonth
from points_service.rules import service as rules
from points_service.timeutil import to_utc, utcnow
from tests.builders.perks import redeem_with_code, request_key, stars
from tests.builders.rules import rules_config
from tests.reports.helpers import raw_figures, stored_figures


@pytest.fixture
def app_config():
    return {"VOUCHER_TTL_MINUTES": 60}


def hours_ago(hours):
    return (utcnow() - timedelta(hours=hours)).replace(second=0, microsecond=0)


def test_every_kind_of_change_keeps_the_figures_equal_to_the_raw_tables(build):
    tree = build.tree()
    home, other = tree["communities"][0], tree["communities"][1]
    district = tree["districts"][0]
    first, second = build.volunteer(home), build.volunteer(other)
    approved = [
        build.approved_record(first, started_at=hours_ago(30), minutes=60),
        build.approved_record(first, organization=other, started_at=hours_ago(60), minutes=90, category="patrol"),
        build.approved_record(second, organization=other, started_at=hours_ago(40), minutes=120),
    ]
    admin = build.staff("admin", tree["city"])
    activities.reverse_record(admin, approved[1].id, "entered twice")
    doubled = rules_config()
    for rate in doubled["rates"].values():
        rate["points"] = 20
    newer = rules.publish_rule_set(None, build.rule_set(config=doubled, publish=False), date(2020, 1, 1))
    today = utcnow().date()
    activities.rerate_period(admin, newer, today - timedelta(days=7), today + timedelta(days=1))

    clerk = build.counter_clerk(district)
    perk = build.perk(points_cost=5)
    kept = redeem_with_code(clerk, district, first.volunteer.member_no, perk.id, 1, request_key(), level_of=stars(0))
    voided = redeem_with_code(clerk, district, first.volunteer.member_no, perk.id, 2, request_key(), level_of=stars(0))
    perks.void_redemption(admin, voided.id, "wrong perk")
    handed = perks.reserve_perk(second, perk.id, 1, request_key(), level_of=stars(0))
    perks.fulfil_voucher(clerk, district, handed.voucher_code, request_key())
    perks.reserve_perk(second, perk.id, 1, request_key(), level_of=stars(0), now=hours_ago(3))
    perks.expire_reservations()
    ledger.earn_points(build.account(second).id, 7, reason="test", expires_at=hours_ago(1), now=hours_ago(2))
    ledger.expire_due_lots()

    db.session.expire_all()
    stored = stored_figures()
    assert stored == raw_figures()
    city = tree["city"].id  # the city's rows hold the whole tree's figures

    def at_city(figure, total=None):
        return sum(v for k, v in stored[figure].items() if k[0] == city and total in (None, k[-1]))

    assert at_city("service", "records") == 2
    assert at_city("service", "points") == 60  # re-rated to 20 an hour
    assert at_city("perks", "redemptions") == 2
    assert sum(v for k, v in stored["counters"].items() if k[-1] == "redemptions") == 2  # at the counter only
    assert kept.counter_organization_id == district.id
    assert at_city("expired") == 7


def test_a_rebuild_recomputes_the_same_figures_and_is_audited(build):
    volunteer = build.volunteer()
    build.approved_record(volunteer, started_at=hours_ago(30), minutes=60)
    build.approved_record(volunteer, organization=build.tree()["communities"][2], started_at=hours_ago(50))
    before = stored_figures()

    written = aggregates.rebuild_monthly_figures(None)

    db.session.expire_all()
    assert stored_figures() == before == raw_figures()
    rows = db.session.execute(select(func.count()).select_from(ServiceMonth)).scalar_one()
    assert written["report_service_months"] == rows  # both communities, their streets and districts, the city
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "reports.rebuild")).scalar_one()
    assert event.after == {"rows": written}


def test_a_rebuild_of_one_subtree_leaves_the_others_alone(build):
    tree = build.tree()
    volunteer = build.volunteer()
    build.approved_record(volunteer, started_at=hours_ago(30))
    build.approved_record(volunteer, organization=tree["communities"][2], started_at=hours_ago(50))
    db.session.execute(ServiceMonth.__table__.update().values(points=999))
    db.session.commit()

    aggregates.rebuild_monthly_figures(None, tree["districts"][0])

    points = dict(db.session.execute(select(ServiceMonth.organization_id, ServiceMonth.points)).all())
    rebuilt = {tree["communities"][0].id, tree["streets"][0].id, tree["districts"][0].id}
    left_alone = {tree["communities"][2].id, tree["streets"][1].id, tree["districts"][1].id, tree["city"].id}
    assert points == {**dict.fromkeys(rebuilt, 10), **dict.fromkeys(left_alone, 999)}


def test_service_is_filed_in_the_local_month_it_started(build):
    # 23:30 on 31 January in Shanghai is still January there, though February never began in UTC.
    started = to_utc(datetime(2026, 1, 31, 23, 30), build.community.timezone)
    volunteer = build.volunteer()
    record = build.record(volunteer, started_at=started, minutes=60)
    activities.approve_record(build.approver(), record.id, now=datetime(2026, 2, 2))

    assert set(db.session.execute(select(ServiceMonth.month)).scalars()) == {date(2026, 1, 1)}


def test_a_failed_unit_of_work_counts_nothing(build):
    volunteer = build.volunteer()
    record = build.record(volunteer, started_at=hours_ago(30))
    with pytest.raises(RuntimeError):
        from points_service.database import write_transaction

        with write_transaction():
            activities.approve_record(build.approver(), record.id)
            raise RuntimeError("the rest of the work failed")

    assert db.session.execute(select(func.count()).select_from(VolunteerMonth)).scalar_one() == 0
    assert stored_figures() == raw_figures()


def test_a_volunteer_serving_in_two_communities_is_active_once_and_not_after_both_are_reversed(build):
    tree = build.tree()
    volunteer = build.volunteer(tree["communities"][0])
    admin = build.staff("admin", tree["city"])
    when = hours_ago(30)
    first = build.approved_record(volunteer, started_at=when)
    second = build.approved_record(volunteer, organization=tree["communities"][1], started_at=when + timedelta(hours=2))
    months = reports.month_span(*[aggregates.month_of(when, build.community.timezone)] * 2)

    assert reports.build_dashboard(admin, tree["districts"][0], months).active_volunteers == {months[0]: 1}
    activities.reverse_record(admin, first.id, "entered twice")
    assert reports.build_dashboard(admin, tree["districts"][0], months).active_volunteers == {months[0]: 1}
    activities.reverse_record(admin, second.id, "entered twice")
    assert reports.build_dashboard(admin, tree["city"], months).active_volunteers.get(months[0], 0) == 0
