"""Computing, publishing and reading honor rolls.

A roll ranks the volunteers of an organization subtree by what their **approved**
service records started within one local period brought: credited minutes
(``verified_minutes``, the ``hours`` metric) or the points the records hold now
(``points``). ``compute_honor_roll`` reads the best values of the period off the honor
figures (each volunteer's minutes and points per month and subtree, kept with every
approval, reversal and re-rate: ``reports.models.HonorMonth``), so a city of a million
volunteers is ranked as fast as a district; it never adds up the period's records.
Public pages and the API read only the published snapshot (a few rows), never the
records.

A draft may be computed (and recomputed, each time a new ``version``) while its period
runs, as a preview. Publishing freezes it, and needs a second person (DESIGN.md
invariant 9): ``request_honor_roll_publication`` asks, another holder of
``honor.manage`` approves through the change-request module (kind
``honor_roll.publish``). Both refuse a roll whose period has not ended in the
organization's time zone, a draft computed before that end (it would miss the last
days), and a draft that names someone who opted out since; approval also refuses a
draft recomputed after the request (the reviewer saw another ranking).

Volunteers who opted out of public lists never appear: the ranking query leaves them
out, and a published roll hides anyone who opted out after it was published
(``public_entries``). Names are stored as the roll shows them (masked unless the roll
says otherwise). Ties rank the volunteer who reached the value first (the earlier end of
their last counted record) higher, then the lower profile id, so a recompute of
unchanged data gives the same order.
"""

from datetime import date, datetime, timedelta
from typing import NamedTuple

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from .. import authz
from ..accounts.models import User, VolunteerProfile
from ..accounts.service import mask_name
from ..activities.models import ServiceRecord
from ..audit.service import record_audit
from ..changes import service as changes
from ..database import lock_one, write_transaction
from ..errors import Conflict, NotFound, ValidationError
from ..extensions import db
from ..i18n import list_text
from ..organizations.models import Organization
from ..organizations.settings import setting
from ..reports.models import HonorMonth
from ..reports.service import add_months
from ..timeutil import local_midnight_utc, to_local, utcnow
from .models import (
    MAX_EXCLUSION_REASON,
    MAX_SIZE,
    METRICS,
    MIN_SIZE,
    NAME_STYLES,
    PERIOD_KINDS,
    HonorRoll,
    HonorRollEntry,
    HonorRollExclusion,
)

__all__ = [
    "PUBLISH_KIND",
    "HonorRollNotFound",
    "compute_honor_roll",
    "get_honor_roll",
    "get_published_honor_roll",
    "exclude_from_honor_roll",
    "honor_roll_title",
    "left_out_for_opting_out",
    "list_published_honor_rolls",
    "next_period_start",
    "period_bounds",
    "period_has_ended",
    "period_label",
    "period_text",
    "public_entries",
    "request_honor_roll_publication",
]

MAX_PAGE = 100
PUBLISH_KIND = "honor_roll.publish"


class HonorRollNotFound(NotFound):
    code = "honor_roll_not_found"
    default_message = _l("That honor roll does not exist or is not published.")


class HonorRollNotEditable(Conflict):
    code = "honor_roll_not_editable"
    default_message = _l("This honor roll is published and can no longer change.")


class HonorRollNotReady(Conflict):
    code = "honor_roll_not_ready"
    default_message = _l("This honor roll cannot be published yet.")


def _authorize(actor, organization):
    if actor is not None:  # None: the command line, run by the operator
        authz.require(actor, "honor.manage", organization)


# -- input ---------------------------------------------------------------------------------


def _check_choice(value, choices, field, message):
    if value not in choices:
        raise ValidationError(message, details={"field": field}, choices=list_text(choices, style="or"))
    return value


def _check_size(size):
    if isinstance(size, bool) or not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValidationError(
            _l("The size of an honor roll must be a whole number from %(low)s to %(high)s."),
            details={"field": "size"},
            low=MIN_SIZE,
            high=MAX_SIZE,
        )
    return size


def _check_period_start(period_kind, period_start, organization, now):
    if isinstance(period_start, str):
        try:
            period_start = date.fromisoformat(period_start.strip())
        except ValueError:
            period_start = None
    if isinstance(period_start, datetime) or not isinstance(period_start, date):
        raise ValidationError(_l("Enter the first day of the period as YYYY-MM-DD."), details={"field": "period_start"})
    first_month = {"month": period_start.month, "quarter": (period_start.month - 1) // 3 * 3 + 1, "year": 1}
    if period_start.day != 1 or period_start.month != first_month[period_kind]:
        messages = {
            "month": _l("A monthly roll starts on the first day of a month."),
            "quarter": _l("A quarterly roll starts on 1 January, 1 April, 1 July or 1 October."),
            "year": _l("A yearly roll starts on 1 January."),
        }
        raise ValidationError(messages[period_kind], details={"field": "period_start"})
    today = to_local(now, organization.timezone).date()
    if period_start > today:
        raise ValidationError(
            _l("The period has not started yet; choose a period that has begun."), details={"field": "period_start"}
        )
    return period_start


_PERIOD_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def next_period_start(period_kind, period_start):
    return add_months(period_start, _PERIOD_MONTHS[period_kind])


def period_bounds(period_kind, period_start, timezone):
    """The period as a half-open naive UTC range [start, end) of local midnights in ``timezone``."""
    end = next_period_start(period_kind, period_start)
    return (
        local_midnight_utc(period_start, timezone),
        local_midnight_utc(end, timezone),
    )


def _period_end(roll):
    return period_bounds(roll.period_kind, roll.period_start, roll.organization.timezone)[1]


def period_has_ended(roll, now=None):
    """True from the local midnight after the roll's last day, in its organization's time zone."""
    return (now or utcnow()) >= _period_end(roll)


# -- computing -------------------------------------------------------------------------------


class Ranked(NamedTuple):
    volunteer_id: int
    name: str
    home_community: str
    opted_out: bool
    value: int
    reached_at: datetime | None


def _period_months(period_kind, period_start):
    return [add_months(period_start, step) for step in range(_PERIOD_MONTHS[period_kind])]


def _totals_query(organization, months, metric, *, leave_out, with_opted_out):
    """Each volunteer's value in the subtree over ``months``, from the honor figures."""
    column = HonorMonth.minutes if metric == "hours" else HonorMonth.points
    home = aliased(Organization)
    conditions = [HonorMonth.organization_id == organization.id]
    if len(months) == 1:
        value = column
        conditions += [HonorMonth.month == months[0], column > 0]
    else:
        value = func.sum(column)
        conditions.append(HonorMonth.month.in_(months))
    if not with_opted_out:
        conditions.append(VolunteerProfile.public_listing_opt_out.is_(False))
    if leave_out:
        conditions.append(HonorMonth.volunteer_id.not_in(sorted(leave_out)))
    query = (
        select(
            HonorMonth.volunteer_id,
            User.name,
            home.name.label("home_community"),
            VolunteerProfile.public_listing_opt_out.label("opted_out"),
            value.label("value"),
        )
        .join(VolunteerProfile, VolunteerProfile.id == HonorMonth.volunteer_id)
        .join(User, User.id == VolunteerProfile.user_id)
        .join(home, home.id == VolunteerProfile.home_organization_id)
        .where(and_(*conditions))
    )
    if len(months) > 1:
        query = query.group_by(
            HonorMonth.volunteer_id, User.name, home.name, VolunteerProfile.public_listing_opt_out
        ).having(value > 0)
    return query, value


def _ranking(organization, period_kind, period_start, metric, size, *, leave_out=(), with_opted_out=False):
    """The top ``size`` volunteers of the subtree in the period, best first (``Ranked`` rows).

    Read from the honor figures (``reports.models.HonorMonth``): the best values come off
    an index, so the cost does not grow with the city. Everyone tied with the last place
    is read too, and the ties are broken as the docstring above says, with the end of each
    candidate's last record in the period (a few rows by volunteer)."""
    months = _period_months(period_kind, period_start)
    query, value = _totals_query(organization, months, metric, leave_out=leave_out, with_opted_out=with_opted_out)
    best = db.session.execute(query.order_by(value.desc()).limit(size)).all()
    if len(best) == size and best:
        last = best[-1].value
        tied = query.where(value == last) if len(months) == 1 else query.having(value == last)
        best = [row for row in best if row.value > last] + db.session.execute(tied).all()
    reached = _reached_at(organization, period_kind, period_start, [row.volunteer_id for row in best])
    ranked = [Ranked(*row, reached_at=reached.get(row.volunteer_id)) for row in best]
    ranked.sort(key=lambda row: (-row.value, row.reached_at or datetime.max, row.volunteer_id))
    return ranked[:size]


def _reached_at(organization, period_kind, period_start, volunteer_ids):
    """{volunteer: the end of their last approved record of the period in the subtree}."""
    if not volunteer_ids:
        return {}
    starts, ends = period_bounds(period_kind, period_start, organization.timezone)
    place = aliased(Organization)
    return dict(
        db.session.execute(
            select(ServiceRecord.volunteer_id, func.max(ServiceRecord.ended_at))
            .join(place, place.id == ServiceRecord.organization_id)
            .where(
                ServiceRecord.volunteer_id.in_(volunteer_ids),
                ServiceRecord.status == "approved",
                ServiceRecord.started_at >= starts,
                ServiceRecord.started_at < ends,
                place.path.startswith(organization.path),
            )
            .group_by(ServiceRecord.volunteer_id)
        ).all()
    )


def _display_name(name, name_style):
    return name if name_style == "full" else mask_name(name)


def _roll_view(roll):
    return {
        "organization_id": roll.organization_id,
        "period_kind": roll.period_kind,
        "period_start": roll.period_start.isoformat(),
        "metric": roll.metric,
        "size": roll.size,
        "name_style": roll.name_style,
        "status": roll.status,
        "entries": len(roll.entries),
        "exclusions": len(roll.exclusions),
    }


def _check_compute_arguments(organization, period_kind, period_start, metric, size, name_style, now):
    period_kind = _check_choice(period_kind, PERIOD_KINDS, "period_kind", _l("The period must be one of: %(choices)s."))
    metric = _check_choice(metric, METRICS, "metric", _l("The metric must be one of: %(choices)s."))
    name_style = _check_choice(name_style, NAME_STYLES, "name_style", _l("Names must be one of: %(choices)s."))
    size = _check_size(size)
    period_start = _check_period_start(period_kind, period_start, organization, now)
    return period_kind, period_start, metric, size, name_style


def _fill_entries(session, roll, organization):
    """(Re)write the draft's entries from the ranking, leaving out its exclusions: ranks close up."""
    leave_out = {exclusion.volunteer_id for exclusion in roll.exclusions}
    rows = _ranking(organization, roll.period_kind, roll.period_start, roll.metric, roll.size, leave_out=leave_out)
    roll.entries.extend(
        HonorRollEntry(
            rank=rank,
            volunteer_id=row.volunteer_id,
            display_name=_display_name(row.name, roll.name_style),
            value=int(row.value),
            home_community=row.home_community,
        )
        for rank, row in enumerate(rows, start=1)
    )
    session.flush()


def _compute_in_transaction(
    session,
    actor,
    organization,
    period_kind,
    period_start,
    metric,
    size,
    name_style,
    now,
    *,
    definition=None,
    only_new=False,
):
    """The draft computation inside the caller's write transaction. With ``only_new``
    an existing roll is left alone and None returned (nothing is written)."""
    lock_one(Organization, Organization.id == organization.id)  # one computation per subtree at a time
    roll = session.execute(
        select(HonorRoll)
        .where(
            HonorRoll.organization_id == organization.id,
            HonorRoll.period_kind == period_kind,
            HonorRoll.period_start == period_start,
            HonorRoll.metric == metric,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    before = None
    if roll is not None and only_new:
        return None
    if roll is None:
        roll = HonorRoll(
            organization_id=organization.id,
            period_kind=period_kind,
            period_start=period_start,
            metric=metric,
            created_by_id=getattr(actor, "id", None),
            created_at=now,
        )
        session.add(roll)
    elif roll.status != "draft":
        raise HonorRollNotEditable(details={"roll_id": roll.id})
    else:
        before = _roll_view(roll)
        roll.entries.clear()
        roll.version += 1
        session.flush()  # the old entries go before the new ranks arrive
    if definition is not None and roll.definition_id is None:
        roll.definition_id = definition.id
    roll.size, roll.name_style, roll.computed_at = size, name_style, now
    session.flush()
    _fill_entries(session, roll, organization)
    record_audit(
        actor,
        "honor.compute",
        "honor_roll",
        roll.id,
        organization_id=organization.id,
        before=before,
        after=_roll_view(roll),
    )
    return roll


def compute_honor_roll(actor, organization, period_kind, period_start, metric, size, *, name_style=None, now=None):
    """Compute the draft roll of ``organization``'s subtree for one period and metric.

    ``name_style`` (``masked`` or ``full``) defaults to the organization's setting.
    The period must have begun; while it runs the draft is a preview. A draft for the
    same subtree, period and metric is recomputed in place (its entries replaced, its
    version raised, its exclusions kept); a published one cannot be recomputed.
    Audited. Returns the draft."""
    if not isinstance(organization, Organization):
        raise ValidationError(_l("Choose the organization the roll covers."), details={"field": "organization"})
    _authorize(actor, organization)
    if name_style is None:
        name_style = setting(organization, "honor_roll_names")
    now = now or utcnow()
    arguments = _check_compute_arguments(organization, period_kind, period_start, metric, size, name_style, now)
    try:
        with write_transaction() as session:
            roll = _compute_in_transaction(session, actor, organization, *arguments, now)
    except IntegrityError:
        raise Conflict(_l("Someone else computed this roll at the same moment; try again.")) from None
    return roll


# -- exclusions ------------------------------------------------------------------------------


def _check_exclusion_reason(reason):
    text = " ".join(reason.split()) if isinstance(reason, str) else ""
    if not text:
        raise ValidationError(_l("Say why this volunteer is left off the roll."), details={"field": "reason"})
    if len(text) > MAX_EXCLUSION_REASON:
        raise ValidationError(
            _l("The reason can have at most %(n)s characters."), n=MAX_EXCLUSION_REASON, details={"field": "reason"}
        )
    return text


def exclude_from_honor_roll(actor, roll_id, entry_id, reason, *, version, now=None):
    """Take the volunteer of line ``entry_id`` off a draft, with a reason the reviewer reads.

    ``version`` is the draft's version the actor saw: a draft recomputed since is refused
    (its lines may have moved). The draft is recomputed without them (the ranks close up
    and the next volunteer moves in) and its version rises, so a publication asked for
    before must be asked again. Refused on a published roll. Audited."""
    text = _check_exclusion_reason(reason)
    now = now or utcnow()
    with write_transaction() as session:
        roll = lock_one(HonorRoll, HonorRoll.id == _roll_id(roll_id))
        if roll is None:
            raise HonorRollNotFound()
        _authorize(actor, roll.organization)
        if roll.status != "draft":
            raise HonorRollNotEditable(details={"roll_id": roll.id})
        entry = next((line for line in roll.entries if line.id == entry_id), None)
        if entry is None or roll.version != version:
            raise Conflict(
                _l("This draft was recomputed since the page was loaded; reload it and choose again."),
                details={"field": "entry"},
            )
        before = {**_roll_view(roll), "version": roll.version}
        exclusion = HonorRollExclusion(
            roll=roll,
            volunteer_id=entry.volunteer_id,
            rank=entry.rank,
            display_name=entry.display_name,
            value=entry.value,
            reason=text,
            excluded_by_id=getattr(actor, "id", None),
            excluded_at=now,
        )
        session.add(exclusion)
        roll.entries.clear()
        roll.version += 1
        roll.computed_at = now
        session.flush()
        _fill_entries(session, roll, roll.organization)
        record_audit(
            actor,
            "honor.exclude",
            "honor_roll",
            roll.id,
            organization_id=roll.organization_id,
            before=before,
            after={
                **_roll_view(roll),
                "version": roll.version,
                "excluded": {"volunteer_id": exclusion.volunteer_id, "rank": exclusion.rank, "reason": text},
            },
        )
    return roll


def left_out_for_opting_out(roll):
    """Who would be on this draft had they not opted out of public lists, for the reviewer:
    (rank they would have, masked name, value, community). Empty for a published roll."""
    if roll.status != "draft":
        return []
    leave_out = {exclusion.volunteer_id for exclusion in roll.exclusions}
    rows = _ranking(
        roll.organization,
        roll.period_kind,
        roll.period_start,
        roll.metric,
        roll.size,
        leave_out=leave_out,
        with_opted_out=True,
    )
    return [
        {
            "rank": rank,
            "display_name": mask_name(row.name),
            "value": int(row.value),
            "home_community": row.home_community,
        }
        for rank, row in enumerate(rows, start=1)
        if row.opted_out
    ]


# -- publishing: a request, then a second person's approval ------------------------------------


def _opted_out_entries(roll):
    return db.session.execute(
        select(func.count(HonorRollEntry.id))
        .join(VolunteerProfile, VolunteerProfile.id == HonorRollEntry.volunteer_id)
        .where(HonorRollEntry.roll_id == roll.id, VolunteerProfile.public_listing_opt_out.is_(True))
    ).scalar_one()


def _check_publishable(roll, now):
    """Refuse a roll that is published, whose period runs, or whose draft is out of date."""
    if roll.status != "draft":
        raise HonorRollNotEditable(details={"roll_id": roll.id})
    end = _period_end(roll)
    if now < end:
        next_start = next_period_start(roll.period_kind, roll.period_start)
        raise HonorRollNotReady(
            _l(
                "The period of this roll runs until %(last_day)s (%(timezone)s time); it can be published"
                " from %(first_day)s on, when it has ended."
            ),
            details={"roll_id": roll.id},
            last_day=(next_start - timedelta(days=1)).isoformat(),
            first_day=next_start.isoformat(),
            timezone=roll.organization.timezone,
        )
    if roll.computed_at < end:
        raise HonorRollNotReady(
            _l(
                "This draft was computed before its period ended, so it may miss the last days;"
                " recompute it, then ask again."
            ),
            details={"roll_id": roll.id},
        )
    opted_out = _opted_out_entries(roll)
    if opted_out:
        raise HonorRollNotReady(
            _l(
                "Volunteers on this draft have opted out of public lists since it was computed (%(n)s);"
                " recompute it, then ask again."
            ),
            details={"roll_id": roll.id},
            n=opted_out,
        )


def _publication_diff(roll):
    unit = "min" if roll.metric == "hours" else "points"
    return [
        {"field": "organization", "before": None, "after": roll.organization.name},
        {"field": "period", "before": None, "after": f"{roll.period_kind} {roll.period_start.isoformat()}"},
        {"field": "metric", "before": None, "after": roll.metric},
        {"field": "status", "before": "draft", "after": "published"},
        *(
            {
                "field": "rank",
                "before": None,
                "after": f"{entry.rank}. {entry.display_name} · {entry.home_community} · {entry.value} {unit}",
            }
            for entry in roll.entries
        ),
        *(
            {
                "field": "excluded",
                "before": f"{exclusion.rank}. {exclusion.display_name} · {exclusion.value} {unit}",
                "after": exclusion.reason,
            }
            for exclusion in roll.exclusions
        ),
    ]


def request_honor_roll_publication(actor, roll_id, now=None):
    """Ask for a draft to be published; another person holding ``honor.manage`` on its
    organization approves (``changes.approve_change``). Refused until the period has ended
    and the draft was computed after that. Returns the pending change request."""
    roll = get_honor_roll(roll_id)
    authz.require(actor, "honor.manage", roll.organization)
    now = now or utcnow()
    _check_publishable(roll, now)
    return changes.request_change(
        actor,
        PUBLISH_KIND,
        roll.organization,
        target_type="honor_roll",
        target_id=roll.id,
        target_version=roll.version,
        payload={"roll_id": roll.id},
        diff=_publication_diff(roll),
        now=now,
    )


def _apply_publication(reviewer, request, now):
    """Publish the draft the request names, as the reviewer saw it (the approval's transaction)."""
    roll = lock_one(HonorRoll, HonorRoll.id == request.payload["roll_id"])
    if roll is None:
        raise HonorRollNotFound()
    if roll.status == "draft" and roll.version != request.target_version:
        raise Conflict(
            _l(
                "This draft was recomputed after its publication was requested; reject this request and ask"
                " again, so that the reviewer sees the ranking that will be published."
            ),
            details={"roll_id": roll.id},
        )
    _check_publishable(roll, now)
    before = _roll_view(roll)
    roll.status, roll.published_at, roll.published_by_id = "published", now, reviewer.id
    record_audit(
        reviewer,
        "honor.publish",
        "honor_roll",
        roll.id,
        organization_id=roll.organization_id,
        before=before,
        after={**_roll_view(roll), "requested_by": request.author_id},
    )
    return {"roll_id": roll.id}


changes.register_change_kind(
    PUBLISH_KIND, permission="honor.manage", label=_l("Publish an honor roll"), apply=_apply_publication
)


# -- reading -----------------------------------------------------------------------------------


def _roll_id(roll_id):
    if isinstance(roll_id, bool) or not isinstance(roll_id, int) or not 1 <= roll_id <= 2**63 - 1:
        raise HonorRollNotFound()
    return roll_id


def get_honor_roll(roll_id):
    """Any roll, draft or published (for staff and the command line)."""
    roll = db.session.get(HonorRoll, _roll_id(roll_id))
    if roll is None:
        raise HonorRollNotFound()
    return roll


def get_published_honor_roll(roll_id):
    """A published roll; drafts and unknown ids are both simply not found."""
    roll = db.session.get(HonorRoll, _roll_id(roll_id))
    if roll is None or roll.status != "published":
        raise HonorRollNotFound()
    return roll


def public_entries(roll):
    """The entries of a published roll that may be shown now: anyone who has opted out of
    public lists since it was published is left out (the snapshot itself never changes)."""
    return (
        db.session.execute(
            select(HonorRollEntry)
            .join(VolunteerProfile, VolunteerProfile.id == HonorRollEntry.volunteer_id)
            .where(HonorRollEntry.roll_id == roll.id, VolunteerProfile.public_listing_opt_out.is_(False))
            .order_by(HonorRollEntry.rank)
        )
        .scalars()
        .all()
    )


def list_published_honor_rolls(organization=None, *, before_id=None, limit=50):
    """Published rolls, newest first; only those of ``organization``'s subtree when given.

    Paged by id: pass the last id of a page as ``before_id`` for the next one."""
    limit = max(1, min(int(limit), MAX_PAGE + 1))
    statement = select(HonorRoll).where(HonorRoll.status == "published").order_by(HonorRoll.id.desc()).limit(limit)
    if before_id is not None:
        statement = statement.where(HonorRoll.id < before_id)
    if organization is not None:
        statement = statement.join(Organization, Organization.id == HonorRoll.organization_id).where(
            Organization.path.startswith(organization.path)
        )
    return db.session.execute(statement).scalars().all()


# -- words -------------------------------------------------------------------------------------


def period_text(period_kind, period_start):
    """A period in words, e.g. "2026-03", "2026 Q1", "2026"."""
    if period_kind == "month":
        return _("%(year)s-%(month)02d", year=period_start.year, month=period_start.month)
    if period_kind == "quarter":
        return _("%(year)s Q%(quarter)s", year=period_start.year, quarter=(period_start.month - 1) // 3 + 1)
    return _("%(year)s", year=period_start.year)


def period_label(roll):
    return period_text(roll.period_kind, roll.period_start)


def honor_roll_title(roll):
    """A roll's heading, e.g. "Test City, 2026-10: most hours"."""
    if roll.metric == "hours":
        return _(
            "%(organization)s, %(period)s: most hours of service",
            organization=roll.organization.name,
            period=period_label(roll),
        )
    return _(
        "%(organization)s, %(period)s: most points earned",
        organization=roll.organization.name,
        period=period_label(roll),
    )
