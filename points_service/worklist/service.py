"""The work list of an actor's subtree, and the write-off of a shortfall.

* A **shortfall** (``ledger.ReversalShortfall``) is recovered automatically from the
  volunteer's next earnings by the ledger, oldest first. Staff holding ``ledger.adjust``
  on the volunteer's home organization may instead ask to write off what is still
  open, with a reason; another person holding the same permission approves it through
  the change-request module (kind ``shortfall.write_off``), which applies it here.
* A **refund due** (a redemption undone after its co-payment was paid) is marked
  refunded by an administrator of its counter or perk (``perks.settle_refund``).
* The pending requests of those kinds, and of honor roll publication, wait here for a
  second person.

Every list is scoped with ``authz`` to the subtrees where the actor holds the permission
the action needs; names are masked.
"""

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from .. import authz
from ..accounts.models import User, VolunteerProfile
from ..accounts.service import mask_name
from ..audit.service import record_audit
from ..changes import service as changes
from ..errors import ValidationError
from ..extensions import db
from ..honor.service import PUBLISH_KIND as HONOR_PUBLISH_KIND
from ..ledger import service as ledger
from ..ledger.errors import ShortfallNotFound, ShortfallSettled
from ..ledger.models import LedgerEntry, PointsAccount, ReversalShortfall
from ..organizations.models import Organization
from ..perks.models import Perk, Redemption

WRITE_OFF_KIND = "shortfall.write_off"
WORK_LIST_PERMISSIONS = ("ledger.adjust", "redemption.void_any", "honor.manage")
MAX_ITEMS = 100
MAX_REASON = 255


@dataclass
class ShortfallItem:
    shortfall: ReversalShortfall
    volunteer_name: str  # masked
    community: str
    cause_type: str | None  # what the reversed entry was for ("service_record" ...)
    cause_id: str | None
    request: object = None  # the pending write-off request, if any


@dataclass
class RefundItem:
    redemption: Redemption
    volunteer_name: str  # masked
    place: Organization  # the counter, or the perk's organization for an online voucher


@dataclass
class WorkList:
    shortfalls: list = field(default_factory=list)
    refunds: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    more_shortfalls: bool = False
    more_refunds: bool = False

    @property
    def empty(self):
        return not (self.shortfalls or self.refunds or self.requests)


def may_see_work_list(actor):
    return any(authz.can(actor, permission, None) for permission in WORK_LIST_PERMISSIONS)


def _open_shortfalls(actor, limit):
    rows = db.session.execute(
        select(ReversalShortfall, User.name, Organization.name, LedgerEntry.cause_type, LedgerEntry.cause_id)
        .join(PointsAccount, PointsAccount.id == ReversalShortfall.account_id)
        .join(VolunteerProfile, VolunteerProfile.id == PointsAccount.volunteer_id)
        .join(User, User.id == VolunteerProfile.user_id)
        .join(Organization, Organization.id == VolunteerProfile.home_organization_id)
        .join(LedgerEntry, LedgerEntry.id == ReversalShortfall.reversed_entry_id)
        .where(
            ReversalShortfall.settled_at.is_(None),
            authz.scope_filter(actor, "ledger.adjust", Organization.path),
        )
        .order_by(ReversalShortfall.id)
        .limit(limit + 1)
    ).all()
    items = [ShortfallItem(row[0], mask_name(row[1]), row[2], row[3], row[4]) for row in rows[:limit]]
    return items, len(rows) > limit


def _refunds_due(actor, limit):
    owner = aliased(Organization)
    counter = aliased(Organization)
    rows = db.session.execute(
        select(Redemption, User.name)
        .join(Perk, Perk.id == Redemption.perk_id)
        .join(owner, owner.id == Perk.organization_id)
        .outerjoin(counter, counter.id == Redemption.counter_organization_id)
        .join(VolunteerProfile, VolunteerProfile.id == Redemption.volunteer_id)
        .join(User, User.id == VolunteerProfile.user_id)
        .where(
            Redemption.payment_status == "refund_due",
            or_(
                authz.scope_filter(actor, "redemption.void_any", owner.path),
                authz.scope_filter(actor, "redemption.void_any", counter.path),
            ),
        )
        .order_by(Redemption.id)
        .limit(limit + 1)
    ).all()
    items = [
        RefundItem(redemption, mask_name(name), redemption.counter_organization or redemption.perk.organization)
        for redemption, name in rows[:limit]
    ]
    return items, len(rows) > limit


def work_list(actor, limit=MAX_ITEMS):
    """What waits for staff in ``actor``'s subtrees: open shortfalls (each with its pending
    write-off request), refunds due, and pending requests of the work list's kinds."""
    limit = max(1, min(int(limit), MAX_ITEMS))
    result = WorkList()
    result.shortfalls, result.more_shortfalls = _open_shortfalls(actor, limit)
    result.refunds, result.more_refunds = _refunds_due(actor, limit)
    result.requests = changes.list_change_requests(actor, kinds=[WRITE_OFF_KIND, HONOR_PUBLISH_KIND], limit=limit)
    pending = {r.target_id: r for r in result.requests if r.kind == WRITE_OFF_KIND}
    for item in result.shortfalls:
        item.request = pending.get(str(item.shortfall.id))
    return result


# -- writing a shortfall off ------------------------------------------------------------------


def _home_organization(shortfall):
    profile = db.session.execute(
        select(VolunteerProfile)
        .join(PointsAccount, PointsAccount.volunteer_id == VolunteerProfile.id)
        .where(PointsAccount.id == shortfall.account_id)
    ).scalar_one()
    return profile.home_organization


def _check_reason(reason):
    text = reason.strip() if isinstance(reason, str) else ""
    if not 1 <= len(text) <= MAX_REASON or any(ord(character) < 32 for character in text):
        raise ValidationError(
            _l("Give a reason for the write-off: 1 to %(n)s characters on one line."),
            details={"field": "reason"},
            n=MAX_REASON,
        )
    return text


def request_shortfall_write_off(actor, shortfall_id, reason, now=None):
    """Ask for the open points of a shortfall to be written off; nothing changes until
    another person holding ``ledger.adjust`` there approves. Returns the pending request."""
    shortfall = ledger.get_shortfall(shortfall_id)
    organization = _home_organization(shortfall)
    if not authz.can(actor, "ledger.adjust", organization):
        raise ShortfallNotFound()
    text = _check_reason(reason)
    if shortfall.settled_at is not None or shortfall.open_points <= 0:
        raise ShortfallSettled()
    return changes.request_change(
        actor,
        WRITE_OFF_KIND,
        organization,
        target_type="shortfall",
        target_id=shortfall.id,
        payload={"shortfall_id": shortfall.id, "points": shortfall.open_points, "reason": text},
        diff=[
            {"field": "open_points", "before": shortfall.open_points, "after": 0},
            {
                "field": "written_off_points",
                "before": shortfall.written_off_points,
                "after": shortfall.written_off_points + shortfall.open_points,
            },
            {"field": "reason", "before": None, "after": text},
        ],
        now=now,
    )


def _apply_write_off(reviewer, request, now):
    payload = request.payload
    shortfall = ledger.write_off_shortfall(
        payload["shortfall_id"],
        expected_open=payload["points"],
        actor_id=reviewer.id,
        note=payload["reason"],
        now=now,
    )
    record_audit(
        reviewer,
        "shortfall.write_off",
        "reversal_shortfall",
        shortfall.id,
        organization_id=request.organization_id,
        before={"open_points": payload["points"]},
        after={
            "open_points": 0,
            "written_off_points": shortfall.written_off_points,
            "reason": payload["reason"],
            "requested_by": request.author_id,
        },
    )
    return {"shortfall_id": shortfall.id, "written_off_points": payload["points"]}


changes.register_change_kind(
    WRITE_OFF_KIND,
    permission="ledger.adjust",
    label=_l("Write off a shortfall"),
    apply=_apply_write_off,
)
