"""Honor roll definitions: the rolls an organization publishes every month, quarter or year.

A definition fixes the subtree (its organization's), the period kind, the metric, the
size, how names show and whether it is active. Its rolls are ordinary honor rolls
(``service.py``) linked to it; each of its periods has at most one (unique definition x
period start, and unique subtree x period x metric).

A draft is computed from a definition only for a **closed** period (the period has ended
in the organization's time zone), on the desk or by ``honor-draft-due`` for cron. That
job is idempotent: a period that has a roll is left alone, and two runs at once make one
roll (the subtree's row lock serializes them; the unique constraints refuse the loser if
it ever got that far, and it reports the period as done by another run).
"""

from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import authz
from ..audit.service import record_audit
from ..changes import service as changes
from ..database import lock_one, write_transaction
from ..errors import Conflict, NotFound, ValidationError
from ..extensions import db
from ..organizations.models import Organization
from ..organizations.settings import setting
from ..timeutil import to_local, utcnow
from .models import METRICS, NAME_STYLES, PERIOD_KINDS, HonorRoll, HonorRollDefinition
from .service import (
    PUBLISH_KIND,
    HonorRollNotFound,
    HonorRollNotReady,
    _check_choice,
    _check_period_start,
    _check_size,
    _compute_in_transaction,
    _roll_id,
    next_period_start,
    period_bounds,
)

__all__ = [
    "DueDraft",
    "closed_period_starts",
    "compute_definition_draft",
    "create_honor_definition",
    "draft_due_rolls",
    "get_honor_definition",
    "get_managed_honor_roll",
    "list_honor_definitions",
    "list_honor_rolls",
    "pending_publications",
    "period_start_containing",
    "update_honor_definition",
]

MAX_LIST = 200


class HonorDefinitionNotFound(NotFound):
    code = "honor_definition_not_found"
    default_message = _l("That honor roll definition does not exist.")


class HonorDefinitionExists(Conflict):
    code = "honor_definition_exists"
    default_message = _l("This organization already has a roll for that period and metric.")


# -- periods -----------------------------------------------------------------------------------


def period_start_containing(period_kind, day):
    """The first day of the month, quarter or year that ``day`` (a local date) falls in."""
    if period_kind == "month":
        return day.replace(day=1)
    if period_kind == "quarter":
        return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return date(day.year, 1, 1)


def closed_period_starts(period_kind, timezone, now=None, count=1):
    """The ``count`` latest periods that have ended in ``timezone``, newest first."""
    today = to_local(now or utcnow(), timezone).date()
    starts = []
    current = period_start_containing(period_kind, today)
    for _index in range(count):
        current = period_start_containing(period_kind, current - timedelta(days=1))
        starts.append(current)
    return starts


# -- definitions -------------------------------------------------------------------------------


def _view(definition):
    return {
        "organization_id": definition.organization_id,
        "period_kind": definition.period_kind,
        "metric": definition.metric,
        "size": definition.size,
        "name_style": definition.name_style,
        "active": definition.active,
    }


def _check_active(active):
    if not isinstance(active, bool):
        raise ValidationError(_l("Say whether the roll is active."), details={"field": "active"})
    return active


def create_honor_definition(actor, organization, period_kind, metric, size, *, name_style=None, now=None):
    """Define a periodic roll of ``organization``'s subtree; active from now on. Names show
    as ``name_style`` says, by default as the organization's setting says. Audited."""
    if not isinstance(organization, Organization):
        raise ValidationError(_l("Choose the organization the roll covers."), details={"field": "organization"})
    authz.require(actor, "honor.manage", organization)
    if name_style is None:
        name_style = setting(organization, "honor_roll_names")
    period_kind = _check_choice(period_kind, PERIOD_KINDS, "period_kind", _l("The period must be one of: %(choices)s."))
    metric = _check_choice(metric, METRICS, "metric", _l("The metric must be one of: %(choices)s."))
    name_style = _check_choice(name_style, NAME_STYLES, "name_style", _l("Names must be one of: %(choices)s."))
    size = _check_size(size)
    now = now or utcnow()
    try:
        with write_transaction() as session:
            exists = session.execute(
                select(HonorRollDefinition.id).where(
                    HonorRollDefinition.organization_id == organization.id,
                    HonorRollDefinition.period_kind == period_kind,
                    HonorRollDefinition.metric == metric,
                )
            ).first()
            if exists is not None:
                raise HonorDefinitionExists(details={"field": "period_kind"})
            definition = HonorRollDefinition(
                organization_id=organization.id,
                period_kind=period_kind,
                metric=metric,
                size=size,
                name_style=name_style,
                active=True,
                created_by_id=actor.id,
                created_at=now,
                updated_at=now,
            )
            session.add(definition)
            session.flush()
            record_audit(
                actor,
                "honor.define",
                "honor_roll_definition",
                definition.id,
                organization_id=organization.id,
                after=_view(definition),
            )
    except IntegrityError:
        raise HonorDefinitionExists(details={"field": "period_kind"}) from None
    return definition


def update_honor_definition(actor, definition_id, *, size, name_style, active, now=None):
    """Change a definition's size, name style or active flag; rolls made before keep theirs. Audited."""
    size = _check_size(size)
    name_style = _check_choice(name_style, NAME_STYLES, "name_style", _l("Names must be one of: %(choices)s."))
    active = _check_active(active)
    with write_transaction():
        definition = lock_one(HonorRollDefinition, HonorRollDefinition.id == _definition_id(definition_id))
        if definition is None or not authz.can(actor, "honor.manage", definition.organization):
            raise HonorDefinitionNotFound()
        before = _view(definition)
        definition.size, definition.name_style, definition.active = size, name_style, active
        definition.updated_at = now or utcnow()
        if _view(definition) != before:
            record_audit(
                actor,
                "honor.redefine",
                "honor_roll_definition",
                definition.id,
                organization_id=definition.organization_id,
                before=before,
                after=_view(definition),
            )
    return definition


def _definition_id(definition_id):
    try:
        return _roll_id(definition_id)
    except HonorRollNotFound:
        raise HonorDefinitionNotFound() from None


def get_honor_definition(actor, definition_id):
    """A definition in the actor's subtree; any other is simply not found."""
    definition = db.session.get(HonorRollDefinition, _definition_id(definition_id))
    if definition is None or not authz.can(actor, "honor.manage", definition.organization):
        raise HonorDefinitionNotFound()
    return definition


def list_honor_definitions(actor):
    """The definitions of the actor's subtrees, active first, then by organization and period."""
    statement = (
        select(HonorRollDefinition)
        .join(Organization, Organization.id == HonorRollDefinition.organization_id)
        .where(authz.scope_filter(actor, "honor.manage", Organization.path))
        .order_by(HonorRollDefinition.active.desc(), Organization.path, HonorRollDefinition.id)
        .limit(MAX_LIST)
    )
    return db.session.execute(statement).scalars().all()


def get_managed_honor_roll(actor, roll_id):
    """Any roll (draft or published) in the actor's subtree; any other is simply not found."""
    roll = db.session.get(HonorRoll, _roll_id(roll_id))
    if roll is None or not authz.can(actor, "honor.manage", roll.organization):
        raise HonorRollNotFound(_l("That honor roll does not exist."))
    return roll


def list_honor_rolls(actor, *, definition=None, limit=50):
    """The rolls of the actor's subtrees (of one definition when given), newest period first."""
    statement = (
        select(HonorRoll)
        .join(Organization, Organization.id == HonorRoll.organization_id)
        .where(authz.scope_filter(actor, "honor.manage", Organization.path))
        .order_by(HonorRoll.period_start.desc(), HonorRoll.id.desc())
        .limit(max(1, min(int(limit), MAX_LIST)))
    )
    if definition is not None:
        statement = statement.where(HonorRoll.definition_id == definition.id)
    return db.session.execute(statement).scalars().all()


def pending_publications(actor):
    """``{roll id: pending change request}`` for the publication requests in the actor's subtrees."""
    requests = changes.list_change_requests(actor, status="pending", kinds=[PUBLISH_KIND], limit=changes.MAX_PAGE)
    return {int(request.target_id): request for request in requests}


# -- drafts --------------------------------------------------------------------------------------


def _check_closed(definition, period_start, now):
    end = period_bounds(definition.period_kind, period_start, definition.organization.timezone)[1]
    if now < end:
        next_start = next_period_start(definition.period_kind, period_start)
        raise HonorRollNotReady(
            _l(
                "This period runs until %(last_day)s (%(timezone)s time): a draft can be computed from"
                " %(first_day)s on, when it has ended."
            ),
            details={"field": "period_start"},
            last_day=(next_start - timedelta(days=1)).isoformat(),
            first_day=next_start.isoformat(),
            timezone=definition.organization.timezone,
        )


def compute_definition_draft(actor, definition_id, period_start, now=None):
    """Compute (or recompute) the draft of a definition for one closed period. Audited.

    Refused for a period that has not ended in the organization's time zone and for a
    period whose roll is published. Returns the draft."""
    definition = get_honor_definition(actor, definition_id)
    now = now or utcnow()
    period_start = _check_period_start(definition.period_kind, period_start, definition.organization, now)
    _check_closed(definition, period_start, now)
    try:
        with write_transaction() as session:
            roll = _compute_in_transaction(
                session,
                actor,
                definition.organization,
                definition.period_kind,
                period_start,
                definition.metric,
                definition.size,
                definition.name_style,
                now,
                definition=definition,
            )
    except IntegrityError:
        raise Conflict(_l("Someone else computed this roll at the same moment; try again.")) from None
    return roll


@dataclass(frozen=True)
class DueDraft:
    definition_id: int
    period_start: date
    roll_id: int | None  # the new draft, or None when the period already had a roll
    outcome: str  # "computed", "exists" or "raced" (another run computed it at the same moment)


def draft_due_rolls(now=None):
    """For every active definition, the draft of its latest closed period if it has no roll yet.

    Run by the operator's command (``honor-draft-due``, audited as the command line).
    Idempotent: a period with a roll (draft or published) is left alone."""
    now = now or utcnow()
    definition_ids = db.session.execute(
        select(HonorRollDefinition.id).where(HonorRollDefinition.active.is_(True)).order_by(HonorRollDefinition.id)
    ).scalars()
    results = []
    for definition_id in list(definition_ids):
        definition = db.session.get(HonorRollDefinition, definition_id)
        organization = definition.organization
        (period_start,) = closed_period_starts(definition.period_kind, organization.timezone, now)
        try:
            with write_transaction() as session:
                roll = _compute_in_transaction(
                    session,
                    None,
                    organization,
                    definition.period_kind,
                    period_start,
                    definition.metric,
                    definition.size,
                    definition.name_style,
                    now,
                    definition=definition,
                    only_new=True,
                )
                outcome = "computed" if roll is not None else "exists"
                roll_id = roll.id if roll is not None else None
        except IntegrityError:
            outcome, roll_id = "raced", None
        results.append(DueDraft(definition_id, period_start, roll_id, outcome))
    return results
