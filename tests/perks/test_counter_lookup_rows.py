"""The counter's lookup reads the perks honored at the counter and the volunteer's use of
each limited one in one query; a perk whose organization keeps another time zone than the
counter still counts its periods in its own zone."""

from datetime import timedelta

from points_service.organizations.service import set_organization_timezone
from points_service.perks import service as perks
from points_service.timeutil import utcnow
from tests.builders.perks import redeem_with_code, request_key, stars


def test_a_daily_limit_counts_in_the_perks_time_zone_at_a_counter_in_another(build, district, clerk):
    volunteer = build.volunteer(points=100)
    perk = build.perk(points_cost=10, limit_quantity=1, limit_period="day")  # the city's, in Asia/Shanghai
    owner_zone = build.tree()["city"].timezone
    counter = set_organization_timezone(None, district, "America/Los_Angeles")
    midnight = perks._period_start("day", utcnow() + timedelta(days=1), owner_zone)
    member_no = volunteer.volunteer.member_no
    redeem_with_code(
        clerk, counter, member_no, perk.id, 1, request_key(), level_of=stars(0), now=midnight - timedelta(minutes=30)
    )

    same_day = perks.eligible_perks(volunteer.volunteer, 0, counter, midnight - timedelta(minutes=5))
    next_day = perks.eligible_perks(volunteer.volunteer, 0, counter, midnight + timedelta(minutes=5))

    assert [reason.code for reason in same_day[0].reasons] == ["limit_reached"]
    assert next_day[0].eligible and next_day[0].used == 0


def test_the_lookup_sees_the_stock_and_the_limit_used_by_the_redemption_before_it(build, district, clerk):
    volunteer = build.volunteer(points=100)
    perk = build.perk(points_cost=10, stock=2, limit_quantity=3, limit_period="month")
    member_no = volunteer.volunteer.member_no
    [before] = perks.counter_lookup(clerk, district, member_no, level_of=stars(0)).options

    redeem_with_code(clerk, district, member_no, perk.id, 2, request_key(), level_of=stars(0))
    [after] = perks.counter_lookup(clerk, district, member_no, level_of=stars(0)).options

    assert (before.perk.stock, before.used, before.eligible) == (2, 0, True)
    assert (after.perk.stock, after.used) == (0, 2)
    assert [reason.code for reason in after.reasons] == ["out_of_stock"]
