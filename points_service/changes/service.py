"""The one path for changes that need a second person (DESIGN.md invariant 9).

Publishing a rule set, granting an admin role, a large manual adjustment, a merge that
moves points, publishing an honor roll and writing off a shortfall all follow it:

1. the owning domain calls ``request_change`` with the payload it will apply and the
   diff a reviewer must see; nothing changes yet;
2. another person holding the same permission on the same subtree calls
   ``approve_change`` (or ``reject_change`` with a reason; the author may
   ``withdraw_change``);
3. approval calls the domain's ``apply`` function in the same transaction as the
   request's new status and the audit row, so the change exists exactly when it was
   approved, and exactly once.

This module stores, authorizes and routes. It decides no domain rule: each kind is
registered by its domain (``register_change_kind``) with the permission it needs, a
label and the function that applies it, and that function re-checks everything it
needs (the target may have changed since the request was made).
"""

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import false, func, or_, select
from sqlalchemy.exc import IntegrityError

from .. import authz
from ..audit.service import record_audit
from ..database import lock_one, write_transaction
from ..errors import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..organizations.models import Organization
from ..timeutil import utcnow
from .models import MAX_DECISION_REASON, ChangeRequest

MAX_PAGE = 200
MAX_DIFF_LINES = 500
STATUS_WORDS = {
    "pending": _l("Waiting for review"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "withdrawn": _l("Withdrawn"),
}


@dataclass(frozen=True)
class ChangeKind:
    name: str
    permission: str
    label: object  # a lazy translation shown in lists ("Publish a rule set")
    apply: Callable  # apply(reviewer, request, now) -> dict | None, inside the transaction


_KINDS: dict[str, ChangeKind] = {}


def register_change_kind(name, *, permission, label, apply):
    """Make ``name`` a kind of change request; called once by the owning domain's module."""
    authz.PERMISSIONS[permission]  # an unknown permission is a programming error: fail loudly
    existing = _KINDS.get(name)
    if existing is not None and existing.apply is not apply:
        raise ValueError(f"change kind {name!r} is already registered")
    _KINDS[name] = ChangeKind(name, permission, label, apply)
    return _KINDS[name]


def change_kind(name):
    try:
        return _KINDS[name]
    except KeyError:
        raise ValueError(f"unknown change kind {name!r}") from None


class SecondPersonRequired(PermissionDenied):
    code = "second_person_required"
    default_message = _l("You made this request: another person must review it.")


class RequestAlreadyDecided(Conflict):
    code = "change_request_decided"
    default_message = _l("This request was already decided; reload to see its outcome.")


class RequestAlreadyPending(Conflict):
    code = "change_request_pending"
    default_message = _l("A request for this change is already waiting for review.")


def _check_reason(reason, *, required):
    text = reason.strip() if isinstance(reason, str) else ""
    if required and not text:
        raise ValidationError(_l("Give a reason."), details={"field": "reason"})
    if len(text) > MAX_DECISION_REASON:
        raise ValidationError(
            _l("The reason can have at most %(n)s characters."), n=MAX_DECISION_REASON, details={"field": "reason"}
        )
    if any(ord(character) < 32 and character not in "\n\t" for character in text):
        raise ValidationError(_l("The reason contains characters that are not allowed."), details={"field": "reason"})
    return text or None


def _check_diff(diff):
    lines = list(diff or [])
    if len(lines) > MAX_DIFF_LINES:
        raise ValueError(f"a change request's diff is limited to {MAX_DIFF_LINES} lines")
    for line in lines:
        if not isinstance(line, dict) or "field" not in line:
            raise ValueError("each diff line is a dict with a 'field'")
    return lines


def _open_request_for(kind, target_type, target_id):
    return db.session.execute(
        select(ChangeRequest).where(
            ChangeRequest.kind == kind,
            ChangeRequest.target_type == target_type,
            ChangeRequest.target_id == target_id,
            ChangeRequest.status == "pending",
        )
    ).scalar_one_or_none()


def pending_request_for(kind, target_type, target_id):
    """The request of ``kind`` on that target still waiting for review, or None."""
    return _open_request_for(kind, target_type, str(target_id))


def _view(request):
    return {
        "kind": request.kind,
        "status": request.status,
        "target_type": request.target_type,
        "target_id": request.target_id,
        "author_id": request.author_id,
        "reviewer_id": request.reviewer_id,
        "reason": request.decision_reason,
    }


def request_change(
    actor, kind, organization, *, target_type, target_id=None, target_version=None, payload, diff, now=None
):
    """Store a change for a second person to review; returns the pending request.

    The actor must hold the kind's permission on ``organization``. One pending request
    per kind and target: a second one is refused while the first waits.
    """
    definition = change_kind(kind)
    authz.require(actor, definition.permission, organization)
    target_key = None if target_id is None else str(target_id)
    now = now or utcnow()
    with write_transaction():
        if _open_request_for(kind, target_type, target_key) is not None:
            raise RequestAlreadyPending()
        request = ChangeRequest(
            kind=kind,
            organization_id=organization.id,
            target_type=target_type,
            target_id=target_key,
            target_version=target_version,
            payload=payload,
            diff=_check_diff(diff),
            status="pending",
            author_id=actor.id,
            created_at=now,
        )
        try:
            with db.session.begin_nested():
                db.session.add(request)
        except IntegrityError:
            raise RequestAlreadyPending() from None
        record_audit(actor, "change.request", "change_request", request.id, organization.id, after=_view(request))
    return request


def _locked_pending(actor, request_id):
    request = lock_one(ChangeRequest, ChangeRequest.id == request_id)
    if request is None or not _may_see(actor, request):
        raise NotFound(_l("That request does not exist."))
    if request.status != "pending":
        raise RequestAlreadyDecided()
    return request


def _may_see(actor, request):
    definition = _KINDS.get(request.kind)
    return definition is not None and authz.can(actor, definition.permission, request.organization)


def approve_change(actor, request_id, now=None):
    """Apply a pending request as ``actor``, who is not its author; returns the request."""
    now = now or utcnow()
    with write_transaction():
        request = _locked_pending(actor, request_id)
        if request.author_id == actor.id:
            raise SecondPersonRequired()
        before = _view(request)
        result = change_kind(request.kind).apply(actor, request, now)
        request.status = "approved"
        request.reviewer_id = actor.id
        request.decided_at = now
        request.result = result or None
        record_audit(
            actor,
            "change.approve",
            "change_request",
            request.id,
            request.organization_id,
            before=before,
            after={**_view(request), "result": request.result},
        )
    return request


def reject_change(actor, request_id, reason, now=None):
    """Refuse a pending request with a reason the author will read; nothing is applied."""
    text = _check_reason(reason, required=True)
    now = now or utcnow()
    with write_transaction():
        request = _locked_pending(actor, request_id)
        if request.author_id == actor.id:
            raise SecondPersonRequired(_l("You made this request: withdraw it instead of rejecting it."))
        before = _view(request)
        request.status = "rejected"
        request.reviewer_id = actor.id
        request.decided_at = now
        request.decision_reason = text
        record_audit(
            actor,
            "change.reject",
            "change_request",
            request.id,
            request.organization_id,
            before=before,
            after=_view(request),
        )
    return request


def withdraw_change(actor, request_id, reason="", now=None):
    """The author takes back a request that nobody has decided yet."""
    text = _check_reason(reason, required=False)
    now = now or utcnow()
    with write_transaction():
        request = _locked_pending(actor, request_id)
        if request.author_id != actor.id:
            raise PermissionDenied(_l("Only the person who made a request can withdraw it."))
        before = _view(request)
        request.status = "withdrawn"
        request.decided_at = now
        request.decision_reason = text
        record_audit(
            actor,
            "change.withdraw",
            "change_request",
            request.id,
            request.organization_id,
            before=before,
            after=_view(request),
        )
    return request


def get_change_request(actor, request_id):
    request = db.session.get(ChangeRequest, request_id) if isinstance(request_id, int) else None
    if request is None or not _may_see(actor, request):
        raise NotFound(_l("That request does not exist."))
    return request


def _scoped(actor, statement, *, status, kinds, awaiting_review, mine=False):
    conditions = [
        (ChangeRequest.kind == name) & authz.scope_filter(actor, _KINDS[name].permission, Organization.path)
        for name in (kinds or _KINDS)
        if name in _KINDS
    ]
    statement = statement.join(Organization, Organization.id == ChangeRequest.organization_id).where(
        or_(false(), *conditions)
    )
    if status is not None:
        statement = statement.where(ChangeRequest.status == status)
    if awaiting_review:
        statement = statement.where(ChangeRequest.author_id != actor.id)
    if mine:
        statement = statement.where(ChangeRequest.author_id == actor.id)
    return statement


def list_change_requests(
    actor, *, status="pending", kinds=None, awaiting_review=False, mine=False, before_id=None, limit=50
):
    """Requests in the actor's scope, newest first (keyset by id).

    ``awaiting_review`` leaves out the actor's own requests: what is waiting for *them*;
    ``mine`` keeps only the requests the actor made.
    """
    statement = _scoped(
        actor, select(ChangeRequest), status=status, kinds=kinds, awaiting_review=awaiting_review, mine=mine
    )
    if before_id is not None:
        statement = statement.where(ChangeRequest.id < before_id)
    statement = statement.order_by(ChangeRequest.id.desc()).limit(max(1, min(int(limit), MAX_PAGE)))
    return db.session.execute(statement).scalars().all()


def count_awaiting_review(actor, kinds=None):
    """How many pending requests in the actor's scope someone else made."""
    statement = _scoped(
        actor, select(func.count(ChangeRequest.id)), status="pending", kinds=kinds, awaiting_review=True
    )
    return db.session.execute(statement).scalar_one()


def kind_label(kind):
    definition = _KINDS.get(kind)
    return definition.label if definition is not None else kind
