"""Which perks a counter offers a volunteer, and the reasons for those it cannot."""

from datetime import timedelta

from points_service.perks import service as perks
from points_service.timeutil import to_local, utcnow
from tests.builders.perks import redeem_with_code, request_key, stars


def reasons_by_perk(options):
    return {option.perk.name: [reason.code for reason in option.reasons] for option in options}


def test_a_counter_offers_the_active_perks_honored_at_it_or_above_it(build, district):
    tree = build.tree()
    volunteer = build.volunteer(points=100)
    build.perk(name="City parking", organization=tree["city"], venues=[tree["city"]])
    build.perk(name="District tea", organization=tree["districts"][0], venues=[district])
    build.perk(name="Other district", venues=[tree["districts"][1]])
    build.perk(name="Only one community", venues=[tree["communities"][0]])
    build.perk(name="Withdrawn", venues=[district], active=False)

    options = perks.eligible_perks(volunteer.volunteer, 0, district)

    assert sorted(option.perk.name for option in options) == ["City parking", "District tea"]
    assert all(option.eligible for option in options)


def test_each_perk_the_volunteer_cannot_have_says_why(build, district):
    tree = build.tree()
    volunteer = build.volunteer(points=50)
    now = utcnow()
    build.perk(name="Fine", points_cost=50)
    build.perk(name="Too dear", points_cost=51)
    build.perk(name="Three stars", points_cost=5, min_stars=3)
    build.perk(name="Sold out", points_cost=5, stock=0)
    build.perk(name="Later", points_cost=5, valid_from=now + timedelta(days=2))
    build.perk(name="Over", points_cost=5, valid_from=now - timedelta(days=9), valid_until=now - timedelta(days=1))
    build.perk(name="Other district's", points_cost=5, organization=tree["districts"][1], venues=[district])

    options = perks.eligible_perks(volunteer.volunteer, 2, district, now)

    assert reasons_by_perk(options) == {
        "Fine": [],
        "Too dear": ["not_enough_points"],
        "Three stars": ["level_too_low"],
        "Sold out": ["out_of_stock"],
        "Later": ["not_valid_now"],
        "Over": ["not_valid_now"],
        "Other district's": ["not_for_volunteer"],
    }
    messages = {option.perk.name: [str(reason) for reason in option.reasons] for option in options}
    assert messages["Too dear"] == ["Not enough points: 51 needed, 50 available."]
    assert messages["Three stars"] == ["Level too low: needs 3 stars, has 2."]
    assert messages["Sold out"] == ["Out of stock."]
    assert messages["Other district's"] == ["Only for volunteers of District 2."]
    assert [option.perk.name for option in options][0] == "Fine"  # eligible first


def test_a_daily_limit_counts_in_the_organizations_time_zone(build, district, clerk):
    volunteer = build.volunteer(points=100)
    perk = build.perk(points_cost=10, limit_quantity=1, limit_period="day")
    timezone = district.timezone
    next_midnight = perks._period_start("day", utcnow() + timedelta(days=1), timezone)
    assert to_local(next_midnight, timezone).hour == 0

    redeem_with_code(
        clerk,
        district,
        volunteer.volunteer.member_no,
        perk.id,
        1,
        request_key("k-1"),
        level_of=stars(0),
        now=next_midnight - timedelta(minutes=30),
    )

    same_day = perks.eligible_perks(volunteer.volunteer, 0, district, next_midnight - timedelta(minutes=5))
    next_day = perks.eligible_perks(volunteer.volunteer, 0, district, next_midnight + timedelta(minutes=5))
    assert [str(reason) for reason in same_day[0].reasons] == ["Limit reached: 1 per day."]
    assert next_day[0].eligible


def test_a_weekly_limit_starts_again_on_monday(build, district, clerk):
    volunteer = build.volunteer(points=100)
    perk = build.perk(points_cost=10, limit_quantity=2, limit_period="week")
    monday = perks._period_start("week", utcnow() + timedelta(days=7), district.timezone)
    assert to_local(monday, district.timezone).weekday() == 0

    for key in ("w-1", "w-2"):
        redeem_with_code(
            clerk,
            district,
            volunteer.volunteer.member_no,
            perk.id,
            1,
            request_key(key),
            level_of=stars(0),
            now=monday - timedelta(days=3),
        )

    assert [
        r.code for r in perks.eligible_perks(volunteer.volunteer, 0, district, monday - timedelta(hours=1))[0].reasons
    ] == ["limit_reached"]
    assert perks.eligible_perks(volunteer.volunteer, 0, district, monday + timedelta(hours=1))[0].eligible


def test_a_voided_redemption_does_not_count_against_the_limit(build, district, clerk):
    volunteer = build.volunteer(points=100)
    perk = build.perk(points_cost=10, limit_quantity=1, limit_period="year")
    redemption = redeem_with_code(
        clerk, district, volunteer.volunteer.member_no, perk.id, 1, request_key("y-1"), level_of=stars(0)
    )
    assert not perks.eligible_perks(volunteer.volunteer, 0, district)[0].eligible

    perks.void_redemption(clerk, redemption.id, "wrong perk chosen")

    assert perks.eligible_perks(volunteer.volunteer, 0, district)[0].eligible


def test_points_due_to_expire_are_not_offered_as_spendable(build, district):
    from points_service.ledger import service as ledger

    volunteer = build.volunteer()
    account = build.account(volunteer)
    ledger.earn_points(account.id, 40, reason="old", expires_at=utcnow() - timedelta(minutes=1))
    build.perk(points_cost=30)

    option = perks.eligible_perks(volunteer.volunteer, 0, district)[0]

    assert [reason.code for reason in option.reasons] == ["not_enough_points"]
