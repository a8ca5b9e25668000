"""Duplicate volunteers: find likely pairs, merge one profile (absorbed) into another (survivor).

Finding. Mobile numbers are unique per user, so two profiles never share one; the
profile stores no birth date either. A likely duplicate is therefore two profiles with
the same name (compared without spaces and case) and the same home community, in the
administrator's subtree, neither merged already. Staff see them masked.

Merging moves everything that belongs to the person and explains the rest:

- points: the ledger moves the absorbed account's balance to the survivor's
  (``ledger.transfer_balance``: an ``adjust`` entry out, one in per expiry date, under
  one server key), each lot keeping its expiry; no entry is rewritten;
- service records, sign-ups, redemptions and certificates are re-pointed to the
  survivor; the survivor's verified minutes take the absorbed profile's;
- ledger history stays on the absorbed account (entries are immutable), so old earn
  and redeem entries keep naming it; ``check_service_records`` accepts an earn entry on
  the account of a profile merged into the record's volunteer;
- honor roll entries are snapshots and stay as published;
- a sign-up the absorbed profile cancelled for an activity the survivor also has a
  sign-up to stays with the absorbed profile (one person has one sign-up per activity);
- the absorbed profile is marked ``merged_into`` the survivor (profiles merged into it
  before now point at the survivor too, so one step always resolves a member number),
  and its user can no longer log in (its sessions end).

Refused: a profile merged into itself, a profile already merged, profiles outside the
administrator's subtree (not found), an absorbed profile with a reserved voucher (wait
until it is used, cancelled or expires: moving a reservation would move stock and
payment state too) or an open reversal shortfall (settle or write it off first, it is
owed by that account), an absorbed user who is also staff, service records of the two
that overlap in time, and a live sign-up of the absorbed profile to an activity the
survivor has a sign-up to as well.

A merge that moves points needs a second administrator: ``request_merge`` files a
change request (kind ``volunteer.merge``) whose approval runs ``merge_volunteers``; a
merge with no points applies at once. Both write an audit event with before and after.
"""

import secrets
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import aliased

from .. import authz
from ..accounts.models import RoleMembership, User, VolunteerProfile
from ..accounts.service import mask_mobile, mask_name
from ..activities.models import ACTIVE_RECORD_STATUSES, ActivitySignup, ServiceRecord
from ..audit.service import record_audit
from ..certificates.models import ServiceCertificate
from ..changes import service as changes
from ..database import lock, write_transaction
from ..errors import Conflict, NotFound, ValidationError
from ..extensions import db
from ..i18n import N_
from ..inputs import MAX_ID
from ..ledger import service as ledger
from ..ledger.models import PointsAccount, ReversalShortfall
from ..organizations.models import Organization
from ..perks.models import Redemption
from ..reports import aggregates as reports
from ..timeutil import utcnow

MERGE_KIND = "volunteer.merge"
PERMISSION = "user.manage"
MAX_PAIRS = 200
TRANSFER_REASON = N_("Points moved from a duplicate profile merged into this one")


class MergeRefused(Conflict):
    code = "merge_refused"
    default_message = _l("These two profiles cannot be merged now.")


@dataclass(frozen=True)
class DuplicatePair:
    """Two profiles that look like one person; ``first`` is the older (the likely survivor)."""

    first: VolunteerProfile
    second: VolunteerProfile
    reason: str  # "name_and_community"


@dataclass
class MergePlan:
    """What a merge of ``absorbed`` into ``survivor`` would move, as seen now."""

    absorbed: VolunteerProfile
    survivor: VolunteerProfile
    points: int
    records: int
    signups: int
    redemptions: int
    certificates: int
    kept_signups: list = field(default_factory=list)

    @property
    def moves_points(self):
        return self.points > 0


# -- reading ------------------------------------------------------------------------------------


def _profile_id(value):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise NotFound(_l("That volunteer does not exist."))
    return value


def _visible_profile(actor, profile_id):
    profile = db.session.get(VolunteerProfile, _profile_id(profile_id))
    if profile is None or not authz.can(actor, PERMISSION, profile.home_organization):
        raise NotFound(_l("That volunteer does not exist."))
    return profile


def _name_key(column):
    return func.lower(func.replace(func.trim(column), " ", ""))


def find_duplicates(actor, limit=MAX_PAIRS):
    """Likely duplicate pairs in the actor's subtree (same name and home community), oldest first."""
    authz.require(actor, PERMISSION)
    other_profile, other_user = aliased(VolunteerProfile), aliased(User)
    rows = db.session.execute(
        select(VolunteerProfile, other_profile)
        .join(User, User.id == VolunteerProfile.user_id)
        .join(Organization, Organization.id == VolunteerProfile.home_organization_id)
        .join(
            other_profile,
            (other_profile.home_organization_id == VolunteerProfile.home_organization_id)
            & (other_profile.id > VolunteerProfile.id),
        )
        .join(other_user, other_user.id == other_profile.user_id)
        .where(
            authz.scope_filter(actor, PERMISSION, Organization.path),
            VolunteerProfile.merged_into_id.is_(None),
            other_profile.merged_into_id.is_(None),
            _name_key(User.name) == _name_key(other_user.name),
        )
        .order_by(VolunteerProfile.id, other_profile.id)
        .limit(max(1, min(int(limit), MAX_PAIRS)))
    ).all()
    return [DuplicatePair(first, second, "name_and_community") for first, second in rows]


def masked_profile(profile):
    """What staff may see of a profile: masked name and mobile, member number's last four digits."""
    return {
        "id": profile.id,
        "name": mask_name(profile.user.name),
        "mobile": mask_mobile(profile.user.mobile) if profile.user.mobile else None,
        "member_no": "*" * 8 + profile.member_no[-4:],
        "community": profile.home_organization.name,
    }


def _balance(profile):
    return ledger.account_of_volunteer(profile.id).balance


def _count(model, *criteria):
    return db.session.execute(select(func.count(model.id)).where(*criteria)).scalar_one()


def _refusals(absorbed, survivor):
    """Raise ``MergeRefused`` (or a field error) for the first reason these two cannot merge."""
    if absorbed.id == survivor.id:
        raise ValidationError(_l("Choose two different profiles."), details={"field": "survivor"})
    if absorbed.merged_into_id is not None or survivor.merged_into_id is not None:
        raise MergeRefused(_l("One of these profiles was merged already."))
    staff_roles = _count(RoleMembership, RoleMembership.user_id == absorbed.user_id, RoleMembership.role != "volunteer")
    if staff_roles:
        raise MergeRefused(_l("The profile to merge away belongs to a staff user; merge the other way round."))
    account = ledger.account_of_volunteer(absorbed.id)
    if _count(Redemption, Redemption.volunteer_id == absorbed.id, Redemption.status == "reserved"):
        raise MergeRefused(
            _l("The profile to merge away has a reserved voucher; merge after it is used, cancelled or expired.")
        )
    if _count(ReversalShortfall, ReversalShortfall.account_id == account.id, ReversalShortfall.settled_at.is_(None)):
        raise MergeRefused(_l("The profile to merge away owes points of a reversed record; settle that first."))
    theirs = aliased(ServiceRecord)
    overlap = db.session.execute(
        select(ServiceRecord.id, theirs.id)
        .join(
            theirs,
            (theirs.volunteer_id == survivor.id)
            & (theirs.started_at < ServiceRecord.ended_at)
            & (ServiceRecord.started_at < theirs.ended_at),
        )
        .where(
            ServiceRecord.volunteer_id == absorbed.id,
            ServiceRecord.status.in_(ACTIVE_RECORD_STATUSES),
            theirs.status.in_(ACTIVE_RECORD_STATUSES),
        )
        .limit(1)
    ).first()
    if overlap is not None:
        raise MergeRefused(
            _l("Service records %(first)s and %(second)s overlap in time; reject one of them first."),
            first=overlap[0],
            second=overlap[1],
        )
    other = aliased(ActivitySignup)
    both = db.session.execute(
        select(ActivitySignup.activity_id)
        .join(other, (other.activity_id == ActivitySignup.activity_id) & (other.volunteer_id == survivor.id))
        .where(ActivitySignup.volunteer_id == absorbed.id, ActivitySignup.status != "cancelled")
        .limit(1)
    ).first()
    if both is not None:
        raise MergeRefused(
            _l(
                "Both profiles have a sign-up to activity %(activity)s and the one to merge away is not"
                " cancelled; cancel it first."
            ),
            activity=both[0],
        )


def _signups_kept(absorbed, survivor):
    """Sign-ups of the absorbed profile that stay with it: cancelled ones to activities the survivor
    also has a sign-up to (``_refusals`` leaves no live one of that kind)."""
    return (
        db.session.execute(
            select(ActivitySignup.id).where(
                ActivitySignup.volunteer_id == absorbed.id,
                ActivitySignup.activity_id.in_(
                    select(ActivitySignup.activity_id).where(ActivitySignup.volunteer_id == survivor.id)
                ),
            )
        )
        .scalars()
        .all()
    )


def plan_merge(actor, absorbed_id, survivor_id):
    """Check that ``absorbed_id`` may be merged into ``survivor_id`` by ``actor`` and say what would move."""
    authz.require(actor, PERMISSION)
    absorbed, survivor = _visible_profile(actor, absorbed_id), _visible_profile(actor, survivor_id)
    _refusals(absorbed, survivor)
    kept = _signups_kept(absorbed, survivor)
    return MergePlan(
        absorbed=absorbed,
        survivor=survivor,
        points=_balance(absorbed),
        records=_count(ServiceRecord, ServiceRecord.volunteer_id == absorbed.id),
        signups=_count(ActivitySignup, ActivitySignup.volunteer_id == absorbed.id) - len(kept),
        redemptions=_count(Redemption, Redemption.volunteer_id == absorbed.id),
        certificates=_count(ServiceCertificate, ServiceCertificate.volunteer_id == absorbed.id),
        kept_signups=kept,
    )


def _diff(plan):
    absorbed, survivor = masked_profile(plan.absorbed), masked_profile(plan.survivor)
    survivor_points = _balance(plan.survivor)
    lines = [
        {"field": "merged_away", "before": _profile_text(absorbed), "after": f"merged into #{survivor['id']}"},
        {"field": "kept", "before": _profile_text(survivor), "after": _profile_text(survivor)},
        {"field": "points_moved", "before": plan.points, "after": 0},
        {"field": "survivor_points", "before": survivor_points, "after": survivor_points + plan.points},
    ]
    for name in ("records", "signups", "redemptions", "certificates"):
        lines.append({"field": f"{name}_moved", "before": None, "after": getattr(plan, name)})
    return lines


def _profile_text(masked):
    parts = [f"#{masked['id']}", masked["name"], masked["member_no"], masked["mobile"] or "", masked["community"]]
    return " · ".join(part for part in parts if part)


# -- merging -----------------------------------------------------------------------------------


def request_merge(actor, absorbed_id, survivor_id, now=None):
    """Merge now when no points move; otherwise file a request a second administrator approves.

    Returns ``("merged", result)`` or ``("requested", change_request)``.
    """
    plan = plan_merge(actor, absorbed_id, survivor_id)
    if not plan.moves_points:
        return "merged", merge_volunteers(actor, plan.absorbed.id, plan.survivor.id, now=now)
    request = changes.request_change(
        actor,
        MERGE_KIND,
        plan.survivor.home_organization,
        target_type="volunteer_profile",
        target_id=plan.absorbed.id,
        payload={"absorbed_id": plan.absorbed.id, "survivor_id": plan.survivor.id, "points": plan.points},
        diff=_diff(plan),
        now=now,
    )
    return "requested", request


def _counted_in_reports(volunteer_id):
    """The volunteer's rows that the monthly report figures count: approved records, redemptions not undone."""
    records = db.session.execute(
        select(ServiceRecord).where(ServiceRecord.volunteer_id == volunteer_id, ServiceRecord.status == "approved")
    ).scalars()
    not_undone = Redemption.status.in_(("reserved", "fulfilled"))
    redemptions = db.session.execute(
        select(Redemption).where(Redemption.volunteer_id == volunteer_id, not_undone)
    ).scalars()
    return [*records, *redemptions]


def _recount(rows, sign):
    for row in rows:
        if isinstance(row, ServiceRecord):
            reports.count_service_record(row, sign)
        else:
            reports.count_redemption(row, sign)


def merge_volunteers(actor, absorbed_id, survivor_id, *, now=None, change_request_id=None):
    """Merge ``absorbed_id`` into ``survivor_id`` in one unit of work; returns what moved (a dict).

    Called directly only for merges that move no points; with points, through the change
    request's approval (``change_request_id``), the approver being ``actor``.
    """
    now = now or utcnow()
    with write_transaction():
        absorbed, survivor = _visible_profile(actor, absorbed_id), _visible_profile(actor, survivor_id)
        # Checked under both accounts' locks (lower id first, as every balance change
        # locks): a redemption or reservation of either waits for the merge, or went first.
        accounts = {
            row.volunteer_id: row
            for row in lock(PointsAccount, PointsAccount.volunteer_id.in_((absorbed.id, survivor.id)))
        }
        plan = plan_merge(actor, absorbed.id, survivor.id)
        if plan.moves_points and change_request_id is None:
            raise MergeRefused(_l("This merge moves points: another administrator must approve it."))
        before = {
            "absorbed": masked_profile(absorbed),
            "survivor": masked_profile(survivor),
            "absorbed_balance": accounts[absorbed.id].balance,
            "survivor_balance": accounts[survivor.id].balance,
        }
        transfer = ledger.transfer_balance(
            accounts[absorbed.id].id,
            accounts[survivor.id].id,
            reason=TRANSFER_REASON,
            actor_id=actor.id,
            idempotency_key=f"volunteer-merge:{absorbed.id}:into:{survivor.id}",
            cause_type="volunteer_merge",
            cause_id=absorbed.id,
            now=now,
        )
        moved = {"absorbed_id": absorbed.id, "survivor_id": survivor.id}
        counted = _counted_in_reports(absorbed.id)
        _recount(counted, -1)  # out of the absorbed volunteer's monthly figures...
        for name, model in (
            ("records", ServiceRecord),
            ("redemptions", Redemption),
            ("certificates", ServiceCertificate),
        ):
            moved[name] = db.session.execute(
                update(model).where(model.volunteer_id == absorbed.id).values(volunteer_id=survivor.id)
            ).rowcount
        moved["signups"] = db.session.execute(
            update(ActivitySignup)
            .where(ActivitySignup.volunteer_id == absorbed.id, ActivitySignup.id.not_in(plan.kept_signups or [0]))
            .values(volunteer_id=survivor.id)
        ).rowcount
        moved["signups_kept"] = list(plan.kept_signups)
        moved["points"] = transfer.points
        survivor.verified_minutes += absorbed.verified_minutes
        absorbed.verified_minutes = 0
        db.session.execute(
            update(VolunteerProfile)
            .where(VolunteerProfile.merged_into_id == absorbed.id)
            .values(merged_into_id=survivor.id)
        )
        absorbed.merged_into_id = survivor.id
        absorbed.merged_at = now
        for row in counted:
            db.session.refresh(row)
        _recount(counted, 1)  # ...and into the survivor's (active volunteers, perks by home)
        absorbed.user.active = False
        absorbed.user.session_token = secrets.token_hex(16)
        db.session.flush()
        record_audit(
            actor,
            MERGE_KIND,
            "volunteer_profile",
            absorbed.id,
            organization_id=survivor.home_organization_id,
            before=before,
            after={
                **moved,
                "absorbed_balance": accounts[absorbed.id].balance,
                "survivor_balance": accounts[survivor.id].balance,
                "change_request_id": change_request_id,
            },
        )
    return moved


def _apply_merge(reviewer, request, now):
    payload = request.payload
    return merge_volunteers(
        reviewer, payload["absorbed_id"], payload["survivor_id"], now=now, change_request_id=request.id
    )


changes.register_change_kind(
    MERGE_KIND, permission=PERMISSION, label=_l("Merge two volunteer profiles"), apply=_apply_merge
)
