"""The approvals backlog of the administrator's desk: every pending record in the actor's
subtree, longest waiting first, filtered, paged by keyset, decided in bulk and exported.

A bulk decision goes through ``approval.decide_records`` (the one approval path) and is
all or nothing: when a row cannot be decided as asked (already decided, changed since
the page showed it, the actor's own, the rules cannot rate it) nothing is decided and
the refusal names the rows. "All on this filter" re-runs the filter on the server,
bounded by ``MAX_BULK`` records, oldest first, leaving out records that arrived after
the page was loaded and the actor's own records (four eyes; the service refuses them
anyway).

Filters are ids, codes and numbers, never personal data, so they may travel in URLs.
Volunteer names are masked; an unmasked export is the actor's explicit choice and is
audited.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from .. import authz
from ..accounts.models import User, VolunteerProfile
from ..accounts.service import mask_member_number, mask_name
from ..audit.service import record_audit
from ..database import write_transaction
from ..errors import ValidationError
from ..extensions import db
from ..organizations.models import Organization
from ..rules import service as rules
from ..timeutil import to_local, utcnow
from .approval import _check_reason, decide_records, may_approve, record_version
from .common import _id
from .models import RECORD_SOURCES, Activity, ImportBatch, ServiceRecord

PAGE_SIZE = 50
MAX_BULK = 2000
AGE_CHOICES = (1, 3, 7, 30)  # "waiting more than N days"
MAX_CATEGORY = 40
MAX_CHOICES = 100


def _bad(field_name, message, **params):
    return ValidationError(message, details={"field": field_name}, **params)


def _bad_filter(field_name, label):
    return _bad(field_name, _l("The %(label)s filter is not valid."), label=label)


@dataclass(frozen=True)
class BacklogFilter:
    """Which pending records: by activity, category, source, import and days waiting."""

    activity_id: int | None = None
    category: str | None = None
    source: str | None = None
    batch_id: int | None = None
    min_age_days: int | None = None

    @classmethod
    def parse(cls, values):
        """Read a filter from a query string or form; a value no page offers is refused by name."""

        def number(name, label):
            text = (values.get(name) or "").strip()
            if not text:
                return None
            number = _id(text)
            if number < 0:
                raise _bad_filter(name, label)
            return number

        category = (values.get("category") or "").strip() or None
        if category is not None and len(category) > MAX_CATEGORY:
            raise _bad_filter("category", _l("category"))
        source = (values.get("source") or "").strip() or None
        if source is not None and source not in RECORD_SOURCES:
            raise _bad_filter("source", _l("source"))
        age = number("age", _l("waiting time"))
        if age is not None and age not in AGE_CHOICES:
            raise _bad_filter("age", _l("waiting time"))
        return cls(
            activity_id=number("activity", _l("activity")),
            category=category,
            source=source,
            batch_id=number("batch", _l("import")),
            min_age_days=age,
        )

    def as_args(self):
        """The filter as query-string values (only those set)."""
        values = {
            "activity": self.activity_id,
            "category": self.category,
            "source": self.source,
            "batch": self.batch_id,
            "age": self.min_age_days,
        }
        return {name: value for name, value in values.items() if value is not None}


def _filtered(actor, filters, statement, now):
    statement = statement.join(Organization, Organization.id == ServiceRecord.organization_id).where(
        authz.scope_filter(actor, "record.approve", Organization.path)
    )
    if filters.activity_id is not None:
        statement = statement.where(ServiceRecord.activity_id == filters.activity_id)
    if filters.category is not None:
        statement = statement.where(ServiceRecord.category == filters.category)
    if filters.source is not None:
        statement = statement.where(ServiceRecord.source == filters.source)
    if filters.batch_id is not None:
        statement = statement.where(ServiceRecord.import_batch_id == filters.batch_id)
    if filters.min_age_days is not None:
        statement = statement.where(ServiceRecord.created_at <= now - timedelta(days=filters.min_age_days))
    return statement


def _own(actor):
    """Records the actor entered or performed: never theirs to approve."""
    performed = select(VolunteerProfile.id).where(VolunteerProfile.user_id == actor.id)
    return or_(ServiceRecord.entered_by_id == actor.id, ServiceRecord.volunteer_id.in_(performed))


# -- the page -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BacklogRow:
    record: ServiceRecord
    volunteer_name: str  # masked
    entered_by: str | None  # a staff member's name; None when the volunteer entered it
    waiting_days: int
    selectable: bool  # False: the actor entered or performed it (four eyes)
    version: str


@dataclass
class BacklogPage:
    rows: list = field(default_factory=list)
    total: int = 0
    own: int = 0  # how many of ``total`` the actor may not approve
    next_after: int | None = None
    as_of: datetime | None = None

    @property
    def selectable_total(self):
        return self.total - self.own


def _rows(actor, records, now):
    volunteer_user = aliased(User)
    enterer = aliased(User)
    names = {}
    if records:
        statement = (
            select(ServiceRecord.id, volunteer_user.name, volunteer_user.id, ServiceRecord.entered_by_id, enterer.name)
            .join(VolunteerProfile, VolunteerProfile.id == ServiceRecord.volunteer_id)
            .join(volunteer_user, volunteer_user.id == VolunteerProfile.user_id)
            .outerjoin(enterer, enterer.id == ServiceRecord.entered_by_id)
            .where(ServiceRecord.id.in_([record.id for record in records]))
        )
        names = {row[0]: row[1:] for row in db.session.execute(statement).all()}
    rows = []
    for record in records:
        volunteer_name, volunteer_user_id, entered_by_id, enterer_name = names[record.id]
        rows.append(
            BacklogRow(
                record=record,
                volunteer_name=mask_name(volunteer_name),
                entered_by=None if entered_by_id in (None, volunteer_user_id) else enterer_name,
                waiting_days=max(0, (now - record.created_at).days),
                selectable=may_approve(actor, record),
                version=record_version(record),
            )
        )
    return rows


def backlog_page(actor, filters, *, after=None, limit=PAGE_SIZE, now=None):
    """One page of the backlog, longest waiting first, after the record ``after`` (keyset)."""
    now = now or utcnow()
    limit = max(1, min(int(limit), PAGE_SIZE))
    pending = ServiceRecord.status == "pending"
    statement = _filtered(actor, filters, select(ServiceRecord).where(pending), now)
    anchor = db.session.get(ServiceRecord, _id(after)) if after else None
    if anchor is not None:
        statement = statement.where(
            or_(
                ServiceRecord.created_at > anchor.created_at,
                and_(ServiceRecord.created_at == anchor.created_at, ServiceRecord.id > anchor.id),
            )
        )
    records = (
        db.session.execute(statement.order_by(ServiceRecord.created_at, ServiceRecord.id).limit(limit + 1))
        .scalars()
        .all()
    )
    counts = _filtered(actor, filters, select(func.count(ServiceRecord.id)).where(pending), now)
    page = BacklogPage(
        rows=_rows(actor, records[:limit], now),
        total=db.session.execute(counts).scalar_one(),
        own=db.session.execute(counts.where(_own(actor))).scalar_one(),
        next_after=records[limit - 1].id if len(records) > limit else None,
        as_of=now,
    )
    return page


def filter_choices(actor):
    """What the filters offer: activities with pending records, recent imports, categories."""
    scope = authz.scope_filter(actor, "record.approve", Organization.path)
    activities = (
        db.session.execute(
            select(Activity)
            .join(Organization, Organization.id == Activity.organization_id)
            .where(
                scope,
                Activity.id.in_(select(ServiceRecord.activity_id).where(ServiceRecord.status == "pending")),
            )
            .order_by(Activity.starts_at.desc(), Activity.id.desc())
            .limit(MAX_CHOICES)
        )
        .scalars()
        .all()
    )
    batches = (
        db.session.execute(
            select(ImportBatch)
            .join(Organization, Organization.id == ImportBatch.organization_id)
            .where(scope)
            .order_by(ImportBatch.id.desc())
            .limit(MAX_CHOICES)
        )
        .scalars()
        .all()
    )
    return activities, batches


# -- deciding many at once ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkOutcome:
    decisions: object  # approval.Decisions
    truncated: bool  # "all on this filter" matched more than MAX_BULK


def parse_as_of(text, now=None):
    """When the page was loaded (as the page says it): records that arrived later are left out."""
    now = now or utcnow()
    try:
        moment = datetime.fromisoformat(text) if isinstance(text, str) and len(text) <= 40 else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is not None or moment > now + timedelta(minutes=5):
        raise _bad("as_of", _l("This page is out of date; reload it and try again."))
    return moment


def _all_on_filter(actor, filters, as_of, now):
    """The records "all on this filter" means: pending when the page was loaded, not the
    actor's own, oldest first, at most ``MAX_BULK`` (and whether there were more).

    Records decided since the page was loaded are included, so that the decision
    refuses them by name instead of leaving them out unseen."""
    statement = _filtered(
        actor,
        filters,
        select(ServiceRecord.id).where(
            or_(
                ServiceRecord.status == "pending",
                ServiceRecord.approved_at > as_of,
                ServiceRecord.rejected_at > as_of,
            ),
            ServiceRecord.created_at <= as_of,
            ~_own(actor),
        ),
        now,
    )
    ids = (
        db.session.execute(statement.order_by(ServiceRecord.created_at, ServiceRecord.id).limit(MAX_BULK + 1))
        .scalars()
        .all()
    )
    return ids[:MAX_BULK], len(ids) > MAX_BULK


def decide_backlog(
    actor,
    *,
    action,
    filters=None,
    all_on_filter=False,
    record_ids=(),
    versions=None,
    exclude=(),
    reject=None,
    reason="",
    as_of=None,
    now=None,
):
    """Approve (``action`` "approve") or reject ("reject", with ``reason``) many records at once.

    The records are ``record_ids`` (the rows ticked), or with ``all_on_filter`` those the
    filter matched when the page was loaded (``as_of``). Per-row exceptions: ``exclude``
    leaves a record pending; ``reject`` ({id: reason}) rejects it with its own reason.
    All or nothing: raises ``approval.BulkDecisionRefused`` naming the rows that cannot be
    decided, and then nothing is decided.
    """
    now = now or utcnow()
    if action not in ("approve", "reject"):
        raise _bad("action", _l("Choose approve or reject."))
    if all_on_filter:
        ids, truncated = _all_on_filter(actor, filters or BacklogFilter(), parse_as_of(as_of, now), now)
    else:
        ids, truncated = sorted({_id(i) for i in record_ids} - {-1}), False
        if len(ids) > MAX_BULK:
            raise _bad("record", _l("At most %(n)s records can be decided in one action."), n=MAX_BULK)
    if not ids:
        raise _bad("record", _l("Select at least one record, or all records on this filter."))
    chosen = set(ids)
    exclude = {i for i in map(_id, exclude or ()) if i in chosen}
    reject = {_id(i): text for i, text in (reject or {}).items() if _id(i) in chosen and _id(i) not in exclude}
    if action == "reject":
        reason = _check_reason(reason)
        reject = {i: reject.get(i) or reason for i in ids if i not in exclude}
    decisions = decide_records(
        actor,
        ids,
        exclude=exclude,
        reject=reject,
        versions={_id(i): v for i, v in (versions or {}).items() if _id(i) in chosen},
        all_or_nothing=True,
        now=now,
    )
    return BulkOutcome(decisions, truncated)


# -- export ---------------------------------------------------------------------------------------------

EXPORT_HEADER = (
    _l("Record"),
    _l("Waiting since"),
    _l("Days waiting"),
    _l("Volunteer"),
    _l("Member number"),
    _l("Organization"),
    _l("Activity"),
    _l("Category"),
    _l("Started"),
    _l("Ended"),
    _l("Minutes"),
    _l("Source"),
    _l("Entered by"),
)
SOURCE_WORDS = {
    "checkin": _l("Check-in"),
    "organizer": _l("Organizer entry"),
    "self_report": _l("Own report"),
    "import": _l("Import"),
}


def _local(moment, timezone):
    """Local wall time without a zone, as a spreadsheet shows it."""
    return to_local(moment, timezone).replace(tzinfo=None)


def export_backlog(actor, filters, *, unmasked=False, now=None):
    """The header and rows (a generator, streamed) of the filtered backlog.

    Names and member numbers are masked unless ``unmasked``, which the audit log records
    (who, which filter) before any row is read."""
    now = now or utcnow()
    if unmasked:
        with write_transaction():
            record_audit(actor, "records.export_unmasked", "service_record", after={"filter": filters.as_args()})
    volunteer_user = aliased(User)
    enterer = aliased(User)
    statement = _filtered(
        actor,
        filters,
        select(
            ServiceRecord,
            volunteer_user.id,
            volunteer_user.name,
            VolunteerProfile.member_no,
            enterer.name,
            Organization.name,
            Organization.timezone,
            Activity.title,
        )
        .join(VolunteerProfile, VolunteerProfile.id == ServiceRecord.volunteer_id)
        .join(volunteer_user, volunteer_user.id == VolunteerProfile.user_id)
        .outerjoin(enterer, enterer.id == ServiceRecord.entered_by_id)
        .outerjoin(Activity, Activity.id == ServiceRecord.activity_id)
        .where(ServiceRecord.status == "pending"),
        now,
    ).order_by(ServiceRecord.created_at, ServiceRecord.id)
    header = [str(label) for label in EXPORT_HEADER]
    volunteer_word = str(_l("the volunteer"))
    labels = rules.category_labels()

    def rows():
        result = db.session.execute(statement.execution_options(yield_per=500))
        for record, volunteer_user_id, name, member_no, enterer_name, organization, timezone, title in result:
            yield (
                record.id,
                _local(record.created_at, timezone),
                max(0, (now - record.created_at).days),
                name if unmasked else mask_name(name),
                member_no if unmasked else mask_member_number(member_no),
                organization,
                title or "",
                labels.get(record.category, record.category),
                _local(record.started_at, timezone),
                _local(record.ended_at, timezone),
                record.minutes,
                str(SOURCE_WORDS.get(record.source, record.source)),
                volunteer_word if record.entered_by_id in (None, volunteer_user_id) else enterer_name,
            )

    return header, rows()
