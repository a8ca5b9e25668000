"""A year without holiday data, then its calendar entered: dated cases for 2027.

``chinese-calendar`` 1.11 ends with 2026. The tests hide the package's data for the
years they are about (``without_package_data``), so they keep proving the same thing
when a release with 2027 is installed.

``CALENDAR_2027`` has the shape of the State Council's notice (every day off as a
holiday, bridged days included, and the Saturdays worked as swapped working days); its
Spring Festival follows the lunar calendar (New Year's Day of the Year of the Goat is
Saturday 2027-02-06), but it is test data, not the notice.
"""

import json
from datetime import date, datetime, timedelta

import chinese_calendar
import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from points_service.activities import service as activities
from points_service.audit.models import AuditEvent
from points_service.checks import run_all_checks
from points_service.errors import PermissionDenied, ValidationError
from points_service.extensions import db
from points_service.ledger.models import LedgerEntry
from points_service.organizations.service import create_organization
from points_service.rules import calendar
from points_service.rules import service as rules
from points_service.rules.calendar import CalendarRejected
from points_service.rules.models import HolidayCalendar
from points_service.timeutil import to_utc
from tests.builders.rules import CITY_RULES, rules_config

NEW_YEAR_2027 = date(2027, 1, 1)  # a Friday
SPRING_FESTIVAL_2027 = date(2027, 2, 6)  # a Saturday
ORDINARY_TUESDAY = date(2027, 1, 5)
SWAPPED_SATURDAY = date(2027, 2, 20)  # worked for the Spring Festival in CALENDAR_2027
NATIONAL_DAY_2027 = date(2027, 10, 1)

CALENDAR_2027 = [
    {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
    *(
        {"date": (date(2027, 2, 5) + timedelta(days=n)).isoformat(), "kind": "holiday", "name": "春节"}
        for n in range(9)
    ),
    {"date": "2027-02-20", "kind": "workday", "name": "春节"},
    {"date": "2027-04-05", "kind": "holiday", "name": "清明节"},
    {"date": "2027-05-01", "kind": "holiday", "name": "劳动节"},
    {"date": "2027-06-09", "kind": "holiday", "name": "端午节"},
    {"date": "2027-09-15", "kind": "holiday", "name": "中秋节"},
    *({"date": f"2027-10-0{n}", "kind": "holiday", "name": "国庆节"} for n in range(1, 8)),
    {"date": "2027-10-09", "kind": "workday", "name": "国庆节"},
]

# Weekend x1.2, holiday x1.5; no bonus, so each record's points are its hours alone.
RULES = rules_config(CITY_RULES, bonuses={"first_service": 0, "milestones": []})


@pytest.fixture
def without_package_data(monkeypatch):
    """Hide the package's data for the given years, as if the installed release ended before them."""
    hidden = set()
    real = chinese_calendar.get_holiday_detail

    def get_holiday_detail(day):
        if day.year in hidden:
            raise NotImplementedError(f"no available data for year {day.year}")
        return real(day)

    monkeypatch.setattr(chinese_calendar, "get_holiday_detail", get_holiday_detail)
    calendar.package_has_year.cache_clear()
    yield hidden
    calendar.package_has_year.cache_clear()


@pytest.fixture
def year_2027(without_package_data):
    without_package_data.add(2027)
    return 2027


@pytest.fixture
def scheme(build):
    """The city's rules, an administrator of the city, and an approver of the first community."""
    build.rule_set(config=RULES)
    return build.rules_admin(), build.approver()


def local(day, hour):
    """A Shanghai wall-clock time as naive UTC."""
    return to_utc(datetime.combine(day, datetime.min.time()) + timedelta(hours=hour), "Asia/Shanghai")


def approved(build, volunteer, day, *, hours=2):
    """A record of ``hours`` from 10:00 local on ``day``, entered and approved the next day."""
    started_at = local(day, 10)
    record = activities.enter_record(
        build.organizer(),
        member_no=volunteer.volunteer.member_no,
        organization=build.community,
        category="patrol",
        started_at=started_at,
        ended_at=started_at + timedelta(hours=hours),
        now=started_at + timedelta(days=1),
    )
    return activities.approve_record(build.approver(), record.id, now=started_at + timedelta(days=1))


def steps(record, kind):
    return [step for step in record.breakdown if step["step"] == kind]


def multipliers(record):
    return [item["kind"] for step in steps(record, "multiplier") for item in step["applied"]]


def assert_verified():
    report = run_all_checks()
    assert report.discrepancies == []


def calendar_adjustments():
    return (
        db.session.execute(
            select(LedgerEntry)
            .where(LedgerEntry.kind == "adjust", LedgerEntry.reason == "Holiday calendar entered: points re-rated")
            .order_by(LedgerEntry.id)
        )
        .scalars()
        .all()
    )


def import_2027(admin, days=CALENDAR_2027, now=None):
    return activities.import_year_calendar(
        admin, 2027, days, source="test notice shaped like 国办发明电", now=now or local(date(2027, 11, 1), 9)
    )


# -- no data for 2027 ---------------------------------------------------------------------


def test_the_installed_package_has_no_2027_so_the_year_is_missing_without_the_fixture():
    calendar.package_has_year.cache_clear()
    if calendar.package_has_year(2027):
        pytest.skip("the installed chinese-calendar has 2027 now; the dated cases hide it")
    assert calendar.classify_day(NEW_YEAR_2027) == calendar.DayKind("workday", "missing")
    assert calendar.classify_day(SPRING_FESTIVAL_2027) == calendar.DayKind("weekend", "missing")


def test_without_data_new_years_day_2027_is_rated_as_a_workday_and_the_award_says_so(build, scheme, year_2027):
    record = approved(build, build.volunteer(), NEW_YEAR_2027)

    assert record.points == 20
    assert multipliers(record) == []
    assert steps(record, "calendar_missing") == [{"step": "calendar_missing", "year": 2027, "points": 0}]
    assert steps(record, "rule_set")[0]["day_kind"] == "workday"
    assert_verified()


def test_without_data_the_2027_spring_festival_is_rated_as_a_weekend(build, scheme, year_2027):
    record = approved(build, build.volunteer(), SPRING_FESTIVAL_2027)

    assert record.points == 24
    assert multipliers(record) == ["weekend"]
    assert [step["year"] for step in steps(record, "calendar_missing")] == [2027]
    assert_verified()


def test_the_missing_data_line_is_rendered_in_both_languages(build, scheme, year_2027):
    record = approved(build, build.volunteer(), SPRING_FESTIVAL_2027)

    with force_locale("en"):
        english = rules.explain_award(record.breakdown)
    with force_locale("zh_CN"):
        chinese = rules.explain_award(record.breakdown)

    assert "Holiday data for 2027 is missing: the day was rated as a workday or weekend by its weekday." in english
    assert "2027 年节假日数据缺失：当天按星期几计为工作日或周末。" in chinese


def test_a_year_with_package_data_has_no_missing_data_line(build, scheme):
    record = approved(build, build.volunteer(), date(2026, 10, 1))

    assert multipliers(record) == ["holiday"]
    assert steps(record, "calendar_missing") == []


@pytest.mark.parametrize(
    ("today", "warned"),
    [
        (date(2026, 9, 1), []),
        (date(2026, 11, 1), []),
        (date(2026, 11, 2), [2027]),  # 60 days before 2027-01-01
        (date(2026, 12, 2), [2027]),
        (date(2027, 2, 6), [2027]),
    ],
)
def test_staff_are_warned_from_60_days_before_a_year_without_data(build, year_2027, today, warned):
    build.tree()
    assert rules.calendar_warnings(today) == warned


def test_the_warning_ends_when_the_calendar_is_entered(build, scheme, year_2027):
    admin, _approver = scheme
    import_2027(admin)

    assert rules.calendar_warnings(date(2026, 12, 2)) == []
    assert rules.calendar_status(2027).source == "entered"


# -- the calendar arrives --------------------------------------------------------------------


def test_entering_the_calendar_corrects_records_already_rated_by_adjustment_entries(build, scheme, year_2027):
    admin, _approver = scheme
    volunteer = build.volunteer()
    new_year = approved(build, volunteer, NEW_YEAR_2027)
    tuesday = approved(build, volunteer, ORDINARY_TUESDAY)
    festival = approved(build, volunteer, SPRING_FESTIVAL_2027)
    swapped = approved(build, volunteer, SWAPPED_SATURDAY)
    assert [r.points for r in (new_year, tuesday, festival, swapped)] == [20, 20, 24, 24]
    earned = {r.id: r.earn_entry_id for r in (new_year, tuesday, festival, swapped)}

    result = import_2027(admin)

    assert result.changed is True
    assert (result.rerate.records, result.rerate.changed) == (4, 3)
    assert (result.rerate.points_added, result.rerate.points_removed, result.rerate.shortfall) == (16, 4, 0)
    points = {r.record.id: r.record.points for r in activities.my_records(volunteer)}
    assert [points[r.id] for r in (new_year, tuesday, festival, swapped)] == [30, 20, 30, 20]
    assert build.account(volunteer).balance == 100
    # The earn entries stay as they were; each correction is an adjustment of its own.
    assert {r.id: activities.get_record(r.id).earn_entry_id for r in (new_year, festival)} == {
        new_year.id: earned[new_year.id],
        festival.id: earned[festival.id],
    }
    assert activities.get_record(new_year.id).awarded_points == 20
    assert sorted(e.delta for e in calendar_adjustments()) == [-4, 6, 10]
    assert all(e.details["year"] == 2027 for e in calendar_adjustments())
    assert_verified()


def test_each_correction_is_explained_on_the_record(build, scheme, year_2027):
    admin, _approver = scheme
    volunteer = build.volunteer()
    new_year = approved(build, volunteer, NEW_YEAR_2027)
    tuesday = approved(build, volunteer, ORDINARY_TUESDAY)
    swapped = approved(build, volunteer, SWAPPED_SATURDAY)

    import_2027(admin)

    explained = {r.record.id: r.lines for r in activities.my_records(volunteer)}
    assert "Holiday calendar for 2027 entered: re-rated as a public holiday: +10 points." in explained[new_year.id]
    assert explained[new_year.id][-1] == "Total: 30 points."
    assert "Holiday calendar for 2027 entered: re-rated as a workday: −4 points." in explained[swapped.id]
    assert (
        "Holiday calendar for 2027 entered: re-rated; the day is a workday as rated, no change."
        in explained[tuesday.id]
    )
    with force_locale("zh_CN"):
        chinese = rules.explain_award(activities.get_record(new_year.id).breakdown)
    assert "2027 年节假日安排已录入：按法定节假日重新核算：+10积分。" in chinese


def test_importing_the_same_calendar_twice_corrects_once(build, scheme, year_2027):
    admin, _approver = scheme
    volunteer = build.volunteer()
    approved(build, volunteer, NEW_YEAR_2027)
    approved(build, volunteer, SPRING_FESTIVAL_2027)

    first = import_2027(admin)
    second = import_2027(admin)

    assert (first.rerate.changed, second.changed, second.rerate.records) == (2, False, 0)
    assert len(calendar_adjustments()) == 2
    assert build.account(volunteer).balance == 60
    assert db.session.execute(select(func.count()).select_from(HolidayCalendar)).scalar_one() == 1
    assert_verified()


def test_new_approvals_after_the_calendar_get_the_holiday_multiplier(build, scheme, year_2027):
    admin, _approver = scheme
    import_2027(admin)
    volunteer = build.volunteer()

    festival = approved(build, volunteer, SPRING_FESTIVAL_2027)
    national_day = approved(build, volunteer, NATIONAL_DAY_2027)
    swapped = approved(build, volunteer, SWAPPED_SATURDAY)

    assert [festival.points, national_day.points, swapped.points] == [30, 30, 20]
    assert multipliers(festival) == ["holiday"]
    assert multipliers(swapped) == []
    assert steps(festival, "calendar_missing") == []
    assert calendar_adjustments() == []
    assert_verified()


def test_a_correction_down_takes_back_only_what_remains(build, scheme, year_2027):
    admin, _approver = scheme
    volunteer = build.volunteer()
    approved(build, volunteer, SWAPPED_SATURDAY)  # 24 points, 20 once it is a swapped working day
    from points_service.ledger import service as ledger

    ledger.spend_points(build.account(volunteer).id, 22, reason="Goods")

    result = import_2027(admin)

    assert (result.rerate.points_removed, result.rerate.shortfall) == (2, 2)
    assert build.account(volunteer).balance == 0
    record = activities.my_records(volunteer)[0]
    assert record.record.points == 22
    assert "2 points could not be taken back because they were already spent." in record.lines[-2]
    assert_verified()


def test_a_changed_calendar_corrects_again_and_only_the_changed_days(build, scheme, year_2027):
    admin, _approver = scheme
    volunteer = build.volunteer()
    new_year = approved(build, volunteer, NEW_YEAR_2027)
    festival = approved(build, volunteer, SPRING_FESTIVAL_2027)
    import_2027(admin)
    corrected = [day for day in CALENDAR_2027 if day["date"] != "2027-01-01"]

    result = import_2027(admin, corrected)

    assert (result.changed, result.rerate.records, result.rerate.points_removed) == (True, 1, 10)
    assert activities.get_record(new_year.id).points == 20
    assert activities.get_record(festival.id).points == 30
    assert len(calendar_adjustments()) == 3
    assert_verified()


def test_the_calendar_records_who_entered_it_and_is_audited(build, scheme, year_2027):
    admin, _approver = scheme
    result = import_2027(admin)

    assert result.calendar.entered_by_id == admin.id
    assert result.calendar.source == "test notice shaped like 国办发明电"
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "rules.calendar_enter")).scalar_one()
    assert (event.actor_id, event.after["year"], len(event.after["days"])) == (admin.id, 2027, len(CALENDAR_2027))


def test_a_package_release_with_the_year_is_applied_by_a_re_rate(build, scheme, without_package_data):
    """The same path when the data comes from an upgraded package instead of an import."""
    admin, _approver = scheme
    without_package_data.add(2026)
    volunteer = build.volunteer()
    record = approved(build, volunteer, date(2026, 10, 1))  # a Thursday: a workday without data
    assert (record.points, [s["year"] for s in steps(record, "calendar_missing")]) == (20, [2026])

    without_package_data.clear()
    calendar.package_has_year.cache_clear()
    done = activities.rerate_calendar_year(admin, 2026, now=local(date(2026, 12, 2), 9))
    again = activities.rerate_calendar_year(admin, 2026, now=local(date(2026, 12, 2), 9))

    assert (done.changed, done.points_added, again.records) == (1, 10, 0)
    assert build.account(volunteer).balance == 30
    assert_verified()


# -- precedence ------------------------------------------------------------------------------


def test_an_entered_calendar_wins_over_the_package(build, scheme):
    admin, _approver = scheme
    rules.save_year_calendar(admin, 2026, [{"date": "2026-01-01", "kind": "holiday", "name": "元旦"}])

    assert rules.classify_day_for(build.community, date(2026, 1, 1)) == calendar.DayKind("holiday", "entered")
    # The package says National Day; this (deliberately short) entered calendar does not.
    assert rules.classify_day_for(build.community, date(2026, 10, 1)) == calendar.DayKind("workday", "entered")


def test_an_override_wins_over_an_entered_calendar(build, scheme, year_2027):
    admin, _approver = scheme
    import_2027(admin)
    rules.set_holiday_override(admin, date(2027, 2, 8), "workday", "Community keeps working", build.community)

    assert rules.classify_day_for(build.community, date(2027, 2, 8)) == calendar.DayKind("workday", "override")
    assert rules.classify_day_for(build.community, date(2027, 2, 9)).kind == "holiday"


def test_a_top_level_organizations_own_calendar_wins_and_scopes_the_warning(build, year_2027):
    city = build.tree()["city"]
    other = create_organization("Other City", "city")
    admin = build.rules_admin(city)
    rules.save_year_calendar(admin, 2027, [{"date": "2027-03-01", "kind": "holiday", "name": "City day"}], city)

    assert rules.classify_day_for(build.community, date(2027, 3, 1)).kind == "holiday"
    assert rules.classify_day_for(other, date(2027, 3, 1)) == calendar.DayKind("workday", "missing")
    assert rules.calendar_warnings(date(2026, 12, 2), [build.community]) == []
    assert rules.calendar_warnings(date(2026, 12, 2), [other]) == [2027]
    assert rules.calendar_warnings(date(2026, 12, 2)) == [2027]


# -- what is refused ------------------------------------------------------------------------


def test_a_calendar_with_errors_is_refused_whole_with_every_line_named(build, scheme, year_2027):
    admin, _approver = scheme
    rows = [
        {"line": 2, "date": "2027-01-01", "kind": "holiday", "name": "元旦"},
        {"line": 3, "date": "2026-12-31", "kind": "holiday", "name": "元旦"},
        {"line": 4, "date": "2027-01-01", "kind": "holiday", "name": "元旦"},
        {"line": 5, "date": "2027-02-08", "kind": "party", "name": "春节"},
        {"line": 6, "date": "2027-02-09", "kind": "workday", "name": "春节"},  # a Tuesday
        {"line": 7, "date": "2027-13-01", "kind": "holiday", "name": ""},
    ]

    with pytest.raises(CalendarRejected) as refused:
        rules.save_year_calendar(admin, 2027, rows)

    problems = [(p.line, p.column) for p in refused.value.problems]
    assert problems == [(3, "date"), (4, "date"), (5, "kind"), (6, "kind"), (7, "date"), (7, "name")]
    assert refused.value.status == 422
    assert HolidayCalendar.query.count() == 0


@pytest.mark.parametrize("year", [1999, 2101, "2027", True])
def test_a_year_out_of_range_is_refused(build, year):
    with pytest.raises(ValidationError) as refused:
        rules.save_year_calendar(None, year, CALENDAR_2027)
    assert refused.value.details["field"] == "year"


def test_a_calendar_without_any_holiday_is_refused(build):
    with pytest.raises(CalendarRejected, match="problems"):
        rules.save_year_calendar(None, 2027, [{"date": "2027-02-20", "kind": "workday", "name": "春节"}])


def test_a_deployment_calendar_needs_a_city_administrator(build, year_2027):
    community_admin = build.rules_admin(build.community)
    with pytest.raises(PermissionDenied):
        import_2027(community_admin)
    with pytest.raises(ValidationError, match="top-level"):
        rules.save_year_calendar(community_admin, 2027, CALENDAR_2027, build.community)
    assert HolidayCalendar.query.count() == 0


# -- the command line -------------------------------------------------------------------------


def test_calendar_commands_status_import_show(build, scheme, year_2027, runner, tmp_path):
    volunteer = build.volunteer()
    approved(build, volunteer, NEW_YEAR_2027)
    before = runner.invoke(args=["points", "calendar-status", "--today", "2026-11-02"])
    assert before.exit_code == 1
    assert "2027: MISSING" in before.output
    assert "warning: holiday data for 2027 is missing" in before.output
    assert "2026: chinese-calendar" in before.output
    quiet = runner.invoke(args=["points", "calendar-status", "--today", "2026-11-01"])
    assert quiet.exit_code == 0, quiet.output

    path = tmp_path / "2027.csv"
    lines = ["date,kind,name"] + [f"{d['date']},{d['kind']},{d['name']}" for d in CALENDAR_2027]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    imported = runner.invoke(args=["points", "calendar-import", str(path), "--year", "2027", "--source", "notice"])
    assert imported.exit_code == 0, imported.output
    assert "calendar 2027: entered; 21 holidays, 2 swapped working days" in imported.output
    assert "re-rated 1 records of 2027: 1 corrected" in imported.output
    again = runner.invoke(args=["points", "calendar-import", str(path), "--year", "2027", "--source", "notice"])
    assert "unchanged" in again.output
    assert "re-rated 0 records" in again.output
    assert build.account(volunteer).balance == 30

    after = runner.invoke(args=["points", "calendar-status", "--today", "2026-12-02"])
    assert after.exit_code == 0, after.output
    assert "2027: entered calendar, 23 days, by the command line" in after.output
    shown = runner.invoke(args=["points", "calendar-show", "--year", "2027"])
    assert "2027-02-06  Sat  holiday  春节" in shown.output
    assert "2027-02-20  Sat  workday  春节" in shown.output
    package = runner.invoke(args=["points", "calendar-show", "--year", "2026"])
    assert "2026-10-10  Sat  workday" in package.output
    assert runner.invoke(args=["points", "verify"]).exit_code == 0


def test_calendar_import_names_every_bad_line_and_saves_nothing(build, year_2027, runner, tmp_path):
    build.tree()
    path = tmp_path / "2027.csv"
    path.write_text("日期,类型,名称\n2027-01-01,休,元旦\n2027-1-32,holiday,x\n2027-02-09,班,春节\n", encoding="utf-8")
    result = runner.invoke(args=["points", "calendar-import", str(path), "--year", "2027"])
    assert result.exit_code == 2
    assert "line 3: date: Enter the date as YYYY-MM-DD." in result.output
    assert "line 4: kind: 2027-02-09 is not a Saturday or Sunday" in result.output
    assert HolidayCalendar.query.count() == 0


def test_calendar_import_reads_json(build, year_2027, runner, tmp_path):
    build.tree()
    path = tmp_path / "2027.json"
    path.write_text(json.dumps({"days": CALENDAR_2027[:3] + [{"date": "2027-02-30"}]}), encoding="utf-8")
    refused = runner.invoke(args=["points", "calendar-import", str(path), "--year", "2027"])
    assert "entry 4: date" in refused.output
    path.write_text(json.dumps(CALENDAR_2027, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["points", "calendar-import", str(path), "--year", "2027"])
    assert result.exit_code == 0, result.output
    assert rules.calendar_status(2027).calendar.days[0].name == "元旦"
