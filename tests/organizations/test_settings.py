"""Settings per organization: set on a node, inherited by its subtree, the configuration
as the default; bounds; audit; and the code that reads them sees the change."""

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from points_service.activities import service as activities
from points_service.audit.models import AuditEvent
from points_service.errors import PermissionDenied, ValidationError
from points_service.extensions import db
from points_service.honor import service as honor
from points_service.organizations import settings
from points_service.perks import service as perks
from points_service.timeutil import utcnow
from tests.builders.perks import request_key, stars


@pytest.fixture
def tree(build):
    return build.tree()


@pytest.fixture
def admin(build, tree):
    return build.staff("admin", tree["city"])


def test_an_unset_setting_is_the_configuration_default(app, tree):
    community = tree["communities"][0]
    assert settings.setting(community, "voucher_ttl_minutes") == app.config["VOUCHER_TTL_MINUTES"]
    assert settings.setting(community, "honor_roll_names") == "masked"
    assert settings.setting(None, "checkin_grace_minutes") == app.config["CHECKIN_GRACE_MINUTES"]


def test_a_value_set_on_a_district_applies_to_its_subtree_and_a_nearer_value_wins(tree, admin):
    district, other_district = tree["districts"]
    street, community, sibling = tree["streets"][0], tree["communities"][0], tree["communities"][1]

    settings.set_setting(admin, district, "checkin_grace_minutes", "45")
    settings.set_setting(admin, street, "checkin_grace_minutes", 10)

    assert settings.setting(district, "checkin_grace_minutes") == 45
    assert settings.setting(community, "checkin_grace_minutes") == 10
    assert settings.setting(sibling, "checkin_grace_minutes") == 10
    assert settings.setting(other_district, "checkin_grace_minutes") == 30  # the configuration's
    shown = {value.setting.key: value for value in settings.effective_settings(community)}["checkin_grace_minutes"]
    assert (shown.value, shown.source, shown.source_organization) == (10, settings.INHERITED, street)


def test_clearing_a_value_inherits_again_from_the_nearest_ancestor(tree, admin):
    district, street = tree["districts"][0], tree["streets"][0]
    settings.set_setting(admin, district, "self_report_window_days", "30")
    settings.set_setting(admin, street, "self_report_window_days", "7")

    assert settings.clear_setting(admin, street, "self_report_window_days") is True

    assert settings.setting(street, "self_report_window_days") == 30
    assert settings.clear_setting(admin, street, "self_report_window_days") is False


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("voucher_ttl_minutes", "5"),
        ("voucher_ttl_minutes", "-10"),
        ("voucher_ttl_minutes", "9" * 30),
        ("max_service_minutes", str(24 * 60 + 1)),
        ("checkin_grace_minutes", "1.5"),
        ("self_report_window_days", "0"),
        ("expiry_warning_days", ""),
        ("expiry_warning_days", True),
        ("honor_roll_names", "initials"),
    ],
)
def test_a_value_out_of_bounds_is_refused_naming_the_setting_and_nothing_is_saved(tree, admin, key, value):
    community = tree["communities"][0]
    before = settings.setting(community, key)
    with pytest.raises(ValidationError) as refused:
        settings.set_setting(admin, community, key, value)
    assert refused.value.details["field"] == key
    assert str(settings.BY_KEY[key].label) in refused.value.render_message()
    assert settings.setting(community, key) == before


def test_full_width_digits_are_read_as_the_number_they_stand_for(tree, admin):
    assert settings.set_setting(admin, tree["districts"][0], "expiry_warning_days", "１４") == 14


def test_an_unknown_setting_is_refused(tree, admin):
    with pytest.raises(ValidationError):
        settings.set_setting(admin, tree["districts"][0], "anything", "1")


def test_an_admin_of_one_community_cannot_change_another(build, tree):
    admin = build.staff("admin", tree["communities"][0])
    with pytest.raises(PermissionDenied):
        settings.set_setting(admin, tree["communities"][3], "checkin_grace_minutes", "5")
    with pytest.raises(PermissionDenied):
        settings.set_setting(admin, tree["districts"][0], "checkin_grace_minutes", "5")
    assert settings.setting(tree["communities"][3], "checkin_grace_minutes") == 30


def test_every_change_is_audited_with_before_and_after(tree, admin):
    district = tree["districts"][0]
    settings.set_setting(admin, district, "voucher_ttl_minutes", "120")
    settings.set_setting(admin, district, "voucher_ttl_minutes", "240")
    settings.set_setting(admin, district, "voucher_ttl_minutes", "240")  # the same value: nothing to record
    settings.clear_setting(admin, district, "voucher_ttl_minutes")

    events = (
        db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "organization.setting").order_by(AuditEvent.id)
        )
        .scalars()
        .all()
    )
    assert [(event.before, event.after) for event in events] == [
        ({"voucher_ttl_minutes": None}, {"voucher_ttl_minutes": "120"}),
        ({"voucher_ttl_minutes": "120"}, {"voucher_ttl_minutes": "240"}),
        ({"voucher_ttl_minutes": "240"}, {"voucher_ttl_minutes": None}),
    ]
    assert {event.actor_id for event in events} == {admin.id}
    assert {event.organization_id for event in events} == {district.id}


def test_the_time_zone_is_the_organizations_own_and_is_checked_and_audited(tree, admin):
    community = tree["communities"][0]
    assert settings.set_setting(admin, community, "timezone", "Asia/Urumqi") == "Asia/Urumqi"
    assert community.timezone == "Asia/Urumqi"
    assert settings.setting(community, "timezone") == "Asia/Urumqi"
    with pytest.raises(ValidationError) as refused:
        settings.set_setting(admin, community, "timezone", "Mars/Olympus")
    assert refused.value.details["field"] == "timezone"
    with pytest.raises(ValidationError):
        settings.clear_setting(admin, community, "timezone")
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "organization.timezone")).scalar_one()
    assert (event.before, event.after) == ({"timezone": "Asia/Shanghai"}, {"timezone": "Asia/Urumqi"})


def test_a_voucher_validity_set_on_a_district_sets_the_expiry_of_a_community_perks_voucher(build, tree, admin):
    district, community = tree["districts"][0], tree["communities"][0]
    perk = build.perk(organization=community, venues=[community])
    volunteer = build.volunteer(community, points=100)
    now = utcnow().replace(microsecond=0)

    settings.set_setting(admin, district, "voucher_ttl_minutes", "90")
    voucher = perks.reserve_perk(volunteer, perk.id, 1, request_key(), level_of=stars(0), now=now)

    assert voucher.voucher_expires_at == now + timedelta(minutes=90)


def test_a_check_in_grace_set_on_a_district_opens_a_community_activity_earlier(build, tree, admin):
    activity = build.activity(tree["communities"][0], starts_at=utcnow() + timedelta(hours=2))
    an_hour_before = activity.starts_at - timedelta(hours=1)
    assert not activities.checkin_is_open(activity, now=an_hour_before)

    settings.set_setting(admin, tree["districts"][0], "checkin_grace_minutes", "90")

    assert activities.checkin_is_open(activity, now=an_hour_before)


def test_a_shorter_self_report_window_refuses_older_service(build, tree, admin):
    build.service_rules()
    volunteer = build.volunteer(tree["communities"][0])
    ten_days_ago = (utcnow() - timedelta(days=10)).replace(microsecond=0)
    settings.set_setting(admin, tree["streets"][0], "self_report_window_days", "7")

    with pytest.raises(ValidationError, match="up to 7 days"):
        activities.report_service(
            volunteer,
            category="elderly_care",
            started_at=ten_days_ago,
            ended_at=ten_days_ago + timedelta(hours=1),
            evidence="Helped at the clinic; the nurse can confirm.",
        )


def test_a_longer_record_limit_lets_a_community_record_longer_service(build, tree, admin):
    build.service_rules()
    organizer = build.staff("organizer", tree["communities"][0])
    started = (utcnow() - timedelta(days=1, hours=14)).replace(microsecond=0)

    def enter():
        return activities.enter_record(
            organizer,
            member_no=build.volunteer(tree["communities"][0]).volunteer.member_no,
            organization=tree["communities"][0],
            category="elderly_care",
            started_at=started,
            ended_at=started + timedelta(hours=13),
        )

    with pytest.raises(ValidationError, match="at most 12 hours"):
        enter()
    settings.set_setting(admin, tree["districts"][0], "max_service_minutes", str(14 * 60))
    assert enter().minutes == 13 * 60


def test_a_new_honor_roll_shows_names_as_the_organization_is_set(build, tree, admin):
    settings.set_setting(admin, tree["city"], "honor_roll_names", "full")
    roll = honor.compute_honor_roll(admin, tree["city"], "year", utcnow().date().replace(month=1, day=1), "hours", 10)
    assert roll.name_style == "full"


def test_reading_a_setting_again_in_one_unit_of_work_costs_no_query(tree, admin):
    community = tree["communities"][0]
    settings.set_setting(admin, tree["districts"][0], "checkin_grace_minutes", "15")
    db.session.rollback()  # a fresh unit of work
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        values = [settings.setting(community, "checkin_grace_minutes") for _ in range(50)]
        values += [settings.setting(community, "max_service_minutes") for _ in range(50)]
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert values[0] == 15 and values[-1] == 12 * 60
    assert len([sql for sql in statements if "organization_settings" in sql]) == 1
