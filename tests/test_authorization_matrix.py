"""The authorization matrix: every endpoint and page x every role x inside/outside the subtree.

The organization tree is the builders' one: district D0 holds communities c0 and c1,
district D1 holds c2 and c3. The data every row acts on belongs inside: a volunteer of
c0, a perk of D0 honored at D0, records and activities of c0. Each role is held twice:

==========  ===========================  ===========================
role        inside                       outside
==========  ===========================  ===========================
volunteer   the volunteer of c0 (owner)  a volunteer of c3
organizer   organizer of c0              organizer of c3
counter     counter of D0                counter of D1
admin       admin of D0                  admin of D1
==========  ===========================  ===========================

and "anonymous" is nobody. API rows are called with each principal's bearer token,
page rows with its logged-in browser session. A row that changes something is judged
by its effect (did the record get approved?), a row that reads by the response
(2xx or a redirect other than to the login page is a grant; 401, 403, 404 and the
login redirect are a refusal). Every cell is compared with the table; the test reports
every unexpected grant and every unexpected refusal, and passes only with none.

``ROWS`` must name every URL rule of the application (``test_the_matrix_covers_every_
endpoint``): a new page or endpoint is not done until it has its row here.
"""

import io
import itertools
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from unittest.mock import patch

import pytest
from sqlalchemy import func, select

from points_service.accounts.models import ApiToken
from points_service.accounts.tokens import issue_api_token
from points_service.activities import service as activities
from points_service.activities.models import ActivitySignup, ImportBatch, ServiceRecord
from points_service.audit.models import AuditEvent
from points_service.changes.models import ChangeRequest
from points_service.database import write_transaction
from points_service.extensions import db
from points_service.ledger import service as ledger
from points_service.notices import service as notices
from points_service.notices.models import Notice
from points_service.organizations.models import OrganizationSetting
from points_service.payments import gateway
from points_service.perks import service as perks
from points_service.perks.models import Perk, Redemption
from points_service.rules import service as rules
from points_service.rules.models import BacktestRun, HolidayCalendar, HolidayOverride, RuleSet, ServiceCategory
from points_service.timeutil import to_local, utcnow
from points_service.worklist import service as worklist
from tests.builders import PASSWORD
from tests.builders.perks import phone_scan, redeem_with_code, request_key, spend_code, stars
from tests.builders.rules import rules_config

ROLES = ("volunteer", "organizer", "counter", "admin")
COLUMNS = ("anonymous",) + tuple(f"{role}/{place}" for role in ROLES for place in ("inside", "outside"))
# Endpoints no table row is needed for: static files.
UNGUARDED = {"static", "api_docs_page.asset"}
_slots = itertools.count(1)


def allow(anonymous="D", volunteer="DD", organizer="DD", counter="DD", admin="DD"):
    """The expected outcome per column: A (granted) or D (refused); inside first, then outside."""
    expected = {"anonymous": anonymous}
    for role, pair in zip(ROLES, (volunteer, organizer, counter, admin), strict=True):
        expected[f"{role}/inside"], expected[f"{role}/outside"] = pair[0], pair[1]
    return expected


EVERYONE = allow("A", "AA", "AA", "AA", "AA")
SIGNED_IN = allow("D", "AA", "AA", "AA", "AA")


@dataclass
class Row:
    """One endpoint: how to call it (fresh target per cell) and who may."""

    endpoint: str
    method: str
    target: object  # (world) -> (url, request kwargs, effect); effect() -> bool for writes, None for reads
    expected: dict
    api: bool = True
    notes: str = ""
    login_redirect_is_grant: bool = False


@dataclass
class World:
    build: object
    tree: dict
    users: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    helpers: dict = field(default_factory=dict)

    @property
    def owner(self):
        return self.users["volunteer/inside"]

    def slot(self):
        """A past time of its own, so records made for different cells never overlap."""
        return (utcnow() - timedelta(days=1, hours=3 * next(_slots))).replace(second=0, microsecond=0)


def _scalar(statement):
    db.session.expire_all()
    return db.session.execute(statement).scalar_one()


def _count(model):
    db.session.expire_all()
    return db.session.execute(select(func.count(model.id))).scalar_one()


def _grew(model):
    before = _count(model)
    return lambda: _count(model) > before


def _reload(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


# -- targets -------------------------------------------------------------------------------


def _redemption(world):
    return redeem_with_code(
        world.helpers["clerk"],
        world.tree["districts"][0],
        world.owner.volunteer.member_no,
        world.helpers["perk"].id,
        1,
        request_key(),
        level_of=stars(0),
    )


def _reservation(world):
    return perks.reserve_perk(world.owner, world.helpers["perk"].id, 1, request_key(), level_of=stars(0))


def _record(world):
    return world.build.record(world.owner, started_at=world.slot(), entered_by=world.helpers["enterer"])


def _activity_with_records(world):
    activity = world.build.activity(organizer=world.helpers["enterer"], starts_at=world.slot())
    world.build.checked_in_roster(activity, [world.owner])
    return activity


def _iso(moment):
    return moment.isoformat() + "+00:00"


def _csv(world):
    started = to_local(world.slot(), "Asia/Shanghai")
    if (started + timedelta(minutes=45)).date() != started.date():
        started -= timedelta(hours=1)  # a row gives one date for start and end: stay before midnight
    text = "Member number,Category,Date,Start,End\n{},elderly_care,{},{},{}\n".format(
        world.owner.volunteer.member_no,
        started.date().isoformat(),
        started.strftime("%H:%M"),
        (started + timedelta(minutes=45)).strftime("%H:%M"),
    )
    return io.BytesIO(text.encode())


def _keyed(world, **kwargs):
    return {"headers": {"Idempotency-Key": world.build.idempotency_key()}, **kwargs}


def read(url):
    return lambda world: (url(world) if callable(url) else url, {}, None)


# -- API rows ---------------------------------------------------------------------------------


def _api_redeem(world):
    body = {
        "member_no": phone_scan(world.owner.volunteer.member_no),
        "perk_id": world.helpers["perk"].id,
        "counter_id": world.tree["districts"][0].id,
    }
    return "/api/v1/redemptions", _keyed(world, json=body), _grew(Redemption)


def _api_void(world):
    redemption = _redemption(world)
    return (
        f"/api/v1/redemptions/{redemption.id}/void",
        _keyed(world, json={"reason": "matrix"}),
        lambda: _reload(Redemption, redemption.id).status == "voided",
    )


def _api_fulfil(world):
    reservation = _reservation(world)
    return (
        f"/api/v1/vouchers/{reservation.voucher_code}/fulfil",
        _keyed(world, json={"counter_id": world.tree["districts"][0].id}),
        lambda: _reload(Redemption, reservation.id).status == "fulfilled",
    )


def _api_enter_record(world):
    started = world.slot()
    body = {
        "member_no": world.owner.volunteer.member_no,
        "organization_id": world.build.community.id,
        "category": "elderly_care",
        "started_at": _iso(started),
        "ended_at": _iso(started + timedelta(minutes=50)),
    }
    return "/api/v1/service-records", {"json": body}, _grew(ServiceRecord)


def _api_decide(action, status):
    def target(world):
        record = _record(world)
        kwargs = _keyed(world, json={"reason": "matrix"}) if action == "reject" else _keyed(world)
        return (
            f"/api/v1/service-records/{record.id}/{action}",
            kwargs,
            lambda: _reload(ServiceRecord, record.id).status == status,
        )

    return target


def _approved_in(activity):
    def effect():
        db.session.expire_all()
        return bool(
            db.session.execute(
                select(ServiceRecord.id).where(
                    ServiceRecord.activity_id == activity.id, ServiceRecord.status == "approved"
                )
            ).first()
        )

    return effect


def _api_approve_all(world):
    activity = _activity_with_records(world)
    return f"/api/v1/activities/{activity.id}/approve-all", _keyed(world, json={}), _approved_in(activity)


def _api_import(world):
    data = {"file": (_csv(world), "hours.csv"), "organization_id": str(world.build.community.id)}
    return "/api/v1/imports", {"data": data, "content_type": "multipart/form-data"}, _grew(ImportBatch)


def _api_issue_token(world):
    body = {
        "user": world.helpers["desk"].username,
        "name": "matrix",
        "role": "counter",
        "organization_id": world.build.community.id,
    }
    return "/api/v1/tokens", {"json": body}, _grew(ApiToken)


def _api_revoke_token(world):
    token, _plaintext = issue_api_token(
        world.helpers["desk"], name="matrix", role="counter", organization=world.build.community
    )
    return (
        f"/api/v1/tokens/{token.id}/revoke",
        {},
        lambda: _reload(ApiToken, token.id).revoked_at is not None,
    )


def _honor_roll(world, status):
    """A published and a draft honor roll of the city, made once per world."""
    if "honor_rolls" not in world.helpers:
        city = world.tree["city"]
        world.helpers["honor_rolls"] = {
            "published": world.build.honor_roll(city),
            "draft": world.build.honor_roll(city, metric="points", publish=False),
        }
    return world.helpers["honor_rolls"][status]


def _member(world):
    return f"/api/v1/members/{world.owner.volunteer.member_no}?counter_id={world.tree['districts'][0].id}"


API_ROWS = [
    Row("api-docs.openapi_json", "GET", read("/api/v1/openapi.json"), EVERYONE),
    Row("api_docs_page.page", "GET", read("/api/v1/docs"), EVERYONE),
    Row("api_members.get_member", "GET", read(_member), allow(counter="AD", admin="AD")),
    Row(
        "api_entries.list_member_entries",
        "GET",
        read(lambda world: f"/api/v1/members/{world.owner.volunteer.member_no}/entries"),
        allow(volunteer="AD", organizer="AD", counter="AD", admin="AD"),
        notes="the volunteer reads their own history",
    ),
    Row("api_perks.list_perks", "GET", read("/api/v1/perks"), SIGNED_IN, notes="the catalog is for everyone"),
    Row("api_redemptions.create_redemption", "POST", _api_redeem, allow(counter="AD", admin="AD")),
    Row(
        "api_redemptions.void_redemption",
        "POST",
        _api_void,
        allow(counter="AD", admin="AD"),
        notes="counter staff void today's redemptions at their counter",
    ),
    Row("api_vouchers.fulfil_voucher", "POST", _api_fulfil, allow(counter="AD", admin="AD")),
    Row("api_service_records.create_service_record", "POST", _api_enter_record, allow(organizer="AD", admin="AD")),
    Row(
        "api_service_records.approve_service_record",
        "POST",
        _api_decide("approve", "approved"),
        allow(organizer="AD", admin="AD"),
    ),
    Row(
        "api_service_records.reject_service_record",
        "POST",
        _api_decide("reject", "rejected"),
        allow(organizer="AD", admin="AD"),
    ),
    Row("api_activities.approve_activity", "POST", _api_approve_all, allow(organizer="AD", admin="AD")),
    Row("api_imports.import_service_records", "POST", _api_import, allow(organizer="AD", admin="AD")),
    Row(
        "api_tokens.list_tokens",
        "GET",
        read("/api/v1/tokens"),
        allow(admin="AA"),
        notes="an outside admin gets only the tokens of their own subtree",
    ),
    Row("api_tokens.create_token", "POST", _api_issue_token, allow(admin="AD")),
    Row("api_tokens.revoke_token", "POST", _api_revoke_token, allow(admin="AD")),
    Row(
        "api_honor_rolls.list_honor_rolls",
        "GET",
        read("/api/v1/honor-rolls"),
        EVERYONE,
        notes="published honor rolls are public: no token needed",
    ),
    Row(
        "api_honor_rolls.get_honor_roll",
        "GET",
        read(lambda world: f"/api/v1/honor-rolls/{_honor_roll(world, 'published').id}"),
        EVERYONE,
        notes="a published roll is public, with masked names",
    ),
    Row(
        "api_honor_rolls.get_honor_roll",
        "GET",
        read(lambda world: f"/api/v1/honor-rolls/{_honor_roll(world, 'draft').id}"),
        allow(),
        notes="a draft is not found by anyone, not even its admins (they use the admin pages)",
    ),
]


# -- page rows -----------------------------------------------------------------------------------


def page(endpoint, target, expected, method="GET", notes="", login_redirect_is_grant=False):
    return Row(
        endpoint, method, target, expected, api=False, notes=notes, login_redirect_is_grant=login_redirect_is_grant
    )


def _activity_page(suffix=""):
    def target(world):
        activity = _activity_with_records(world)
        return f"/organizer/activities/{activity.id}{suffix}", {}, None

    return target


def _web_approve_activity(world):
    activity = _activity_with_records(world)
    records = activities.activity_records(world.helpers["enterer"], activity.id)
    data = {"record": [str(record.id) for record in records]}
    return f"/organizer/activities/{activity.id}/approve", {"data": data}, _approved_in(activity)


def _web_cancel_activity(world):
    activity = world.build.activity(organizer=world.helpers["enterer"], starts_at=utcnow() + timedelta(days=3))
    return (
        f"/organizer/activities/{activity.id}/cancel",
        {},
        lambda: _reload(type(activity), activity.id).status == "cancelled",
    )


def read_post(url):
    """A form post with no fields whose answer alone tells whether it was allowed."""
    return lambda world: (url, {"data": {}}, None)


def _web_change_mobile(world):
    mobile = f"1370000{next(_slots):04d}"
    return "/account/mobile", {"data": {"mobile": mobile, "password": PASSWORD}}, None


def _web_set_pin(world):
    return "/account/pin", {"data": {"pin": "2580", "pin_again": "2580", "password": PASSWORD}}, None


def _web_dismiss_notice(world):
    notices.notify([world.owner.id], "activity.place_confirmed", {"activity_id": 1, "title": "matrix"})
    notice = db.session.execute(select(Notice).order_by(Notice.id.desc())).scalars().first()
    db.session.commit()
    return f"/me/notices/{notice.id}/read", {}, lambda: _reload(Notice, notice.id).read_at is not None


def _web_decide(action, status):
    def target(world):
        record = _record(world)
        data = {"reason": "matrix"} if action == "reject" else {}
        return (
            f"/organizer/records/{record.id}/{action}",
            {"data": data},
            lambda: _reload(ServiceRecord, record.id).status == status,
        )

    return target


def _web_reverse(world):
    record = _record(world)
    activities.approve_record(world.helpers["approver"], record.id)
    return (
        f"/organizer/records/{record.id}/reverse",
        {"data": {"reason": "matrix"}},
        lambda: _reload(ServiceRecord, record.id).status == "reversed",
    )


def _shortfall(world):
    """A volunteer of c0 spent the points of a record that was then reversed: a shortfall."""
    volunteer = world.build.volunteer(world.tree["communities"][0], name="Spender")
    record = world.build.record(volunteer, started_at=world.slot(), entered_by=world.helpers["enterer"])
    activities.approve_record(world.helpers["approver"], record.id)
    account = world.build.account(volunteer)
    ledger.spend_points(account.id, account.balance, reason="matrix", cause_type="test")
    activities.reverse_record(world.helpers["approver"], record.id, "matrix")
    return ledger.open_shortfalls(account.id)[0]


def _web_request_write_off(world):
    shortfall = _shortfall(world)
    asked = select(func.count(ChangeRequest.id)).where(
        ChangeRequest.kind == worklist.WRITE_OFF_KIND, ChangeRequest.target_id == str(shortfall.id)
    )
    return (
        f"/organizer/work-list/shortfalls/{shortfall.id}/write-off",
        {"data": {"reason": "matrix"}},
        lambda: _scalar(asked) > 0,
    )


def _web_decide_change(action, status, author="approver"):
    def target(world):
        asker = world.helpers[author] if author in world.helpers else world.users[author]
        request = worklist.request_shortfall_write_off(asker, _shortfall(world).id, "matrix")
        return (
            f"/organizer/work-list/requests/{request.id}/{action}",
            {"data": {"reason": "matrix"}},
            lambda: _reload(ChangeRequest, request.id).status == status,
        )

    return target


def _web_mark_refunded(world):
    perk = world.helpers.get("copay_perk")
    if perk is None:
        d0 = world.tree["districts"][0]
        perk = world.helpers["copay_perk"] = world.build.perk(
            organization=d0, venues=[d0], points_cost=5, copay_amount=100
        )
    clerk = world.helpers["clerk"]
    key = request_key()
    redemption = redeem_with_code(
        clerk, world.tree["districts"][0], world.owner.volunteer.member_no, perk.id, 1, key, level_of=stars(0)
    )
    perks.void_redemption(clerk, redemption.id, "matrix")
    return (
        f"/organizer/work-list/refunds/{redemption.id}/refunded",
        {"data": {"method": "cash", "note": "matrix"}},
        lambda: _reload(Redemption, redemption.id).payment_status == "refunded",
    )


def _web_check_payment(world):
    """A reservation waiting for its card payment (Stripe's answer is stood in for: paid)."""
    reservation = _reservation(world)
    with write_transaction():
        redemption = db.session.get(Redemption, reservation.id)
        redemption.payment_method, redemption.payment_status = "stripe", "pending"
        redemption.payment_reference = f"pi_matrix_{reservation.id}"
    return (
        f"/perks/vouchers/{reservation.id}/check-payment",
        {},
        lambda: _reload(Redemption, reservation.id).payment_status == "paid",
    )


def _web_retry_card_refund(world):
    """A card refund left due (Stripe's answer is stood in for: it already holds the refund)."""
    target, data, _effect = _web_mark_refunded(world)
    redemption_id = int(target.split("/")[-2])
    with write_transaction():
        redemption = db.session.get(Redemption, redemption_id)
        redemption.payment_method, redemption.payment_reference = "stripe", f"pi_matrix_{redemption_id}"
    return (
        f"/organizer/work-list/refunds/{redemption_id}/retry",
        {"data": {}},
        lambda: _reload(Redemption, redemption_id).payment_status == "refunded",
    )


# -- the administrator's desk and service certificates -------------------------------------------


def _certificate(world):
    """A certificate of the inside volunteer (home: the inside community) for the last 30 days."""
    from points_service.certificates import service as certificates

    record = world.build.record(world.owner, started_at=world.slot(), entered_by=world.helpers["enterer"])
    activities.approve_record(world.helpers["approver"], record.id)
    today = utcnow().date()
    # Every cell asks for a certificate of its own: more than a volunteer may ask for in a day.
    with patch.object(certificates, "MAX_CERTIFICATES_PER_DAY", 1000):
        return certificates.issue_certificate(world.owner, today - timedelta(days=30), today)


def _desk_change(world):
    return worklist.request_shortfall_write_off(world.helpers["approver"], _shortfall(world).id, "matrix")


def _desk_decide(world):
    request = _desk_change(world)
    return (
        f"/admin/approvals/{request.id}/decision",
        {"data": {"decision": "approve"}},
        lambda: _reload(ChangeRequest, request.id).status == "approved",
    )


def _desk_revoke(world):
    from points_service.certificates.models import ServiceCertificate

    certificate = _certificate(world)
    return (
        f"/admin/certificates/{certificate.id}/revoke",
        {"data": {"reason": "matrix"}},
        lambda: _reload(ServiceCertificate, certificate.id).revoked_at is not None,
    )


def _desk_bulk_approve(world):
    record = _record(world)
    data = {"scope": "selected", "action": "approve", "record": str(record.id), "as_of": utcnow().isoformat()}
    return "/admin/records/decision", {"data": data}, lambda: _reload(ServiceRecord, record.id).status == "approved"


def _desk_adjust(world):
    account = world.build.account(world.owner)
    before = account.balance
    data = {
        "points": "5",
        "direction": "credit",
        "category": "goodwill",
        "reason": "matrix",
        "idempotency_key": world.build.idempotency_key(),
    }
    return (
        f"/admin/adjustments/volunteers/{world.owner.volunteer.id}",
        {"data": data},
        lambda: _reload(type(account), account.id).balance > before,
    )


def _duplicate_pair(world):
    """Two fresh profiles of one person in c0, without points (so a merge applies at once)."""
    community = world.build.community
    return [world.build.volunteer(community, name="Twin").volunteer.id for _ in range(2)]


def _desk_merge(world):
    from points_service.accounts.models import VolunteerProfile

    absorbed, survivor = _duplicate_pair(world)
    return (
        f"/admin/duplicates/{absorbed}/into/{survivor}",
        {},
        lambda: _reload(VolunteerProfile, absorbed).merged_into_id == survivor,
    )


# -- honor rolls on the desk: every target lies in the inside administrator's district -------------


def _honor_definition(world):
    from points_service.honor import definitions

    return definitions.create_honor_definition(world.helpers["approver"], _fresh_community(world), "month", "hours", 10)


def _honor_draft(world, *, with_entry=False):
    """A draft of a fresh community: of the last closed month, or (``with_entry``) a preview
    of the month of an approved record there of a new volunteer (the inside volunteer may
    have opted out of public lists in an earlier row)."""
    from points_service.honor import definitions
    from points_service.honor import service as honor

    community = _fresh_community(world)
    if with_entry:
        started = world.slot()
        world.build.approved_record(world.build.volunteer(community), organization=community, started_at=started)
        start = definitions.period_start_containing("month", to_local(started, community.timezone).date())
    else:
        (start,) = definitions.closed_period_starts("month", community.timezone)
    return honor.compute_honor_roll(None, community, "month", start, "hours", 10)


def _honor_published(world):
    """A published roll in D0, made once per world."""
    from points_service.changes.service import approve_change
    from points_service.honor import service as honor

    if "honor_published" not in world.helpers:
        roll = _honor_draft(world)
        request = honor.request_honor_roll_publication(world.helpers["approver"], roll.id)
        approve_change(world.build.staff("admin", world.tree["city"]), request.id)
        world.helpers["honor_published"] = roll
    return world.helpers["honor_published"]


def _desk_define_roll(world):
    from points_service.honor.models import HonorRollDefinition

    data = {
        "organization": str(_fresh_community(world).id),
        "period_kind": "month",
        "metric": "hours",
        "size": "10",
        "name_style": "masked",
    }
    return "/admin/honor-rolls", {"data": data}, _grew(HonorRollDefinition)


def _desk_redefine_roll(world):
    from points_service.honor.models import HonorRollDefinition

    definition = _honor_definition(world)
    return (
        f"/admin/honor-rolls/definitions/{definition.id}",
        {"data": {"size": "3", "name_style": "full", "active": "1"}},
        lambda: _reload(HonorRollDefinition, definition.id).size == 3,
    )


def _desk_compute_roll(world):
    from points_service.honor import definitions
    from points_service.honor.models import HonorRoll

    definition = _honor_definition(world)
    (start,) = definitions.closed_period_starts("month", definition.organization.timezone)
    made = select(func.count(HonorRoll.id)).where(HonorRoll.definition_id == definition.id)
    return (
        f"/admin/honor-rolls/definitions/{definition.id}/drafts",
        {"data": {"period_start": start.isoformat()}},
        lambda: _scalar(made) > 0,
    )


def _desk_exclude(world):
    from points_service.honor.models import HonorRollExclusion

    roll = _honor_draft(world, with_entry=True)
    excluded = select(func.count(HonorRollExclusion.id)).where(HonorRollExclusion.roll_id == roll.id)
    return (
        f"/admin/honor-rolls/{roll.id}/exclusions",
        {"data": {"entry": str(roll.entries[0].id), "version": str(roll.version), "reason": "matrix"}},
        lambda: _scalar(excluded) > 0,
    )


def _desk_request_publication(world):
    roll = _honor_draft(world)
    asked = select(func.count(ChangeRequest.id)).where(
        ChangeRequest.kind == "honor_roll.publish", ChangeRequest.target_id == str(roll.id)
    )
    return f"/admin/honor-rolls/{roll.id}/publication", {}, lambda: _scalar(asked) > 0


def _fresh_community(world):
    """A community of its own under the inside street, for one cell to rename or move."""
    from points_service.organizations.service import create_organization

    return create_organization(f"Matrix {next(_slots)}", "community", world.tree["streets"][0])


def _desk_add_child(world):
    street = world.tree["streets"][0]
    return (
        f"/admin/people/organizations/{street.id}/children",
        {"data": {"name": f"New {next(_slots)}"}},
        _grew(type(street)),
    )


def _desk_rename(world):
    node = _fresh_community(world)
    name = f"Renamed {node.id}"
    return (
        f"/admin/people/organizations/{node.id}/rename",
        {"data": {"name": name}},
        lambda: _reload(type(node), node.id).name == name,
    )


def _desk_move(world):
    from points_service.organizations.service import create_organization

    if "second_street" not in world.helpers:
        world.helpers["second_street"] = create_organization("Second Street", "street", world.tree["districts"][0])
    node, target = _fresh_community(world), world.helpers["second_street"]
    return (
        f"/admin/people/organizations/{node.id}/move",
        {"data": {"parent": str(target.id)}},
        lambda: _reload(type(node), node.id).parent_id == target.id,
    )


def _desk_grant(world):
    user = world.build.staff("organizer", world.build.community)
    place = world.build.community
    return (
        f"/admin/people/users/{user.id}/roles",
        {"data": {"role": "counter", "organization": str(place.id)}},
        lambda: any(m.role == "counter" for m in _reload(type(user), user.id).memberships),
    )


def _desk_revoke_role(world):
    user = world.build.staff("organizer", world.build.community)
    membership = user.memberships[0]
    return (
        f"/admin/people/users/{user.id}/roles/{membership.id}/revoke",
        {},
        lambda: _reload(type(membership), membership.id) is None,
    )


def _desk_set_active(active):
    def target(world):
        from points_service.accounts import people

        user = world.build.volunteer(world.build.community, name="Switch")
        if active:
            people.set_user_active(world.helpers["approver"], user, False)
        action = "enable" if active else "disable"
        return f"/admin/people/users/{user.id}/{action}", {}, lambda: _reload(type(user), user.id).active is active

    return target


def _desk_perk(world):
    """A perk of D0 of its own for each cell (cells change it)."""
    d0 = world.tree["districts"][0]
    return world.build.perk(organization=d0, venues=[d0], points_cost=5, stock=10, name="Desk perk")


def _desk_perk_form(world, perk=None, **changes):
    d0 = world.tree["districts"][0]
    form = {"name": "Matrix perk", "kind": "goods", "points_cost": "7", "venues": [str(d0.id)], "min_stars": "0"}
    form.update({"organization": str(d0.id)} if perk is None else {"version": str(perk.version)})
    form.update(changes)
    return form


def _desk_create_perk(world):
    return "/admin/perks/new", {"data": _desk_perk_form(world)}, _grew(Perk)


def _desk_edit_perk(world):
    perk = _desk_perk(world)
    return (
        f"/admin/perks/{perk.id}",
        {"data": _desk_perk_form(world, perk)},
        lambda: _reload(Perk, perk.id).name == "Matrix perk",
    )


def _desk_perk_change(suffix, data, effect):
    def target(world):
        perk = _desk_perk(world)
        return f"/admin/perks/{perk.id}/{suffix}", {"data": data(world)}, lambda: effect(_reload(Perk, perk.id))

    return target


def _desk_create_token(world):
    data = {"name": "matrix", "user": world.helpers["desk"].username, "role": "counter"}
    return "/admin/people/tokens", {"data": data}, _grew(ApiToken)


def _desk_revoke_token(world):
    token, _plaintext = issue_api_token(
        world.helpers["desk"], name="matrix", role="counter", organization=world.build.community
    )
    return (
        f"/admin/people/tokens/{token.id}/revoke",
        {},
        lambda: _reload(ApiToken, token.id).revoked_at is not None,
    )


def _calendar_day():
    """A date of its own for each cell's override."""
    return (date(2026, 1, 1) + timedelta(days=next(_slots) % 365)).isoformat()


def _desk_add_override(world):
    community, day = world.build.community, _calendar_day()
    data = {"org": str(community.id), "day": day, "kind": "holiday", "note": "matrix"}
    found = select(func.count(HolidayOverride.id)).where(
        HolidayOverride.organization_id == community.id, HolidayOverride.day == date.fromisoformat(day)
    )
    return "/admin/calendar/overrides", {"data": data}, lambda: _scalar(found) > 0


def _desk_remove_override(world):
    community, day = world.build.community, _calendar_day()
    rules.set_holiday_override(None, day, "workday", "matrix", community)
    found = select(func.count(HolidayOverride.id)).where(
        HolidayOverride.organization_id == community.id, HolidayOverride.day == date.fromisoformat(day)
    )
    data = {"org": str(community.id), "day": day, "year": "2026"}
    return "/admin/calendar/overrides/remove", {"data": data}, lambda: _scalar(found) == 0


def _desk_import_calendar(world):
    content = "date,kind,name\n2027-01-01,holiday,New Year\n"
    data = {"org": str(world.tree["city"].id), "year": "2027", "file": (io.BytesIO(content.encode()), "2027.csv")}
    return (
        "/admin/calendar/import",
        {"data": data, "content_type": "multipart/form-data"},
        _grew(HolidayCalendar),
    )


def _desk_setting(world):
    community = world.build.community
    minutes = str(10 + next(_slots))
    data = {"key": "checkin_grace_minutes", "value": minutes}
    stored = (OrganizationSetting.organization_id == community.id, OrganizationSetting.value == minutes)
    return (
        f"/admin/settings/{community.id}",
        {"data": data},
        lambda: _scalar(select(func.count(OrganizationSetting.id)).where(*stored)) > 0,
    )


def _rules_draft(world):
    """A draft rule table of D0 (the inside administrator's district), copied from the city's."""
    return rules.create_rule_set(world.helpers["approver"], world.tree["districts"][0])


def _rules_read(suffix=""):
    return read(lambda world: f"/admin/rules/{_rules_draft(world).id}{suffix}")


def _rules_clone(world):
    source = rules.publish_rule_set(world.helpers["approver"], _rules_draft(world), effective_from=world.slot().date())
    return f"/admin/rules/{source.id}/clone", {}, _grew(RuleSet)


def _rules_new_draft(world):
    return "/admin/rules/new", {"data": {"organization": str(world.tree["districts"][0].id)}}, _grew(RuleSet)


def _rules_import(world):
    data = {
        "organization": str(world.tree["districts"][0].id),
        "file": (io.BytesIO(json.dumps(rules_config()).encode()), "rules.json"),
    }
    return "/admin/rules/import", {"data": data, "content_type": "multipart/form-data"}, _grew(RuleSet)


def _rules_edit(world):
    draft = _rules_draft(world)
    return (
        f"/admin/rules/{draft.id}/edit",
        {"data": {"revision": "1", "name": "Matrix", "rates.patrol.points": "10", "rates.patrol.per_minutes": "60"}},
        lambda: _reload(RuleSet, draft.id).name == "Matrix",
    )


def _rules_backtest_start(world):
    draft = _rules_draft(world)
    last_day = to_local(utcnow(), draft.organization.timezone).date() - timedelta(days=1)
    data = {"first_day": (last_day - timedelta(days=7)).isoformat(), "last_day": last_day.isoformat()}
    return f"/admin/rules/{draft.id}/backtests", {"data": data}, _grew(BacktestRun)


def _rules_backtest_run(world):
    draft = _rules_draft(world)
    last_day = to_local(utcnow(), draft.organization.timezone).date() - timedelta(days=1)
    run, _thread = activities.request_backtest(world.helpers["approver"], draft, last_day - timedelta(days=7), last_day)
    return f"/admin/rules/{draft.id}/backtests/{run.id}", {}, None


def _rules_publish(world):
    draft = rules.update_draft(world.helpers["approver"], _rules_draft(world), effective_from=world.slot().date())
    return f"/admin/rules/{draft.id}/publish", {}, lambda: rules.pending_publication(draft) is not None


def _png():
    from PIL import Image

    output = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(output, format="PNG")
    output.seek(0)
    return output


def _desk_picture(world):
    perk = _desk_perk(world)
    return (
        f"/admin/perks/{perk.id}/picture",
        {"data": {"picture": (_png(), "p.png")}, "content_type": "multipart/form-data"},
        lambda: _reload(Perk, perk.id).picture is not None,
    )


def _stored_picture(world):
    if "picture" not in world.helpers:
        perk = perks.set_perk_picture(None, _desk_perk(world).id, _png().getvalue())
        world.helpers["picture"] = perk.picture
    return f"/perks/pictures/{world.helpers['picture']}"


def _desk_add_category(world):
    code = f"matrix_{next(_slots)}"
    data = {"code": code, "name_en": "Matrix", "name_zh": "矩阵"}
    return (
        "/admin/categories",
        {"data": data},
        lambda: _scalar(select(func.count(ServiceCategory.id)).where(ServiceCategory.code == code)) > 0,
    )


def _desk_deactivate_category(world):
    return (
        "/admin/categories/elderly_care",
        {"data": {"active": "0"}},
        lambda: not _reload(ServiceCategory, rules.get_category("elderly_care").id).active,
    )


def _web_redeem(world):
    data = {
        "member_no": phone_scan(world.owner.volunteer.member_no),
        "perk_id": str(world.helpers["perk"].id),
        "idempotency_key": world.build.idempotency_key(),
    }
    return "/counter/redeem", {"data": data}, _grew(Redemption)


def _web_void(world):
    redemption = _redemption(world)
    return (
        f"/counter/redemptions/{redemption.id}/void",
        {"data": {"reason": "matrix", "idempotency_key": world.build.idempotency_key()}},
        lambda: _reload(Redemption, redemption.id).status == "voided",
    )


def _web_hand_over(world):
    reservation = _reservation(world)
    member_no = world.owner.volunteer.member_no
    data = {
        "member_no": member_no,
        "member_code": spend_code(member_no),
        "redemption_id": str(reservation.id),
        "idempotency_key": world.build.idempotency_key(),
    }
    return "/counter/hand-over", {"data": data}, lambda: _reload(Redemption, reservation.id).status == "fulfilled"


def _web_fulfil(world):
    reservation = _reservation(world)
    data = {"code": reservation.voucher_code, "idempotency_key": world.build.idempotency_key()}
    return "/counter/fulfil", {"data": data}, lambda: _reload(Redemption, reservation.id).status == "fulfilled"


def _web_reserve(world):
    data = {"quantity": "1", "idempotency_key": world.build.idempotency_key()}
    return f"/perks/{world.helpers['perk'].id}/reserve", {"data": data}, _grew(Redemption)


def _web_cancel_reservation(world):
    reservation = _reservation(world)
    return (
        f"/perks/vouchers/{reservation.id}/cancel",
        {},
        lambda: _reload(Redemption, reservation.id).status == "voided",
    )


def _web_enter_record(world):
    started = to_local(world.slot(), "Asia/Shanghai")
    data = {
        "member_no": world.owner.volunteer.member_no,
        "organization": str(world.build.community.id),
        "category": "elderly_care",
        "started_at": started.strftime("%Y-%m-%dT%H:%M"),
        "ended_at": (started + timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M"),
    }
    return "/organizer/records/new", {"data": data}, _grew(ServiceRecord)


def _web_import(world):
    data = {"file": (_csv(world), "hours.csv"), "organization": str(world.build.community.id)}
    return "/organizer/imports", {"data": data, "content_type": "multipart/form-data"}, _grew(ImportBatch)


def _web_signup(world):
    activity = world.build.activity(organizer=world.helpers["enterer"], starts_at=utcnow() + timedelta(days=2))
    signed_up = select(func.count(ActivitySignup.id)).where(ActivitySignup.activity_id == activity.id)
    return f"/me/activities/{activity.id}/signup", {}, lambda: _scalar(signed_up) > 0


def _web_cancel_signup(world):
    activity = world.build.activity(organizer=world.helpers["enterer"], starts_at=utcnow() + timedelta(days=2))
    activities.sign_up(world.owner, activity.id)
    cancelled = select(func.count(ActivitySignup.id)).where(
        ActivitySignup.activity_id == activity.id, ActivitySignup.status == "cancelled"
    )
    return f"/me/activities/{activity.id}/cancel", {}, lambda: _scalar(cancelled) > 0


def _audited(world):
    """Something was written: the services audit every staff write."""
    return _grew(AuditEvent)


def _web_attendance(suffix, data_of):
    def target(world):
        activity = world.build.activity(organizer=world.helpers["enterer"], starts_at=utcnow() - timedelta(minutes=30))
        activities.sign_up(world.owner, activity.id, now=activity.starts_at - timedelta(hours=1))
        return f"/organizer/activities/{activity.id}/{suffix}", {"data": data_of(world)}, _audited(world)

    return target


def _ready(world):
    from points_service.health import code_migration_heads
    from tests.test_health import stamp_alembic_version

    stamp_alembic_version(next(iter(code_migration_heads(world.build.app))))
    return "/readyz", {}, None


STAFF_PAGES = allow(organizer="AA", admin="AA")
COUNTER_PAGES = allow(counter="AA", admin="AA")
VOLUNTEER_PAGES = allow(volunteer="AA")

PAGE_ROWS = [
    page("public.index", read("/"), EVERYONE),
    page("public.health", read("/healthz"), EVERYONE),
    page("public.ready", _ready, EVERYONE),
    page("metrics", read("/metrics"), allow(), notes="only Prometheus, with METRICS_TOKEN (tests/test_metrics.py)"),
    page("public.favicon", read("/favicon.ico"), EVERYONE),
    page("auth.reset_with_code", read("/reset"), EVERYONE),
    page("public.manifest", read("/manifest.webmanifest"), EVERYONE),
    page("honor.index", read("/honor/"), EVERYONE),
    page("honor.roll", read(lambda world: f"/honor/{_honor_roll(world, 'published').id}"), EVERYONE),
    page(
        "honor.roll",
        read(lambda world: f"/honor/{_honor_roll(world, 'draft').id}"),
        allow(),
        notes="drafts are not public",
    ),
    page("auth.login", read("/login"), EVERYONE),
    page("auth.register", read("/register"), EVERYONE),
    page("auth.privacy", read("/privacy"), EVERYONE),
    page("auth.set_language", lambda world: ("/language/en", {}, None), EVERYONE, method="POST"),
    page(
        "auth.logout",
        lambda world: ("/logout", {}, None),
        EVERYONE,
        method="POST",
        login_redirect_is_grant=True,
        notes="logging out ends on the login page",
    ),
    page("auth.account", read("/account"), SIGNED_IN),
    page("auth.change_password", read("/account/password"), SIGNED_IN),
    # the volunteer's own pages: every volunteer has their own; staff have no volunteer profile
    page("volunteer.home", read("/me/"), VOLUNTEER_PAGES),
    page("volunteer.activity_list", read("/me/activities"), VOLUNTEER_PAGES),
    page(
        "volunteer.activity",
        lambda world: (f"/me/activities/{_activity_with_records(world).id}", {}, None),
        allow(volunteer="AA"),
        notes="a published activity is open to every volunteer (the list shows the neighbourhood's)",
    ),
    page(
        "volunteer.sign_up",
        _web_signup,
        allow(volunteer="AA"),
        method="POST",
        notes="any volunteer may sign up to any published activity",
    ),
    page(
        "volunteer.cancel_signup",
        _web_cancel_signup,
        allow(volunteer="AD"),
        method="POST",
        notes="only one's own sign-up: the outside volunteer has none to cancel",
    ),
    page(
        "volunteer.checkin",
        lambda world: (f"/me/checkin/{world.helpers['signed_up'].id}/000000", {}, None),
        VOLUNTEER_PAGES,
    ),
    page("volunteer.records", read("/me/records"), VOLUNTEER_PAGES),
    page("volunteer.checkin_typed", read("/me/checkin"), VOLUNTEER_PAGES),
    page("account.index", read("/account/"), VOLUNTEER_PAGES),
    page("account.my_data_json", read("/account/my-data.json"), VOLUNTEER_PAGES),
    page("account.my_data_page", read("/account/my-data"), VOLUNTEER_PAGES),
    page("account.delete", read("/account/delete"), VOLUNTEER_PAGES),
    page("account.change_mobile", _web_change_mobile, VOLUNTEER_PAGES, method="POST"),
    page("account.public_listing", read_post("/account/public-listing"), VOLUNTEER_PAGES, method="POST"),
    page("account.set_pin", _web_set_pin, VOLUNTEER_PAGES, method="POST"),
    page(
        "account.remove_pin",
        lambda world: ("/account/pin/remove", {"data": {"remove-password": PASSWORD}}, None),
        VOLUNTEER_PAGES,
        method="POST",
    ),
    page("volunteer.member_code", read("/me/code"), VOLUNTEER_PAGES),
    page("volunteer.dismiss_notice", _web_dismiss_notice, allow(volunteer="AD"), method="POST"),
    page("volunteer.report", read("/me/records/new"), VOLUNTEER_PAGES),
    # the organizer's desk
    page("organizer.index", read("/organizer/"), STAFF_PAGES),
    page("organizer.activity_list", read("/organizer/activities"), STAFF_PAGES),
    page("organizer.new_activity", read("/organizer/activities/new"), STAFF_PAGES),
    page("organizer.activity", _activity_page(), allow(organizer="AD", admin="AD")),
    page("organizer.edit_activity", _activity_page("/edit"), allow(organizer="AD", admin="AD")),
    page("organizer.checkin_code", _activity_page("/checkin-code"), allow(organizer="AD", admin="AD")),
    page(
        "organizer.scan_member",
        _web_attendance("scan", lambda world: {"member_no": world.owner.volunteer.member_no}),
        allow(organizer="AD", admin="AD"),
        method="POST",
    ),
    page(
        "organizer.roster_action",
        _web_attendance("roster", lambda world: {"action": "toggle", "volunteer": str(world.owner.volunteer.id)}),
        allow(organizer="AD", admin="AD"),
        method="POST",
    ),
    page("organizer.approve_activity", _web_approve_activity, allow(organizer="AD", admin="AD"), method="POST"),
    page("organizer.cancel_activity", _web_cancel_activity, allow(organizer="AD", admin="AD"), method="POST"),
    page("organizer.records", read("/organizer/records"), STAFF_PAGES),
    page("organizer.new_record", _web_enter_record, allow(organizer="AD", admin="AD"), method="POST"),
    page(
        "organizer.find_volunteer",
        lambda world: ("/organizer/records/find", {"data": {"find-who": "Zhang"}}, None),
        STAFF_PAGES,
        method="POST",
        notes="each finds only the volunteers of their own communities",
    ),
    page("organizer.approve_record", _web_decide("approve", "approved"), allow(organizer="AD", admin="AD"), "POST"),
    page("organizer.reject_record", _web_decide("reject", "rejected"), allow(organizer="AD", admin="AD"), "POST"),
    page("organizer.reverse_record", _web_reverse, allow(admin="AD"), method="POST"),
    page("organizer.import_page", _web_import, allow(organizer="AD", admin="AD"), method="POST"),
    page("organizer.import_template", read("/organizer/imports/template-en.xlsx"), STAFF_PAGES),
    page("organizer.simulation", read("/organizer/simulation"), allow(admin="AA")),
    # the work list: each administrator sees their own subtree's
    page("admin.overview", read("/admin/"), allow(admin="AA")),
    page("admin.approvals", read("/admin/approvals"), allow(admin="AA")),
    page("admin.change_request", read(lambda world: f"/admin/approvals/{_desk_change(world).id}"), allow(admin="AD")),
    page("admin.decide_change", _desk_decide, allow(admin="AD"), method="POST"),
    page("admin.certificates_page", read("/admin/certificates"), allow(admin="AA")),
    page(
        "admin.records", read("/admin/records"), allow(admin="AA"), notes="each administrator sees their own subtree's"
    ),
    page("admin.records_decide", _desk_bulk_approve, allow(admin="AD"), method="POST"),
    page("admin.records_export", read("/admin/records/export.csv"), allow(admin="AA")),
    page(
        "admin.records_export_unmasked",
        lambda world: ("/admin/records/export.xlsx", {}, None),
        allow(admin="AA"),
        method="POST",
        notes="an outside administrator's export holds only their own subtree's records",
    ),
    page("admin.adjustments", read("/admin/adjustments"), allow(admin="AA")),
    page(
        "admin.adjustment_volunteer",
        read(lambda world: f"/admin/adjustments/volunteers/{world.owner.volunteer.id}"),
        allow(admin="AD"),
    ),
    page("admin.adjust_points", _desk_adjust, allow(admin="AD"), method="POST"),
    page("admin.work_list", read("/admin/work-list"), allow(admin="AA")),
    page("admin.revoke_certificate", _desk_revoke, allow(admin="AD"), method="POST"),
    page("admin.audit", read("/admin/audit"), allow(admin="AA"), notes="each administrator reads their own subtree's"),
    page(
        "admin.audit_export",
        lambda world: ("/admin/audit/export", {"data": {"format": "csv"}}, None),
        allow(admin="AA"),
        method="POST",
    ),
    page("admin.duplicates", read("/admin/duplicates"), allow(admin="AA")),
    page(
        "admin.merge_preview",
        read(lambda world: "/admin/duplicates/{}/into/{}".format(*_duplicate_pair(world))),
        allow(admin="AD"),
    ),
    page("admin.merge_volunteers", _desk_merge, allow(admin="AD"), method="POST"),
    page("admin.honor_rolls", read("/admin/honor-rolls"), allow(admin="AA")),
    page("admin.honor_rolls_define", _desk_define_roll, allow(admin="AD"), method="POST"),
    page(
        "admin.honor_rolls_definition",
        read(lambda world: f"/admin/honor-rolls/definitions/{_honor_definition(world).id}"),
        allow(admin="AD"),
    ),
    page("admin.honor_rolls_redefine", _desk_redefine_roll, allow(admin="AD"), method="POST"),
    page("admin.honor_rolls_compute", _desk_compute_roll, allow(admin="AD"), method="POST"),
    page(
        "admin.honor_rolls_review",
        read(lambda world: f"/admin/honor-rolls/{_honor_draft(world).id}"),
        allow(admin="AD"),
    ),
    page("admin.honor_rolls_exclude", _desk_exclude, allow(admin="AD"), method="POST"),
    page("admin.honor_rolls_request", _desk_request_publication, allow(admin="AD"), method="POST"),
    page(
        "admin.honor_rolls_poster",
        read(lambda world: f"/admin/honor-rolls/{_honor_published(world).id}/poster.pdf"),
        allow(admin="AD"),
    ),
    page(
        "admin.honor_rolls_export",
        read(lambda world: f"/admin/honor-rolls/{_honor_draft(world).id}/export.csv"),
        allow(admin="AD"),
    ),
    page("honor.poster", read(lambda world: f"/honor/{_honor_roll(world, 'published').id}/poster.pdf"), EVERYONE),
    page(
        "honor.poster",
        read(lambda world: f"/honor/{_honor_roll(world, 'draft').id}/poster.pdf"),
        allow(),
        notes="a draft has no poster",
    ),
    page("admin.people", read("/admin/people"), allow(admin="AA"), notes="each admin sees their own subtree"),
    page(
        "admin.people_organization",
        read(lambda world: f"/admin/people/organizations/{world.build.community.id}"),
        allow(admin="AD"),
    ),
    page("admin.people_add_child", _desk_add_child, allow(admin="AD"), method="POST"),
    page("admin.people_rename", _desk_rename, allow(admin="AD"), method="POST"),
    page("admin.people_move", _desk_move, allow(admin="AD"), method="POST"),
    page("admin.people_users", read("/admin/people/users"), allow(admin="AA")),
    page(
        "admin.people_users",
        lambda world: ("/admin/people/users", {"data": {"query": "Owner"}}, None),
        allow(admin="AA"),
        method="POST",
        notes="a search finds only users of the admin's own subtree",
    ),
    page("admin.people_user", read(lambda world: f"/admin/people/users/{world.owner.id}"), allow(admin="AD")),
    page("admin.people_grant_role", _desk_grant, allow(admin="AD"), method="POST"),
    page("admin.people_revoke_role", _desk_revoke_role, allow(admin="AD"), method="POST"),
    page("admin.people_disable_user", _desk_set_active(False), allow(admin="AD"), method="POST"),
    page("admin.people_enable_user", _desk_set_active(True), allow(admin="AD"), method="POST"),
    page("admin.people_tokens", read("/admin/people/tokens"), allow(admin="AA")),
    page("admin.people_create_token", _desk_create_token, allow(admin="AD"), method="POST"),
    page("admin.people_revoke_token", _desk_revoke_token, allow(admin="AD"), method="POST"),
    page("admin.calendar", read("/admin/calendar"), allow(admin="AA")),
    page("admin.calendar", read(lambda world: f"/admin/calendar?org={world.build.community.id}"), allow(admin="AD")),
    page("admin.calendar_add_override", _desk_add_override, allow(admin="AD"), method="POST"),
    page("admin.calendar_remove_override", _desk_remove_override, allow(admin="AD"), method="POST"),
    page(
        "admin.calendar_import",
        _desk_import_calendar,
        allow(admin="DD"),
        method="POST",
        notes="a year's calendar is entered for the deployment or a city, by an administrator of it",
    ),
    page(
        "admin.calendar_rerate",
        lambda world: (
            "/admin/calendar/rerate",
            {"data": {"org": str(world.build.community.id), "year": "2026"}},
            None,
        ),
        allow(admin="AD"),
        method="POST",
    ),
    page("admin.settings", read("/admin/settings"), allow(admin="AA")),
    page("admin.settings", read(lambda world: f"/admin/settings?org={world.build.community.id}"), allow(admin="AD")),
    page("admin.settings_change", _desk_setting, allow(admin="AD"), method="POST"),
    # the rules desk: rule sets of D0 (the inside administrator's district)
    page("admin.rules", read("/admin/rules"), allow(admin="AA"), notes="each admin lists their own subtree's"),
    page("admin.rules_view", _rules_read(), allow(admin="AD")),
    page("admin.rules_edit", _rules_read("/edit"), allow(admin="AD"), notes="the form"),
    page("admin.rules_edit", _rules_edit, allow(admin="AD"), method="POST"),
    page("admin.rules_backtest", _rules_read("/backtest"), allow(admin="AD"), notes="the form"),
    page("admin.rules_backtest_start", _rules_backtest_start, allow(admin="AD"), method="POST"),
    page("admin.rules_backtest_run", _rules_backtest_run, allow(admin="AD"), notes="a run of a D0 draft"),
    page("admin.rules_export", _rules_read("/export.json"), allow(admin="AD")),
    page("admin.rules_clone", _rules_clone, allow(admin="AD"), method="POST"),
    page("admin.rules_new_draft", _rules_new_draft, allow(admin="AD"), method="POST"),
    page("admin.rules_import", _rules_import, allow(admin="AD"), method="POST"),
    page("admin.rules_request_publication", _rules_publish, allow(admin="AD"), method="POST"),
    page("admin.perks", read("/admin/perks"), allow(admin="AA"), notes="each admin lists their own subtree's"),
    page("admin.perks_new", read("/admin/perks/new"), allow(admin="AA")),
    page("admin.perks_new", _desk_create_perk, allow(admin="AD"), method="POST"),
    page("admin.perks_edit", read(lambda world: f"/admin/perks/{world.helpers['perk'].id}"), allow(admin="AD")),
    page("admin.perks_edit", _desk_edit_perk, allow(admin="AD"), method="POST"),
    page(
        "admin.perks_state",
        _desk_perk_change("state", lambda world: {"active": "0"}, lambda perk: not perk.active),
        allow(admin="AD"),
        method="POST",
    ),
    page(
        "admin.perks_stock",
        _desk_perk_change("stock", lambda world: {"change": "5", "reason": "matrix"}, lambda perk: perk.stock == 15),
        allow(admin="AD"),
        method="POST",
    ),
    page("admin.perks_picture", _desk_picture, allow(admin="AD"), method="POST"),
    page("admin.categories", read("/admin/categories"), allow(admin="AA")),
    page(
        "admin.categories_add",
        _desk_add_category,
        allow(admin="DD"),
        method="POST",
        notes="categories are shared by the whole city: only a city administrator changes them",
    ),
    page("admin.categories_update", _desk_deactivate_category, allow(admin="DD"), method="POST"),
    page("rewards.picture", read(_stored_picture), EVERYONE, notes="perk pictures are public, like the catalog"),
    # reports of district D0: its admin only; the admin of D1 gets 404
    page("admin.reports", read(lambda world: f"/admin/reports?org={world.tree['districts'][0].id}"), allow(admin="AD")),
    page(
        "admin.reports_export",
        read(lambda world: f"/admin/reports/hours.xlsx?org={world.tree['districts'][0].id}"),
        allow(admin="AD"),
    ),
    page("certificates.my_certificates", read("/me/certificates"), VOLUNTEER_PAGES),
    page(
        "certificates.download",
        read(lambda world: f"/me/certificates/{_certificate(world).id}.pdf"),
        allow(volunteer="AD"),
        notes="only the volunteer the certificate is of",
    ),
    page("certificates.verify_form", read("/verify"), EVERYONE),
    page("certificates.verify", read(lambda world: f"/verify/{_certificate(world).verification_code}"), EVERYONE),
    page("organizer.work_list", read("/organizer/work-list"), allow(admin="AA")),
    page("organizer.password_reset", read("/organizer/password-reset"), STAFF_PAGES),
    page("organizer.request_write_off", _web_request_write_off, allow(admin="AD"), method="POST"),
    page("organizer.mark_refunded", _web_mark_refunded, allow(admin="AD"), method="POST"),
    page("organizer.retry_card_refund", _web_retry_card_refund, allow(admin="AD"), method="POST"),
    page(
        "payments.stripe_webhook",
        read_post("/payments/stripe/webhook"),
        allow(),
        method="POST",
        notes="no person may post it: only an event signed by Stripe is accepted (tests/payments/test_webhooks.py)",
    ),
    page("admin.payments_reconciliation", read("/admin/reports/payments"), allow(admin="AA")),
    page(
        "organizer.approve_change_request",
        _web_decide_change("approve", "approved"),
        allow(admin="AD"),
        method="POST",
        notes="asked by a city administrator; a second administrator of the volunteer's subtree decides",
    ),
    page("organizer.reject_change_request", _web_decide_change("reject", "rejected"), allow(admin="AD"), "POST"),
    page(
        "organizer.withdraw_change_request",
        _web_decide_change("withdraw", "withdrawn", author="admin/inside"),
        allow(admin="AD"),
        method="POST",
        notes="only the author (the inside administrator) withdraws",
    ),
    # the service counter
    page("counter.index", read("/counter/"), COUNTER_PAGES),
    page(
        "counter.choose_location",
        lambda world: ("/counter/location", {"data": {"location": str(world.tree["districts"][0].id)}}, None),
        COUNTER_PAGES,
        method="POST",
    ),
    page(
        "counter.scan",
        lambda world: ("/counter/scan", {"data": {"code": world.owner.volunteer.member_no}}, None),
        COUNTER_PAGES,
        method="POST",
        notes="a counter serves every volunteer; what it offers depends on where it is",
    ),
    page("counter.redeem", _web_redeem, allow(counter="AD", admin="AD"), method="POST"),
    page("counter.fulfil", _web_fulfil, allow(counter="AD", admin="AD"), method="POST"),
    page("counter.hand_over", _web_hand_over, allow(counter="AD", admin="AD"), method="POST"),
    page(
        "counter.receipt",
        lambda world: (f"/counter/redemptions/{_redemption(world).id}", {}, None),
        allow(counter="AD", admin="AD"),
    ),
    page("counter.void", _web_void, allow(counter="AD", admin="AD"), method="POST"),
    # the volunteer's perks
    page("rewards.catalog", read("/perks/"), VOLUNTEER_PAGES),
    page(
        "rewards.perk",
        lambda world: (f"/perks/{world.helpers['perk'].id}", {}, None),
        allow(volunteer="AD"),
        notes="a perk of D0 is offered to D0's volunteers only",
    ),
    page("rewards.reserve", _web_reserve, allow(volunteer="AD"), method="POST"),
    page("rewards.vouchers", read("/perks/vouchers"), VOLUNTEER_PAGES),
    page(
        "rewards.voucher",
        lambda world: (f"/perks/vouchers/{_reservation(world).id}", {}, None),
        allow(volunteer="AD"),
    ),
    page("rewards.cancel", _web_cancel_reservation, allow(volunteer="AD"), method="POST"),
    page("rewards.check_payment", _web_check_payment, allow(volunteer="AD"), method="POST"),
]

ROWS = API_ROWS + PAGE_ROWS


# -- the walk ---------------------------------------------------------------------------------------


@pytest.fixture
def world(app, build, monkeypatch):
    # Card refunds: Stripe is stood in for by an answer that it already holds the refund.
    monkeypatch.setattr(
        gateway, "refunds_of", lambda payment_id: [gateway.Refund("re_matrix", "succeeded", 10**6, payment_id)]
    )
    # A volunteer's payment check: Stripe is stood in for by an answer that the payment succeeded.
    monkeypatch.setattr(
        gateway,
        "retrieve_payment",
        lambda payment_id: gateway.Payment(payment_id, "succeeded", 0, "CNY", None, utcnow()),
    )
    tree = build.tree()
    inside_community, outside_community = tree["communities"][0], tree["communities"][3]
    d0, d1 = tree["districts"]
    world = World(build=build, tree=tree)
    world.users = {
        "anonymous": None,
        "volunteer/inside": build.volunteer(inside_community, points=100_000, name="Owner"),
        "volunteer/outside": build.volunteer(outside_community, points=100_000, name="Stranger"),
        "organizer/inside": build.staff("organizer", inside_community),
        "organizer/outside": build.staff("organizer", outside_community),
        "counter/inside": build.staff("counter", d0),
        "counter/outside": build.staff("counter", d1),
        "admin/inside": build.staff("admin", d0),
        "admin/outside": build.staff("admin", d1),
    }
    build.service_rules()
    world.helpers = {
        "perk": build.perk(organization=d0, venues=[d0], points_cost=5),
        "clerk": build.staff("counter", d0),
        "enterer": build.staff("organizer", inside_community),
        "approver": build.staff("admin", tree["city"]),
        "desk": build.service_account("counter", inside_community),
    }
    signed_up = build.activity(organizer=world.helpers["enterer"], starts_at=utcnow() + timedelta(days=5))
    activities.sign_up(world.owner, signed_up.id)
    world.helpers["signed_up"] = signed_up
    world.tokens = {name: build.token(user) for name, user in world.users.items() if user is not None}
    return world


def _client_for(app, world, column):
    client = app.test_client()
    user = world.users[column]
    if user is not None:
        login = user.username or user.mobile
        response = client.post("/login", data={"login": login, "password": PASSWORD})
        assert response.status_code == 302, column
    return client


def _refused(response):
    if response.status_code in (401, 403, 404):
        return True
    return response.status_code in (301, 302, 303) and "/login" in response.headers.get("Location", "")


def _granted(row, response, effect):
    if effect is not None:
        return effect()
    if row.login_redirect_is_grant and response.status_code == 302:
        return True
    return not _refused(response) and response.status_code < 400


def test_the_matrix_covers_every_endpoint(app):
    listed = {row.endpoint for row in ROWS}
    registered = {rule.endpoint for rule in app.url_map.iter_rules()} - UNGUARDED
    assert sorted(registered - listed) == [], "endpoints without a row in the authorization matrix"
    assert sorted(listed - registered) == [], "rows for endpoints that do not exist"


def test_every_role_inside_and_outside_gets_exactly_what_the_table_says(app, world):
    clients = {column: _client_for(app, world, column) for column in COLUMNS}
    unexpected_grants, unexpected_refusals = [], []
    for row in ROWS:
        for column in COLUMNS:
            url, kwargs, effect = row.target(world)
            kwargs = dict(kwargs)
            headers = dict(kwargs.pop("headers", {}))
            if row.api and column != "anonymous":
                headers["Authorization"] = f"Bearer {world.tokens[column]}"
            client = app.test_client() if row.api else clients[column]
            response = client.open(url, method=row.method, headers=headers, **kwargs)
            response.get_data()  # a streamed download (an export) runs to its end and closes
            granted = _granted(row, response, effect)
            response.close()  # a file sent as it is (an icon) stays open until then
            expected = row.expected[column] == "A"
            if granted and not expected:
                unexpected_grants.append(f"{row.method} {url} [{row.endpoint}] as {column}: {response.status_code}")
            elif expected and not granted:
                unexpected_refusals.append(f"{row.method} {url} [{row.endpoint}] as {column}: {response.status_code}")
            if row.endpoint == "auth.logout" and column != "anonymous":
                clients[column] = _client_for(app, world, column)
    report = [f"{len(unexpected_grants)} unexpected grants:", *unexpected_grants]
    report += [f"{len(unexpected_refusals)} unexpected refusals:", *unexpected_refusals]
    assert not unexpected_grants and not unexpected_refusals, "\n".join(report)
