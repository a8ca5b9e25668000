"""Dated award scenarios through approval: service crossing midnight and a month end,
bonuses outside the caps, expiry counted from the service, categories a rule table
does not rate. Each ends with every invariant check clean (``flask points verify``)."""

from datetime import date, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from points_service.activities import service as activities
from points_service.checks import run_all_checks
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.ledger.models import LedgerEntry, PointsLot
from points_service.rules import service as rules
from points_service.rules.errors import CategoryNotRated, NoApplicableRuleSet
from tests.builders.rules import rules_config

# Service in 2027 is entered and approved "later", as if the clock said so.
LATER = datetime(2027, 6, 1, 2, 0)


def shanghai(*local):
    """Naive UTC of a wall-clock time in Shanghai (UTC+8)."""
    return datetime(*local) - timedelta(hours=8)


def use_rules(build, **sections):
    """Publish the plain test table with ``sections`` replaced, as the only table."""
    build._service_rules = build.rule_set(config=rules_config(**sections))
    return build._service_rules


def enter(build, volunteer, local_start, minutes, *, category="patrol", now=LATER):
    return activities.enter_record(
        build.organizer(),
        member_no=volunteer.volunteer.member_no,
        organization=build.community,
        category=category,
        started_at=shanghai(*local_start),
        ended_at=shanghai(*local_start) + timedelta(minutes=minutes),
        now=now,
    )


def approve(build, record, now=LATER):
    return activities.approve_record(build.approver(), record.id, now=now)


def earn_entries_of(record):
    return db.session.execute(
        select(func.count()).where(
            LedgerEntry.kind == "earn",
            LedgerEntry.cause_type == "service_record",
            LedgerEntry.cause_id == str(record.id),
        )
    ).scalar_one()


def parts_of(record):
    return [(step["day"], step["day_kind"]) for step in record.breakdown if step["step"] == "part"]


def assert_verify_is_clean():
    assert run_all_checks().discrepancies == []


SUNDAY_NIGHT = (2027, 1, 31, 22, 0)  # 22:00 on Sunday 31 January 2027 to 02:00 on Monday 1 February


# -- service across midnight ---------------------------------------------------------------


def test_overnight_service_on_31_january_is_rated_by_each_day_and_counted_against_each_days_cap(build):
    use_rules(build, multipliers={"weekend_percent": 150, "stacking": "max"}, caps={"per_day": 30})
    volunteer = build.volunteer()
    overnight = enter(build, volunteer, SUNDAY_NIGHT, 240)
    monday_morning = enter(build, volunteer, (2027, 2, 1, 9, 0), 180)

    decisions = activities.decide_records(build.approver(), [monday_morning.id, overnight.id], now=LATER)

    # Sunday 22:00-24:00 at x1.5 is 30 (Sunday's cap); Monday 00:00-02:00 plain is 20, so
    # only 10 of the morning's 30 fit under Monday's cap of 30.
    assert [(r.id, r.points) for r in decisions.approved] == [(overnight.id, 50), (monday_morning.id, 10)]
    assert parts_of(overnight) == [("2027-01-31", "weekend"), ("2027-02-01", "workday")]
    assert earn_entries_of(overnight) == 1
    assert overnight.verified_minutes == 240
    assert build.account(volunteer).balance == 60
    with force_locale("en"):
        lines = rules.explain_award(overnight.breakdown)
    assert any("Part 1 of 2, 2027-01-31 22:00–24:00 (a weekend day): 120 minutes" in line for line in lines)
    assert "Part 2 of 2, 2027-02-01 00:00–02:00 (a workday): 120 minutes, counted as 120 minutes." in lines
    assert_verify_is_clean()


def test_overnight_service_across_the_month_end_counts_each_part_against_its_own_month(build):
    use_rules(build, multipliers={"weekend_percent": 150, "stacking": "max"}, caps={"per_month": 100})
    volunteer = build.volunteer()
    approve(build, enter(build, volunteer, (2027, 1, 11, 9, 0), 540))  # Monday: 90 points in January

    overnight = approve(build, enter(build, volunteer, SUNDAY_NIGHT, 240))

    # January has room for 10 of the Sunday part's 30; February's part is all there: 20.
    assert overnight.points == 30
    caps = [(step["kind"], step["already"], step["points"]) for step in overnight.breakdown if step["step"] == "cap"]
    assert caps == [("per_month", 90, -20)]
    # The February part counts in February: 80 more fit there, not 100.
    february = approve(build, enter(build, volunteer, (2027, 2, 2, 9, 0), 600))
    assert february.points == 80
    assert_verify_is_clean()


def test_overnight_service_from_a_public_holiday_rates_only_the_holiday_part_as_a_holiday(build):
    use_rules(build, multipliers={"holiday_percent": 200, "stacking": "max"})
    volunteer = build.volunteer()

    # 7 October 2026 is the last day of the National Day holiday; the 8th is a workday.
    record = approve(build, enter(build, volunteer, (2026, 10, 7, 22, 0), 240, now=None), now=None)

    assert parts_of(record) == [("2026-10-07", "holiday"), ("2026-10-08", "workday")]
    assert record.points == 40 + 20
    assert_verify_is_clean()


def test_simulating_and_re_rating_overnight_service_keeps_each_part_on_its_own_day(build):
    use_rules(build, caps={"per_day": 40})
    volunteer = build.volunteer()
    admin = build.staff("admin", build.tree()["city"])
    overnight = enter(build, volunteer, SUNDAY_NIGHT, 240)
    monday_morning = enter(build, volunteer, (2027, 2, 1, 9, 0), 180)
    activities.decide_records(build.approver(), [overnight.id, monday_morning.id], now=LATER)
    assert (overnight.points, monday_morning.points) == (40, 20)  # Monday: 20 + 20 of 30 under the cap
    doubled = rules_config(caps={"per_day": 40})
    for rate in doubled["rates"].values():
        rate["points"] = 20
    draft = build.rule_set(config=doubled, publish=False)

    simulation = activities.simulate_draft(admin, draft, 6, now=LATER)
    published = rules.publish_rule_set(None, draft, date(2020, 1, 1))
    done = activities.rerate_period(admin, published, date(2027, 1, 31), date(2027, 2, 1), now=LATER)

    # Sunday's part 40, Monday's part 40: Monday is full, the morning now gets nothing.
    assert (simulation.points_before, simulation.points_after) == (60, 80)
    assert (activities.get_record(overnight.id).points, activities.get_record(monday_morning.id).points) == (80, 0)
    assert (done.changed, done.points_added, done.points_removed) == (2, 40, 20)
    assert build.account(volunteer).balance == 80
    assert_verify_is_clean()


# -- bonuses ---------------------------------------------------------------------------------


@pytest.mark.parametrize("together", [False, True], ids=["one by one", "in one batch"])
def test_a_first_service_bonus_does_not_use_up_the_day_cap(build, together):
    use_rules(build, caps={"per_day": 25}, bonuses={"first_service": 20, "milestones": []})
    volunteer = build.volunteer()
    morning = enter(build, volunteer, (2027, 3, 1, 9, 0), 120)
    afternoon = enter(build, volunteer, (2027, 3, 1, 13, 0), 120)

    if together:
        activities.decide_records(build.approver(), [morning.id, afternoon.id], now=LATER)
    else:
        approve(build, morning)
        approve(build, afternoon)

    # 20 for the morning's hours plus the bonus of 20; 5 more for hours fit under the cap of 25.
    assert (activities.get_record(morning.id).points, activities.get_record(afternoon.id).points) == (40, 5)
    with force_locale("en"):
        lines = rules.explain_award(activities.get_record(morning.id).breakdown)
    assert lines[-3:] == [
        "Points for the hours of service: 20 points.",
        "Bonus for a first service: +20 points.",
        "Total: 40 points.",
    ]
    assert_verify_is_clean()


# -- expiry ----------------------------------------------------------------------------------


def lot_of(record):
    return db.session.execute(select(PointsLot).where(PointsLot.entry_id == record.earn_entry_id)).scalar_one()


def test_a_record_approved_three_months_late_expires_with_its_neighbours(build):
    use_rules(build, expiry={"policy": "months", "months": 6})
    on_time, late = build.volunteer(), build.volunteer()
    served = (2027, 1, 10, 9, 0)
    prompt = approve(
        build, enter(build, on_time, served, 60, now=shanghai(2027, 1, 11, 9, 0)), now=shanghai(2027, 1, 11, 9, 0)
    )
    tardy = approve(
        build, enter(build, late, served, 60, now=shanghai(2027, 1, 11, 9, 0)), now=shanghai(2027, 4, 12, 9, 0)
    )

    assert lot_of(prompt).expires_at == lot_of(tardy).expires_at == shanghai(2027, 7, 10, 9, 0)
    assert ledger.expire_due_lots(now=shanghai(2027, 7, 10, 9, 0)) == (2, 20)
    assert_verify_is_clean()


def test_points_for_service_at_the_end_of_a_year_expire_by_that_year_even_when_approved_in_the_next(build):
    use_rules(build, expiry={"policy": "end_of_next_year"})
    volunteer = build.volunteer()
    record = enter(build, volunteer, (2027, 12, 30, 9, 0), 60, now=shanghai(2028, 1, 2, 9, 0))

    approved = approve(build, record, now=shanghai(2028, 1, 5, 9, 0))

    assert lot_of(approved).expires_at == shanghai(2029, 1, 1, 0, 0)
    assert_verify_is_clean()


# -- categories a rule table does not rate -----------------------------------------------------


def new_category():
    """A category added after the rule table was published."""
    return rules.create_category(None, "tutoring", "Homework tutoring", "课业辅导")


def test_a_category_added_after_publishing_is_refused_with_what_to_do_and_blocks_no_other_record(build):
    table = use_rules(build)
    new_category()
    volunteer = build.volunteer()
    patrol = enter(build, volunteer, (2027, 3, 1, 9, 0), 60)
    tutoring = enter(build, volunteer, (2027, 3, 1, 14, 0), 60, category="tutoring")

    decisions = activities.decide_records(build.approver(), [patrol.id, tutoring.id], now=LATER)

    assert [r.id for r in decisions.approved] == [patrol.id]
    (refused,) = decisions.not_approved
    assert refused.record.id == tutoring.id
    assert isinstance(refused.error, CategoryNotRated)
    with force_locale("en"):
        message = refused.message
    assert "has no rate for the category Homework tutoring and no default rate" in message
    assert f"rules-export {table.id}" in message
    assert activities.get_record(tutoring.id).status == "pending"
    assert earn_entries_of(tutoring) == 0
    with pytest.raises(CategoryNotRated):
        approve(build, tutoring)
    assert_verify_is_clean()


def test_a_default_rate_rates_a_category_the_table_does_not_name(build):
    use_rules(build, default_rate={"points": 6, "per_minutes": 60})
    new_category()
    record = approve(build, enter(build, build.volunteer(), (2027, 3, 1, 9, 0), 120, category="tutoring"))

    assert record.points == 12
    with force_locale("en"):
        lines = rules.explain_award(record.breakdown)
    assert "The rule table has no rate of its own for Homework tutoring, so its default rate applies." in lines
    assert_verify_is_clean()


def test_approving_a_whole_activity_approves_what_it_can_and_lists_the_rest(build):
    # The first rule table applies from 1 February 2027: a night shift that began on
    # 31 January has none; one that began after midnight has.
    build._service_rules = build.rule_set(config=rules_config(), effective_from=date(2027, 2, 1))
    activity = build.activity(starts_at=shanghai(*SUNDAY_NIGHT), minutes=240, category="patrol")
    early, late = build.volunteer(), build.volunteer()
    for volunteer, checked_in, checked_out in (
        (early, shanghai(2027, 1, 31, 22, 30), shanghai(2027, 2, 1, 1, 30)),
        (late, shanghai(2027, 2, 1, 0, 10), shanghai(2027, 2, 1, 1, 50)),
    ):
        for moment in (checked_in, checked_out):
            activities.check_in_member(build.organizer(), activity.id, volunteer.volunteer.member_no, now=moment)

    decisions = activities.approve_activity(build.approver(), activity.id, now=LATER)

    assert [r.volunteer_id for r in decisions.approved] == [late.volunteer.id]
    (refused,) = decisions.not_approved
    assert (refused.record.volunteer_id, type(refused.error)) == (early.volunteer.id, NoApplicableRuleSet)
    assert build.account(late).balance == 16 and build.account(early).balance == 0
    assert_verify_is_clean()
