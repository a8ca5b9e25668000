"""A key a client sends never blocks an operation of the server or of another caller.

An attacker posts every shape of key the server derives (a record's earn, its reversal,
its re-rating) and another caller's derived key through every form and API endpoint
whose key reaches a domain's key column. Then the server's operations (approve one
record, approve a whole activity, reverse a record, re-rate a period) and the other
caller's request must still do exactly their work, and each of the attacker's requests
must have had its own effect.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from points_service.activities import service as activities
from points_service.extensions import db
from points_service.idempotency_keys import client_key, is_client_key
from points_service.ledger import service as ledger
from points_service.ledger.errors import InvalidIdempotencyKey
from points_service.ledger.models import LedgerEntry
from points_service.perks import service as perks
from points_service.perks.models import Redemption
from points_service.rules import service as rules
from points_service.timeutil import to_local, utcnow
from tests.builders import PASSWORD
from tests.builders.perks import phone_scan, redeem_with_code, request_key, stars
from tests.builders.rules import rules_config


def _login(app, login) -> FlaskClient:
    """A browser of its own (its own cookies), logged in as ``login``."""
    browser = app.test_client()
    assert browser.post("/login", data={"login": login, "password": PASSWORD}).status_code == 302
    return browser


def _double_rates():
    config = rules_config()
    for rate in config["rates"].values():
        rate["points"] = 20
    return config


@dataclass
class World:
    build: object
    district: object
    clerk: object
    clerk_browser: FlaskClient
    victim_clerk: object
    victim_browser: FlaskClient
    member: object
    member_browser: FlaskClient
    perk: object
    clerk_headers: dict
    approver_headers: dict
    single: object  # pending: approved later, one record
    activity: object  # its records pending: approved later, all at once
    roster: list
    to_reverse: object  # approved: reversed later
    to_rerate: object  # approved under the old rules: re-rated later
    newer: object  # the rule set of the re-rating
    api: FlaskClient

    def server_keys(self):
        """A key of every shape the server will derive for the operations still to come."""
        earn_entry = db.session.execute(
            select(LedgerEntry).where(LedgerEntry.idempotency_key == f"service-record:{self.to_reverse.id}:earn")
        ).scalar_one()
        return [
            f"service-record:{self.single.id}:earn",
            *(f"service-record:{record.id}:earn" for record in self.roster),
            f"service-record:{self.to_reverse.id}:reverse:{earn_entry.id}",
            f"service-record:{self.to_rerate.id}:rerate:{self.newer.id}:{self.newer.version}",
        ]

    def victims_own_key(self):
        """What the victim clerk's form key becomes on the server."""
        return client_key(f"user:{self.victim_clerk.id}", "POST /counter/redeem", "victim-key")


@pytest.fixture
def world(app, build):
    district = build.tree()["districts"][0]
    clerk = build.counter_clerk(district, username="attacker")
    victim_clerk = build.counter_clerk(district, username="victim")
    member = build.volunteer(points=5000)
    perk = build.perk(points_cost=10)
    first, second, third, fourth, fifth = (build.volunteer() for _ in range(5))
    single = build.record(first)
    activity = build.activity()
    roster = build.checked_in_roster(activity, [second, third])
    to_reverse = build.approved_record(fourth)
    to_rerate = build.approved_record(fifth)
    newer = rules.publish_rule_set(None, build.rule_set(config=_double_rates(), publish=False), date(2020, 1, 1))
    approver = build.approver()
    return World(
        build=build,
        district=district,
        clerk=clerk,
        clerk_browser=_login(app, "attacker"),
        victim_clerk=victim_clerk,
        victim_browser=_login(app, "victim"),
        member=member,
        member_browser=_login(app, member.mobile),
        perk=perk,
        clerk_headers=build.bearer(clerk, role="counter", organization=district),
        approver_headers=build.bearer(approver),
        single=single,
        activity=activity,
        roster=roster,
        to_reverse=to_reverse,
        to_rerate=to_rerate,
        newer=newer,
        api=app.test_client(),
    )


# -- the attacker's ways in: each makes what it needs, then posts ``key`` ---------------------


def web_counter_redeem(world, key):
    data = {"member_no": phone_scan(world.member.volunteer.member_no), "perk_id": world.perk.id, "quantity": 1}
    return world.clerk_browser.post("/counter/redeem", data={**data, "idempotency_key": key})


def web_counter_fulfil(world, key):
    voucher = perks.reserve_perk(world.member, world.perk.id, 1, request_key(), level_of=stars(0))
    return world.clerk_browser.post("/counter/fulfil", data={"code": voucher.voucher_code, "idempotency_key": key})


def _counter_redemption(world):
    return redeem_with_code(
        world.clerk,
        world.district,
        world.member.volunteer.member_no,
        world.perk.id,
        1,
        request_key(),
        level_of=stars(0),
    )


def web_counter_void(world, key):
    redemption = _counter_redemption(world)
    url = f"/counter/redemptions/{redemption.id}/void"
    return world.clerk_browser.post(url, data={"reason": "wrong perk", "idempotency_key": key})


def web_reserve(world, key):
    return world.member_browser.post(f"/perks/{world.perk.id}/reserve", data={"quantity": 1, "idempotency_key": key})


def _api(world, path, key, headers, **kwargs):
    return world.api.post(f"/api/v1{path}", headers={**headers, "Idempotency-Key": key}, **kwargs)


def api_redeem(world, key):
    body = {"member_no": phone_scan(world.member.volunteer.member_no), "perk_id": world.perk.id}
    return _api(world, "/redemptions", key, world.clerk_headers, json=body)


def api_void(world, key):
    redemption = _counter_redemption(world)
    return _api(world, f"/redemptions/{redemption.id}/void", key, world.clerk_headers, json={"reason": "wrong perk"})


def api_fulfil(world, key):
    voucher = perks.reserve_perk(world.member, world.perk.id, 1, request_key(), level_of=stars(0))
    return _api(world, f"/vouchers/{voucher.voucher_code}/fulfil", key, world.clerk_headers)


def api_approve(world, key):
    decoy = world.build.record(world.build.volunteer())
    return _api(world, f"/service-records/{decoy.id}/approve", key, world.approver_headers)


WAYS_IN = [
    web_counter_redeem,
    web_counter_fulfil,
    web_counter_void,
    web_reserve,
    api_redeem,
    api_void,
    api_fulfil,
    api_approve,
]


def _key_of(kind, record):
    return db.session.execute(
        select(LedgerEntry.idempotency_key).where(
            LedgerEntry.kind == kind, LedgerEntry.cause_type == "service_record", LedgerEntry.cause_id == str(record.id)
        )
    ).scalar_one()


@pytest.mark.parametrize("way_in", WAYS_IN, ids=lambda way: way.__name__)
def test_no_key_a_client_sends_blocks_the_servers_operations_or_another_callers(world, way_in):
    keys = [*world.server_keys(), world.victims_own_key()]
    redemptions_before = db.session.execute(select(func.count(Redemption.id))).scalar_one()

    for key in keys:
        response = way_in(world, key)
        # The attacker's own request did its own work.
        assert response.status_code in (200, 201, 302), (key, response.status_code, response.get_data(as_text=True))

    admin = world.build.staff("admin", world.build.tree()["city"])
    approver = world.build.approver()
    approved = activities.approve_record(approver, world.single.id)
    decisions = activities.approve_activity(approver, world.activity.id)
    reversal = activities.reverse_record(admin, world.to_reverse.id, "Recorded twice")
    today = to_local(utcnow(), world.district.timezone).date()
    rerated = activities.rerate_period(admin, world.newer, today - timedelta(days=7), today)
    victim = world.victim_browser.post(
        "/counter/redeem",
        data={
            "member_no": phone_scan(world.member.volunteer.member_no),
            "perk_id": world.perk.id,
            "quantity": 1,
            "idempotency_key": "victim-key",
        },
    )

    assert approved.status == "approved" and _key_of("earn", world.single) == f"service-record:{world.single.id}:earn"
    assert len(decisions.approved) == len(world.roster)
    for record in world.roster:
        assert _key_of("earn", record) == f"service-record:{record.id}:earn"
    assert reversal.points_removed > 0
    assert _key_of("reverse", world.to_reverse).startswith(f"service-record:{world.to_reverse.id}:reverse:")
    assert rerated.changed == 1
    assert _key_of("adjust", world.to_rerate).endswith(f":rerate:{world.newer.id}:{world.newer.version}")
    assert victim.status_code == 302
    assert victim.headers["Location"].startswith("/counter/redemptions/")
    if way_in in (web_counter_redeem, web_reserve, api_redeem):
        made = db.session.execute(select(func.count(Redemption.id))).scalar_one() - redemptions_before
        assert made == len(keys) + 1  # one per attacker key, and the victim's
    assert ledger.verify_ledger().discrepancies == []
    _assert_every_stored_key_is_a_client_derivation_or_an_attacked_server_shape(keys)


def _shape(key):
    return re.sub(r"\d+", "{id}", key)


def _assert_every_stored_key_is_a_client_derivation_or_an_attacked_server_shape(attacked):
    """The list of server shapes tried above is complete for what these operations write."""
    ledger_keys = db.session.execute(select(LedgerEntry.idempotency_key)).scalars()
    server_shapes = {_shape(key) for key in ledger_keys if key is not None and not is_client_key(key)}
    assert server_shapes == {_shape(key) for key in attacked if not is_client_key(key)}
    for key, fulfil_key in db.session.execute(select(Redemption.idempotency_key, Redemption.fulfil_key)):
        assert is_client_key(key) and (fulfil_key is None or is_client_key(fulfil_key))


def test_a_derived_key_never_has_a_server_shape_and_the_ledger_refuses_a_forged_client_key(build):
    derived = client_key("user:1", "POST /counter/redeem", "service-record:1:earn")
    assert derived.startswith("client:") and is_client_key(derived) and len(derived) <= 128
    assert client_key("user:2", "POST /counter/redeem", "service-record:1:earn") != derived
    assert client_key("user:1", "POST /counter/fulfil", "service-record:1:earn") != derived
    account = build.account(build.volunteer())
    with pytest.raises(InvalidIdempotencyKey):
        ledger.earn_points(account.id, 5, reason="forged", idempotency_key="client:forged")


def _redeem_data(world, key, member=None):
    member = member or world.member
    return {
        "member_no": phone_scan(member.volunteer.member_no),
        "perk_id": world.perk.id,
        "quantity": 1,
        "idempotency_key": key,
    }


def test_two_clerks_redeeming_with_the_same_key_both_redeem(world):
    first = world.clerk_browser.post("/counter/redeem", data=_redeem_data(world, "same-key"))
    second = world.victim_browser.post("/counter/redeem", data=_redeem_data(world, "same-key"))

    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] != second.headers["Location"]
    assert db.session.execute(select(func.count(Redemption.id))).scalar_one() == 2


def test_two_clerks_fulfilling_two_vouchers_with_the_same_key_both_fulfil(world):
    vouchers = [perks.reserve_perk(world.member, world.perk.id, 1, request_key(), level_of=stars(0)) for _ in range(2)]
    for browser, voucher in zip((world.clerk_browser, world.victim_browser), vouchers, strict=True):
        page = browser.post("/counter/fulfil", data={"code": voucher.voucher_code, "idempotency_key": "same-key"})
        assert page.status_code == 302, page.get_data(as_text=True)
    db.session.expire_all()
    assert {db.session.get(Redemption, voucher.id).status for voucher in vouchers} == {"fulfilled"}


def test_two_clerks_voiding_two_redemptions_with_the_same_key_both_void(world):
    redemptions = [_counter_redemption(world) for _ in range(2)]
    for browser, redemption in zip((world.clerk_browser, world.victim_browser), redemptions, strict=True):
        url = f"/counter/redemptions/{redemption.id}/void"
        assert browser.post(url, data={"reason": "wrong perk", "idempotency_key": "same-key"}).status_code == 302
    db.session.expire_all()
    assert {db.session.get(Redemption, redemption.id).status for redemption in redemptions} == {"voided"}
    assert world.build.account(world.member).balance == 5000


def test_two_volunteers_reserving_with_the_same_key_both_reserve(world, app, build):
    other = build.volunteer(points=100)
    browsers = (world.member_browser, _login(app, other.mobile))
    for browser in browsers:
        page = browser.post(f"/perks/{world.perk.id}/reserve", data={"quantity": 1, "idempotency_key": "same-key"})
        assert page.status_code == 302
    assert build.account(world.member).balance == 4990 and build.account(other).balance == 90


def test_one_clerks_key_on_two_forms_is_two_keys(world):
    """A clerk's browser may reuse a key on another form: the redeem and its void both happen."""
    redeemed = world.clerk_browser.post("/counter/redeem", data=_redeem_data(world, "one-key"))
    url = redeemed.headers["Location"] + "/void"
    voided = world.clerk_browser.post(url, data={"reason": "wrong perk", "idempotency_key": "one-key"})

    assert voided.status_code == 302
    assert db.session.execute(select(Redemption.status)).scalar_one() == "voided"
    assert world.build.account(world.member).balance == 5000
