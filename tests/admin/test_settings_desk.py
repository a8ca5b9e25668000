"""The settings page of the desk: values with where they come from, set and inherit,
errors naming the setting, the audit, and scope."""

import pytest
from sqlalchemy import select

from points_service.audit.models import AuditEvent
from points_service.extensions import db
from points_service.organizations import settings
from points_service.organizations.models import OrganizationSetting
from tests.builders import PASSWORD


@pytest.fixture
def tree(build):
    return build.tree()


@pytest.fixture
def district_admin(build, tree, auth):
    admin = build.staff("admin", tree["districts"][0])
    auth.login(admin.username, PASSWORD)
    return admin


def _stored():
    db.session.expire_all()
    return db.session.execute(select(OrganizationSetting.organization_id, OrganizationSetting.key)).all()


def _shown(page, key):
    """The text of one setting's form on the page."""
    start = page.index(f'data-setting="{key}"')
    return page[start : page.index("</form>", start)]


def test_the_page_shows_each_value_and_where_it_comes_from(client, tree, district_admin):
    street, community = tree["streets"][0], tree["communities"][0]
    settings.set_setting(district_admin, street, "checkin_grace_minutes", "20")
    settings.set_setting(district_admin, community, "voucher_ttl_minutes", "600")

    page = client.get(f"/admin/settings?org={community.id}").get_data(as_text=True)

    assert 'value="600"' in _shown(page, "voucher_ttl_minutes") and "Set here" in _shown(page, "voucher_ttl_minutes")
    assert "Inherited from Street 1" in _shown(page, "checkin_grace_minutes")
    assert 'value="20"' in _shown(page, "checkin_grace_minutes")
    assert "Default of this installation" in _shown(page, "self_report_window_days")
    assert 'value="Asia/Shanghai"' in _shown(page, "timezone")
    assert "Check-in grace (minutes)" in page and "Names on honor rolls" in page


def test_an_admin_sets_a_value_and_a_community_below_inherits_it(client, tree, district_admin):
    district, community = tree["districts"][0], tree["communities"][1]
    response = client.post(
        f"/admin/settings/{district.id}", data={"key": "self_report_window_days", "value": "14", "action": "set"}
    )
    assert response.status_code == 302
    assert settings.setting(community, "self_report_window_days") == 14
    page = client.get(f"/admin/settings?org={community.id}").get_data(as_text=True)
    assert "Inherited from District 1" in _shown(page, "self_report_window_days")


def test_inherit_instead_clears_the_value_set_here(client, tree, district_admin):
    street = tree["streets"][0]
    settings.set_setting(district_admin, street, "expiry_warning_days", "7")
    response = client.post(f"/admin/settings/{street.id}", data={"key": "expiry_warning_days", "action": "clear"})
    assert response.status_code == 302
    assert _stored() == []
    assert settings.setting(street, "expiry_warning_days") == 60


def test_the_time_zone_is_changed_on_the_organization_itself(client, tree, district_admin):
    community = tree["communities"][0]
    response = client.post(f"/admin/settings/{community.id}", data={"key": "timezone", "value": "Asia/Urumqi"})
    assert response.status_code == 302
    db.session.expire_all()
    assert community.timezone == "Asia/Urumqi"
    assert _stored() == []


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("voucher_ttl_minutes", "0", "Voucher validity (minutes) must be a whole number from 10 to 129600."),
        ("max_service_minutes", "abc", "Longest service record (minutes) must be a whole number"),
        ("checkin_grace_minutes", "99999999999999999999", "Check-in grace (minutes) must be a whole number"),
        ("honor_roll_names", "everyone", "Names on honor rolls must be one of"),
        ("timezone", "Nowhere/Special", "Unknown time zone Nowhere/Special"),
        ("timezone", "", "Enter a time zone name"),
        ("nonsense", "1", "Unknown setting nonsense."),
    ],
)
def test_a_bad_value_is_refused_naming_the_setting_and_nothing_changes(
    client, tree, district_admin, key, value, message
):
    district = tree["districts"][0]
    response = client.post(f"/admin/settings/{district.id}", data={"key": key, "value": value})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert _stored() == []
    db.session.expire_all()
    assert district.timezone == "Asia/Shanghai"


def test_every_change_from_the_page_is_audited_with_before_and_after(client, tree, district_admin):
    district = tree["districts"][0]
    client.post(f"/admin/settings/{district.id}", data={"key": "checkin_grace_minutes", "value": "45"})
    client.post(f"/admin/settings/{district.id}", data={"key": "checkin_grace_minutes", "action": "clear"})
    events = db.session.execute(select(AuditEvent).order_by(AuditEvent.id)).scalars().all()
    changes = [(e.actor_id, e.before, e.after) for e in events if e.action == "organization.setting"]
    assert changes == [
        (district_admin.id, {"checkin_grace_minutes": None}, {"checkin_grace_minutes": "45"}),
        (district_admin.id, {"checkin_grace_minutes": "45"}, {"checkin_grace_minutes": None}),
    ]


def test_a_community_admin_sees_and_changes_nothing_of_another_community(client, build, tree, auth):
    mine, other = tree["communities"][0], tree["communities"][3]
    admin = build.staff("admin", mine)
    auth.login(admin.username, PASSWORD)

    page = client.get("/admin/settings").get_data(as_text=True)
    assert "Community 1.1" in page and "Community 2.2" not in page
    assert client.get(f"/admin/settings?org={other.id}").status_code == 404
    assert client.get(f"/admin/settings?org={tree['districts'][0].id}").status_code == 404
    assert client.get("/admin/settings?org=abc").status_code == 404
    for target in (other, tree["districts"][0]):
        response = client.post(f"/admin/settings/{target.id}", data={"key": "checkin_grace_minutes", "value": "5"})
        assert response.status_code == 404
        response = client.post(f"/admin/settings/{target.id}", data={"key": "timezone", "value": "Asia/Urumqi"})
        assert response.status_code == 404
    assert _stored() == []
    db.session.expire_all()
    assert other.timezone == "Asia/Shanghai"


def test_organizers_and_counter_staff_get_no_settings_page(client, build, auth):
    for user in (build.staff("organizer"), build.staff("counter")):
        auth.login(user.username, PASSWORD)
        assert client.get("/admin/settings").status_code == 403
        data = {"key": "checkin_grace_minutes", "value": "5"}
        assert client.post(f"/admin/settings/{build.community.id}", data=data).status_code == 403
        auth.logout()
    assert _stored() == []


def test_the_page_speaks_chinese(client, tree, district_admin):
    page = client.get("/admin/settings", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "签到宽限（分钟）" in page and "本系统默认值" in page
