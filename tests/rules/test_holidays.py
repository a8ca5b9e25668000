"""Public holidays, swapped working days and administrator overrides."""

from datetime import date, datetime, timedelta

import chinese_calendar
import pytest

from points_service.audit.models import AuditEvent
from points_service.errors import PermissionDenied, ValidationError
from points_service.rules import service as rules
from points_service.rules.calendar import DayKind, classify_day, day_kind, package_has_year, package_year_days
from points_service.rules.models import HolidayOverride
from points_service.rules.service import VolunteerHistory

NATIONAL_DAY = date(2026, 10, 1)
FIRST_SERVICE_DONE = VolunteerHistory(lifetime_minutes=600, approved_records=3, points_same_day=0, points_same_month=0)


def swapped_weekend_workdays_2026():
    days = chinese_calendar.get_workdays(date(2026, 1, 1), date(2026, 12, 31))
    return [day for day in days if day.weekday() >= 5]


def first_weekday(year, weekday):
    day = date(year, 1, 1)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


def test_national_day_2026_is_a_public_holiday():
    assert day_kind(NATIONAL_DAY) == "holiday"


def test_a_swapped_working_day_on_a_weekend_is_a_workday():
    swapped = swapped_weekend_workdays_2026()
    assert date(2026, 10, 10) in swapped  # the Saturday worked for National Day
    for day in swapped:
        assert day_kind(day) == "workday"


def test_an_ordinary_saturday_is_a_weekend():
    assert day_kind(date(2026, 3, 7)) == "weekend"


def test_overrides_win_over_the_calendar():
    assert day_kind(NATIONAL_DAY, {NATIONAL_DAY: "workday"}) == "workday"
    assert day_kind(date(2026, 3, 9), {date(2026, 3, 9): "holiday"}) == "holiday"
    assert day_kind(date(2026, 10, 10), {date(2026, 10, 10): "holiday"}) == "holiday"


def test_a_year_the_calendar_does_not_know_uses_weekends_and_overrides():
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_holiday(date(2035, 10, 1))
    saturday = first_weekday(2035, 5)
    assert day_kind(saturday) == "weekend"
    assert day_kind(saturday + timedelta(days=2)) == "workday"
    assert day_kind(date(2035, 10, 1), {date(2035, 10, 1): "holiday"}) == "holiday"


def test_each_day_kind_names_its_source():
    assert classify_day(NATIONAL_DAY) == DayKind("holiday", "package")
    assert classify_day(NATIONAL_DAY, {NATIONAL_DAY: "workday"}) == DayKind("workday", "override")
    assert classify_day(date(2035, 10, 1)) == DayKind("workday", "missing")
    assert classify_day(date(2035, 10, 1), entered={date(2035, 10, 1): "holiday"}) == DayKind("holiday", "entered")
    # A day an entered calendar does not list is a workday or weekend by its weekday, even
    # where the package would say otherwise: the entered calendar decides the whole year.
    assert classify_day(NATIONAL_DAY, entered={}) == DayKind("workday", "entered")
    assert classify_day(date(2035, 10, 6), entered={}) == DayKind("weekend", "entered")


def test_the_package_knows_2026_and_lists_its_swapped_working_days():
    assert package_has_year(2026)
    assert not package_has_year(2035)
    days = package_year_days(2026)
    assert (date(2026, 10, 10), "workday") in [(day, kind) for day, kind, _name in days]
    assert (date(2026, 10, 1), "holiday") in [(day, kind) for day, kind, _name in days]
    assert all(day.year == 2026 for day, _kind, _name in days)


def local_morning(day):
    """09:00 to 11:00 in Shanghai, as naive UTC."""
    start = datetime.combine(day, datetime.min.time()) + timedelta(hours=1)
    return start, start + timedelta(hours=2)


def rate_on(build, day, organization=None):
    started_at, ended_at = local_morning(day)
    return rules.rate_service(
        organization=organization or build.community,
        category="patrol",
        started_at=started_at,
        ended_at=ended_at,
        urgent=False,
        history=FIRST_SERVICE_DONE,
    )


def multipliers_of(award):
    step = next((step for step in award.breakdown if step["step"] == "multiplier"), None)
    return [item["kind"] for item in step["applied"]] if step else []


def test_holiday_multiplier_applies_on_2026_10_01(build):
    build.city_rules()
    award = rate_on(build, NATIONAL_DAY)
    assert multipliers_of(award) == ["holiday"]
    assert award.points == 30  # 2 h x 10 x 1.5


def test_no_multiplier_on_a_swapped_working_day(build):
    build.city_rules()
    award = rate_on(build, date(2026, 10, 10))
    assert multipliers_of(award) == []
    assert award.points == 20


def test_weekend_multiplier_on_an_ordinary_saturday(build):
    build.city_rules()
    assert multipliers_of(rate_on(build, date(2026, 3, 7))) == ["weekend"]


def test_a_global_override_makes_a_holiday(build):
    build.city_rules()
    rules.set_holiday_override(build.rules_admin(), date(2026, 3, 9), "holiday", "Local festival")
    assert multipliers_of(rate_on(build, date(2026, 3, 9))) == ["holiday"]


def test_the_nearest_organizations_override_wins(build):
    build.city_rules()
    tree = build.tree()
    admin = build.rules_admin()
    rules.set_holiday_override(admin, NATIONAL_DAY, "workday", "City keeps working", organization=tree["city"])
    rules.set_holiday_override(admin, NATIONAL_DAY, "holiday", "Community rests", organization=build.community)
    assert multipliers_of(rate_on(build, NATIONAL_DAY)) == ["holiday"]
    assert multipliers_of(rate_on(build, NATIONAL_DAY, tree["communities"][1])) == []


def test_unknown_year_works_with_overrides(build):
    build.city_rules()
    day = date(2035, 10, 1)
    assert multipliers_of(rate_on(build, day)) == []
    rules.set_holiday_override(None, day, "holiday", "National Day")
    assert multipliers_of(rate_on(build, day)) == ["holiday"]


def test_setting_an_override_again_changes_it_and_is_audited(build):
    admin = build.rules_admin()
    rules.set_holiday_override(admin, NATIONAL_DAY, "workday", "first")
    override = rules.set_holiday_override(admin, NATIONAL_DAY, "holiday", "second")
    assert [(o.kind, o.note) for o in rules.list_holiday_overrides()] == [("holiday", "second")]
    events = AuditEvent.query.filter_by(action="rules.holiday_override").all()
    assert [event.after["kind"] for event in events] == ["workday", "holiday"]
    assert events[-1].target_id == str(override.id)


def test_removing_an_override_lets_the_calendar_decide(build):
    build.city_rules()
    rules.set_holiday_override(None, NATIONAL_DAY, "workday")
    assert rules.remove_holiday_override(None, NATIONAL_DAY) is True
    assert rules.remove_holiday_override(None, NATIONAL_DAY) is False
    assert multipliers_of(rate_on(build, NATIONAL_DAY)) == ["holiday"]


def test_a_global_override_needs_a_city_administrator(build):
    community_admin = build.rules_admin(build.community)
    with pytest.raises(PermissionDenied):
        rules.set_holiday_override(community_admin, NATIONAL_DAY, "workday")
    rules.set_holiday_override(community_admin, NATIONAL_DAY, "workday", organization=build.community)
    assert HolidayOverride.query.count() == 1


@pytest.mark.parametrize(("day", "kind", "field"), [("2026-13-01", "holiday", "day"), ("2026-10-01", "party", "kind")])
def test_bad_override_input_is_refused(build, day, kind, field):
    with pytest.raises(ValidationError) as refused:
        rules.set_holiday_override(None, day, kind)
    assert refused.value.details["field"] == field
    assert HolidayOverride.query.count() == 0
