"""Perks: the catalog, eligibility, redemption at a counter, online vouchers, voids.

Invariants (DESIGN.md section 4):

* A redemption fully happens or leaves no trace: one unit of work debits the points
  (one ``redeem`` ledger entry, oldest lots first), takes the stock, issues the voucher
  and records the co-payment. Undoing it (a void, a voucher's expiry, a volunteer's
  cancellation) returns exactly those points to exactly those lots (``reverse_entry``)
  and the stock, exactly once: the redemption row is locked and its status decides.
* Every redeem and reserve carries an idempotency key. The same key with the same
  payload returns the first redemption; the same key with another payload is refused.
  Keys come from faces already derived from the client's request key
  (``idempotency_keys.client_key``): a raw key is refused, so no client can name a
  server key or another caller's key.
* Rows are locked in one fixed order, account, then perk, then redemption, so
  concurrent requests queue instead of deadlocking, and neither the last item in stock
  nor the last points of an account are ever sold twice. The database backs this up
  with ``stock >= 0`` and ``balance >= 0`` checks. A redemption locks the account (which
  also guards the volunteer's per-period limits) and writes the perk's row only when it
  has a counted stock: one conditional ``UPDATE ... SET stock = stock - n WHERE stock >= n``
  as the unit of work's last write before its commit, so a perk without stock is never a
  queue and a popular one is held only for each redemption's commit.

The star level of a volunteer comes from the rules domain, which this one does not
import: callers pass ``level_of(profile)`` returning an object with ``stars``.
"""

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import DateTime, String, and_, bindparam, case, cast, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from .. import authz
from ..accounts import member_codes
from ..accounts.models import MemberCredential, User, VolunteerProfile
from ..accounts.service import mask_name, volunteer_by_member_number
from ..audit.service import record_audit
from ..codes import classify_code, new_voucher_code, normalise_typed
from ..database import (
    last_in_transaction,
    lock_one,
    note_locked,
    note_stamps,
    prepared,
    stamp_columns,
    write_transaction,
)
from ..errors import Conflict, IdempotencyConflict, PermissionDenied, PointsError, ValidationError
from ..extensions import db
from ..i18n import N_, list_text
from ..idempotency_keys import require_client_key
from ..inputs import EARLIEST_TIME, LATEST_TIME
from ..ledger import service as ledger
from ..ledger.errors import AccountNotFound
from ..ledger.models import LedgerEntry, PointsAccount
from ..organizations.models import Organization
from ..organizations.settings import setting
from ..payments.errors import InvalidPaymentMethod
from ..reports import aggregates as reports
from ..timeutil import local_midnight_utc, to_local, to_utc, utcnow
from . import payments, pictures
from .errors import (
    InvalidCode,
    NotEligible,
    NotHonoredHere,
    PerkNotFound,
    RedemptionNotFound,
    VoidNotAllowed,
    VoucherNotUsable,
)
from .models import LIMIT_PERIODS, PERK_KINDS, Perk, PerkStockAdjustment, PerkVenue, Redemption

MAX_QUANTITY = 99
HELD = ("reserved", "fulfilled")
PERIOD_NAMES = {"day": _l("day"), "week": _l("week"), "month": _l("month"), "year": _l("year")}
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
_WRITING = "points_write_transaction"

# -- the catalog -------------------------------------------------------------------------

PERK_DEFAULTS = {
    "terms": "",
    "picture": None,
    "copay_amount": 0,
    "copay_currency": "CNY",
    "stock": None,
    "limit_quantity": None,
    "limit_period": None,
    "min_stars": 0,
    "valid_from": None,
    "valid_until": None,
    "active": True,
}
PERK_FIELDS = ("name", "kind", "points_cost", *PERK_DEFAULTS)


def _whole(value, minimum, maximum):
    return not isinstance(value, bool) and isinstance(value, int) and minimum <= value <= maximum


def _invalid(message, field_name, **params):
    return ValidationError(message, details={"field": field_name}, **params)


def _validated(values):
    """Check a complete set of perk fields; return them cleaned."""
    unknown = set(values) - set(PERK_FIELDS)
    if unknown:
        raise TypeError(f"unknown perk fields: {sorted(unknown)}")
    clean = dict(values)
    name = values["name"].strip() if isinstance(values["name"], str) else ""
    if not 1 <= len(name) <= 120:
        raise _invalid(_l("A perk needs a name of 1 to 120 characters."), "name")
    clean["name"] = name
    if values["kind"] not in PERK_KINDS:
        raise _invalid(_l("Unknown kind of perk: use parking_discount, priority_service, goods or other."), "kind")
    if not _whole(values["points_cost"], 1, ledger.MAX_POINTS_PER_ENTRY // MAX_QUANTITY):
        raise _invalid(
            _l("The points cost must be a whole number from 1 to %(maximum)s."),
            "points_cost",
            maximum=ledger.MAX_POINTS_PER_ENTRY // MAX_QUANTITY,
        )
    if not _whole(values["copay_amount"], 0, 10**9):
        raise _invalid(_l("The co-payment must be a whole number of minor units (fen), 0 or more."), "copay_amount")
    if not isinstance(values["copay_currency"], str) or not _CURRENCY_RE.match(values["copay_currency"]):
        raise _invalid(_l("The currency must be a three-letter code such as CNY."), "copay_currency")
    if values["stock"] is not None and not _whole(values["stock"], 0, 10**9):
        raise _invalid(_l("The stock must be empty (unlimited) or a whole number, 0 or more."), "stock")
    quantity, period = values["limit_quantity"], values["limit_period"]
    if (quantity is None) != (period is None) or (
        quantity is not None and (not _whole(quantity, 1, 10**6) or period not in LIMIT_PERIODS)
    ):
        raise _invalid(
            _l("A limit needs both a whole number of 1 or more and a period: day, week, month or year."),
            "limit_quantity",
        )
    if not _whole(values["min_stars"], 0, 10):
        raise _invalid(_l("The minimum star level must be a whole number from 0 to 10."), "min_stars")
    for name_of_field in ("valid_from", "valid_until"):
        moment = values[name_of_field]
        if moment is not None and (not isinstance(moment, datetime) or moment.tzinfo is not None):
            raise _invalid(_l("Validity dates must be UTC date-times."), name_of_field)
    if values["valid_from"] and values["valid_until"] and values["valid_until"] <= values["valid_from"]:
        raise _invalid(_l("The end of the validity window must come after its start."), "valid_until")
    picture = values["picture"] or None
    if picture is not None and (not isinstance(picture, str) or not pictures.STORED_NAME.match(picture)):
        raise _invalid(_l("A picture must be one stored by uploading it."), "picture")
    clean["picture"] = picture
    terms = values["terms"] or ""
    if not isinstance(terms, str) or len(terms) > 4000:
        raise _invalid(_l("The terms can have at most 4000 characters."), "terms")
    clean["terms"] = terms.strip()
    if not isinstance(values["active"], bool):
        raise _invalid(_l("Active must be yes or no."), "active")
    return clean


def _checked_venues(actor, venues):
    nodes = {node.id: node for node in venues or [] if node is not None}
    if not nodes:
        raise _invalid(_l("Choose at least one place where the perk is honored."), "venues")
    for node in nodes.values():
        if actor is not None:
            authz.require(actor, "perk.manage", node)
    return sorted(nodes.values(), key=lambda node: node.id)


def _audit_view(perk, venue_ids):
    view = {name: getattr(perk, name) for name in PERK_FIELDS}
    for name in ("valid_from", "valid_until"):
        view[name] = view[name].isoformat() if view[name] else None
    view["venues"] = list(venue_ids)
    return view


def create_perk(actor, *, organization, venues, name, kind, points_cost, now=None, **options):
    """Add a perk owned by ``organization`` and honored at ``venues`` (nodes; each covers its subtree).

    ``options`` are the other fields of ``PERK_DEFAULTS``. ``actor`` None is the system
    (demo data, command line); a person needs ``perk.manage`` on the owner and every venue.
    """
    if organization is None:
        raise _invalid(_l("Choose the organization that offers the perk."), "organization")
    if actor is not None:
        authz.require(actor, "perk.manage", organization)
    values = _validated({**PERK_DEFAULTS, **options, "name": name, "kind": kind, "points_cost": points_cost})
    nodes = _checked_venues(actor, venues)
    now = now or utcnow()
    with write_transaction() as session:
        perk = Perk(organization_id=organization.id, created_at=now, updated_at=now, **values)
        session.add(perk)
        session.flush()
        for node in nodes:
            session.add(PerkVenue(perk_id=perk.id, organization_id=node.id))
        session.flush()
        record_audit(
            actor,
            "perk.create",
            "perk",
            perk.id,
            organization_id=organization.id,
            after=_audit_view(perk, [node.id for node in nodes]),
        )
    db.session.refresh(perk)
    return perk


def update_perk(actor, perk_id, *, venues=None, expected_version=None, now=None, **changes):
    """Change fields of a perk (and, given ``venues``, where it is honored); audited.

    Setting ``stock`` sets the count on the shelf now, under the perk's row lock. With
    ``expected_version`` (the version an edit form was opened at), a perk changed since
    is refused whole (``Conflict``). Each change raises the perk's ``version``.
    """
    now = now or utcnow()
    with write_transaction():
        perk = _lock_perk(perk_id)
        _require_manager(actor, perk)
        if expected_version is not None and expected_version != perk.version:
            raise Conflict(
                _l(
                    "This perk was changed since you opened it (by someone else or in another tab): nothing was saved. "
                    "Reload it and make your change again."
                ),
                details={"field": "version"},
            )
        before = _audit_view(perk, [venue.organization_id for venue in perk.venues])
        values = _validated({**{name: getattr(perk, name) for name in PERK_FIELDS}, **changes})
        for name, value in values.items():
            setattr(perk, name, value)
        if venues is not None:
            nodes = _checked_venues(actor, venues)
            wanted = {node.id for node in nodes}
            for venue in list(perk.venues):
                if venue.organization_id not in wanted:
                    perk.venues.remove(venue)
            present = {venue.organization_id for venue in perk.venues}
            for node_id in sorted(wanted - present):
                perk.venues.append(PerkVenue(organization_id=node_id))
        perk.updated_at = now
        perk.version += 1
        db.session.flush()
        after = _audit_view(perk, sorted(venue.organization_id for venue in perk.venues))
        record_audit(
            actor,
            "perk.update",
            "perk",
            perk.id,
            organization_id=perk.organization_id,
            before={key: value for key, value in before.items() if after[key] != value},
            after={key: value for key, value in after.items() if before[key] != value},
        )
    db.session.refresh(perk)
    return perk


def list_perks(organization=None, active=None):
    """Perks owned inside ``organization``'s subtree (all when None), cheapest first."""
    statement = select(Perk).order_by(Perk.points_cost, Perk.id)
    if organization is not None:
        statement = statement.where(Perk.organization_id.in_(_subtree_ids(organization)))
    if active is not None:
        statement = statement.where(Perk.active.is_(active))
    return db.session.execute(statement).scalars().all()


def _require_manager(actor, perk):
    """A person who may not manage the perk does not learn that it exists (404)."""
    if actor is not None and not authz.can(actor, "perk.manage", perk.organization):
        raise PerkNotFound()


# -- the administrator's desk: perks in the admin's subtree, stock, pictures ------------------

MAX_STOCK = 10**9
MAX_STOCK_CHANGE = 10**6
_YUAN_RE = re.compile(r"^(\d{1,7})(?:\.(\d{1,2}))?\Z")


def parse_copay(text):
    """A co-payment typed in yuan (``5``, ``1.5``, ``¥0.05``) as integer minor units (fen).

    Decimal digits only, never a float: ``1.5`` is 150, and more than two decimals, a
    negative amount or one above 9,999,999.99 is refused (field ``copay_amount``). Empty is 0.
    """
    typed = normalise_typed(text or "").removeprefix("¥").strip()
    if not typed:
        return 0
    match = _YUAN_RE.match(typed)
    if match is None:
        raise _invalid(
            _l("Enter the co-payment in yuan, from 0 to 9999999.99, with at most two decimals (such as 5 or 1.50)."),
            "copay_amount",
        )
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))


def format_copay(amount):
    """Minor units as the amount typed in a form: 150 -> ``1.50``."""
    return f"{amount // 100}.{amount % 100:02d}"


def _day(value, field_name):
    if value is None or value == "":
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    else:
        try:
            day = date.fromisoformat(normalise_typed(str(value)))
        except ValueError:
            raise _invalid(_l("Enter a date as YYYY-MM-DD."), field_name) from None
    if not EARLIEST_TIME.date() <= day < LATEST_TIME.date() - timedelta(days=1):
        raise _invalid(
            _l("Enter a date from %(first)s to %(last)s."),
            field_name,
            first=EARLIEST_TIME.date().isoformat(),
            last=(LATEST_TIME.date() - timedelta(days=2)).isoformat(),
        )
    return day


def validity_window(organization, first_day, last_day):
    """(``valid_from``, ``valid_until``) in UTC for local days ``first_day`` to ``last_day``, both included.

    Each day is a date, ``YYYY-MM-DD`` text or empty (no bound); the perk's organization's
    time zone says when a day starts.
    """
    first, last = _day(first_day, "valid_from"), _day(last_day, "valid_until")
    if first and last and last < first:
        raise _invalid(_l("The end of the validity window must come after its start."), "valid_until")
    timezone = organization.timezone
    return (
        local_midnight_utc(first, timezone) if first else None,
        local_midnight_utc(last + timedelta(days=1), timezone) if last else None,
    )


def validity_days(perk):
    """The perk's validity window as local days (first, last), both included; None for no bound."""
    timezone = perk.organization.timezone
    first = to_local(perk.valid_from, timezone).date() if perk.valid_from else None
    last = (to_local(perk.valid_until, timezone) - timedelta(microseconds=1)).date() if perk.valid_until else None
    return first, last


def managed_perks(actor, active=None):
    """The perks owned inside the subtrees where ``actor`` manages perks, by organization and name."""
    statement = (
        select(Perk)
        .join(Organization, Organization.id == Perk.organization_id)
        .where(authz.scope_filter(actor, "perk.manage", Organization.path))
        .order_by(Perk.active.desc(), Organization.path, Perk.name, Perk.id)
    )
    if active is not None:
        statement = statement.where(Perk.active.is_(active))
    return db.session.execute(statement).scalars().all()


def managed_perk(actor, perk_id):
    """One perk ``actor`` manages; ``PerkNotFound`` for any other (it does not exist for them)."""
    perk = db.session.get(Perk, perk_id) if _whole(perk_id, 1, 2**62) else None
    if perk is None:
        raise PerkNotFound()
    _require_manager(actor, perk)
    return perk


def _stock_reason(reason):
    text = reason.strip() if isinstance(reason, str) else ""
    if not 1 <= len(text) <= 255 or any(ord(character) < 32 for character in text):
        raise _invalid(
            _l("Give a reason of 1 to 255 characters on one line (a delivery, a count, breakage)."), "reason"
        )
    return text


def _record_stock(actor, perk, stock, reason, now):
    before = perk.stock
    perk.stock = stock
    db.session.add(
        PerkStockAdjustment(
            perk_id=perk.id,
            stock_before=before,
            stock_after=stock,
            reason=reason,
            actor_id=getattr(actor, "id", None),
            created_at=now,
        )
    )
    db.session.flush()
    record_audit(
        actor,
        "perk.stock",
        "perk",
        perk.id,
        organization_id=perk.organization_id,
        before={"stock": before},
        after={"stock": stock, "reason": reason},
    )


def adjust_perk_stock(actor, perk_id, change, reason, *, now=None):
    """Add items to the shelf (``change`` > 0) or take them off (< 0), with the reason; audited.

    Under the perk's row lock, so a redemption at the same moment is never lost; the
    stock never goes below 0. A perk with unlimited stock has no count to change.
    """
    if not _whole(change, -MAX_STOCK_CHANGE, MAX_STOCK_CHANGE) or change == 0:
        raise _invalid(
            _l(
                "Enter how many items to add (such as 20) or take off (such as -3): a whole number, not 0, "
                "up to %(maximum)s either way."
            ),
            "change",
            maximum=MAX_STOCK_CHANGE,
        )
    text = _stock_reason(reason)
    now = now or utcnow()
    with write_transaction():
        perk = _lock_perk(perk_id)
        _require_manager(actor, perk)
        if perk.stock is None:
            raise _invalid(_l("This perk's stock is unlimited: set a count first."), "change")
        if perk.stock + change < 0:
            raise _invalid(
                _l("Only %(stock)s in stock: you cannot take off %(count)s."),
                "change",
                stock=perk.stock,
                count=-change,
            )
        if perk.stock + change > MAX_STOCK:
            raise _invalid(_l("The stock can be at most %(maximum)s."), "change", maximum=MAX_STOCK)
        _record_stock(actor, perk, perk.stock + change, text, now)
    return perk


def set_perk_stock(actor, perk_id, count, reason, *, now=None):
    """Set the count on the shelf (after counting it), or None for unlimited; with the reason, audited."""
    if count is not None and not _whole(count, 0, MAX_STOCK):
        raise _invalid(
            _l("The stock must be empty (unlimited) or a whole number from 0 to %(maximum)s."),
            "count",
            maximum=MAX_STOCK,
        )
    text = _stock_reason(reason)
    now = now or utcnow()
    with write_transaction():
        perk = _lock_perk(perk_id)
        _require_manager(actor, perk)
        if perk.stock != count:
            _record_stock(actor, perk, count, text, now)
    return perk


def stock_adjustments(actor, perk_id, limit=50):
    """The perk's stock adjustments, newest first."""
    perk = managed_perk(actor, perk_id)
    return (
        db.session.execute(
            select(PerkStockAdjustment)
            .where(PerkStockAdjustment.perk_id == perk.id)
            .order_by(PerkStockAdjustment.id.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )


def set_perk_picture(actor, perk_id, data, *, now=None):
    """Give a perk the uploaded picture ``data`` (bytes), checked and re-encoded; None removes it. Audited.

    A refused file (``pictures.PictureRefused``, ``PictureTooLarge``) leaves nothing stored.
    """
    managed_perk(actor, perk_id)
    name = None
    if data is not None:
        stored, name = pictures.prepare_picture(data)
        pictures.store_picture(stored, name)
    now = now or utcnow()
    with write_transaction():
        perk = _lock_perk(perk_id)
        _require_manager(actor, perk)
        before = perk.picture
        perk.picture = name
        perk.updated_at = now
        record_audit(
            actor,
            "perk.picture",
            "perk",
            perk.id,
            organization_id=perk.organization_id,
            before={"picture": before},
            after={"picture": name},
        )
    return perk


def _subtree_ids(organization):
    return select(Organization.id).where(Organization.path.startswith(organization.path))


def _lock_perk(perk_id):
    perk = lock_one(Perk, Perk.id == perk_id) if _whole(perk_id, 1, 2**62) else None
    if perk is None:
        raise PerkNotFound()
    return perk


# -- eligibility ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """Why a perk cannot be redeemed now: a stable ``code`` and a message for people."""

    code: str
    template: object
    params: dict = field(default_factory=dict)

    @property
    def message(self):
        params = {key: str(value) if isinstance(value, LazyString) else value for key, value in self.params.items()}
        return str(self.template) % params if params else str(self.template)

    def __str__(self):
        return self.message


@dataclass
class PerkOption:
    """A perk as one volunteer sees it now: eligible, or the reasons it is not."""

    perk: Perk
    reasons: list
    used: int = 0

    @property
    def eligible(self):
        return not self.reasons


def _period_start(period, now, timezone):
    local = to_local(now, timezone).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        local -= timedelta(days=local.weekday())
    elif period == "month":
        local = local.replace(day=1)
    elif period == "year":
        local = local.replace(month=1, day=1)
    return to_utc(local, timezone)


def _used_in_period(volunteer_id, perks, now):
    """Quantity a volunteer redeemed (and did not get back) of each limited perk in its current period."""
    starts = {
        perk.id: _period_start(perk.limit_period, now, perk.organization.timezone)
        for perk in perks
        if perk.limit_period
    }
    if not starts:
        return {}
    rows = db.session.execute(
        select(Redemption.perk_id, Redemption.quantity, Redemption.created_at).where(
            Redemption.volunteer_id == volunteer_id,
            Redemption.perk_id.in_(list(starts)),
            Redemption.status.in_(HELD),
            Redemption.created_at >= min(starts.values()),
        )
    ).all()
    used = defaultdict(int)
    for perk_id, quantity, created_at in rows:
        if created_at >= starts[perk_id]:
            used[perk_id] += quantity
    return used


def _local_date(moment, organization):
    return to_local(moment, organization.timezone).strftime("%Y-%m-%d")


def _reasons(perk, *, profile, stars, balance, used, quantity, now, channel):
    reasons = []
    if not perk.active:
        reasons.append(Reason("inactive", _l("This perk is not offered any more.")))
    if not perk.organization.contains(profile.home_organization):
        reasons.append(
            Reason(
                "not_for_volunteer",
                _l("Only for volunteers of %(organization)s."),
                {"organization": perk.organization.name},
            )
        )
    if perk.valid_from is not None and now < perk.valid_from:
        reasons.append(
            Reason(
                "not_valid_now",
                _l("Available from %(date)s."),
                {"date": _local_date(perk.valid_from, perk.organization)},
            )
        )
    if perk.valid_until is not None and now >= perk.valid_until:
        reasons.append(
            Reason(
                "not_valid_now",
                _l("No longer available since %(date)s."),
                {"date": _local_date(perk.valid_until, perk.organization)},
            )
        )
    if stars < perk.min_stars:
        reasons.append(
            Reason(
                "level_too_low",
                _l("Level too low: needs %(needed)s stars, has %(stars)s."),
                {"needed": perk.min_stars, "stars": stars},
            )
        )
    if perk.stock is not None and perk.stock < quantity:
        if perk.stock == 0:
            reasons.append(Reason("out_of_stock", _l("Out of stock.")))
        else:
            reasons.append(Reason("out_of_stock", _l("Only %(stock)s left."), {"stock": perk.stock}))
    if perk.limit_quantity is not None and used + quantity > perk.limit_quantity:
        reasons.append(
            Reason(
                "limit_reached",
                _l("Limit reached: %(limit)s per %(period)s."),
                {"limit": perk.limit_quantity, "period": PERIOD_NAMES[perk.limit_period]},
            )
        )
    needed = perk.points_cost * quantity
    if balance < needed:
        reasons.append(
            Reason(
                "not_enough_points",
                _l("Not enough points: %(needed)s needed, %(available)s available."),
                {"needed": needed, "available": balance},
            )
        )
    if channel == "online" and perk.copay_amount and not payments.online_payment_available():
        reasons.append(
            Reason(
                "copay_at_counter",
                _l(
                    "Cash at the counter only: this perk has a co-payment and card payment is not set up here. "
                    "Redeem it at a service counter."
                ),
            )
        )
    return reasons


def _spendable_balance(account, now):
    """The balance without the points whose lots are due to expire now."""
    return account.balance - db.session.execute(select(ledger.due_points(account.id, now))).scalar_one()


def _options(perks, profile, stars, balance, now, channel, used=None):
    """Each perk with its reasons, eligible ones first. ``used``: the quantity of each
    limited perk the volunteer already had in its period, when the caller read it."""
    if used is None:
        used = _used_in_period(profile.id, perks, now)
    options = [
        PerkOption(
            perk=perk,
            used=used.get(perk.id, 0),
            reasons=_reasons(
                perk,
                profile=profile,
                stars=stars,
                balance=balance,
                used=used.get(perk.id, 0),
                quantity=1,
                now=now,
                channel=channel,
            ),
        )
        for perk in perks
    ]
    options.sort(key=lambda option: (not option.eligible, option.perk.points_cost, option.perk.id))
    return options


@dataclass(frozen=True)
class PerkPlace:
    """The organization that offers a perk, as the counter's lookup reads it."""

    id: int
    name: str
    path: str
    timezone: str

    contains = Organization.contains


@dataclass(frozen=True, slots=True)
class CounterPerk:
    """A perk honored at a counter, read as a plain row (no ORM entity): the fields the
    API and the counter page show, and what eligibility needs."""

    id: int
    organization_id: int
    kind: str
    name: str
    terms: str
    picture: str | None
    points_cost: int
    copay_amount: int
    copay_currency: str
    stock: int | None
    limit_quantity: int | None
    limit_period: str | None
    min_stars: int
    valid_from: datetime | None
    valid_until: datetime | None
    active: bool
    venue_ids: tuple
    organization: PerkPlace


_COUNTER_PERK_COLUMNS = (
    Perk.id,
    Perk.organization_id,
    Perk.kind,
    Perk.name,
    Perk.terms,
    Perk.picture,
    Perk.points_cost,
    Perk.copay_amount,
    Perk.copay_currency,
    Perk.stock,
    Perk.limit_quantity,
    Perk.limit_period,
    Perk.min_stars,
    Perk.valid_from,
    Perk.valid_until,
    Perk.active,
)
_PERKS_HONORED_AT = {}


def _perks_honored_at_statement():
    period_start = case(
        *((Perk.limit_period == period, bindparam(f"{period}_start", type_=DateTime())) for period in LIMIT_PERIODS)
    )
    used = (
        select(func.coalesce(func.sum(Redemption.quantity), 0))
        .where(
            Redemption.volunteer_id == bindparam("volunteer_id"),
            Redemption.perk_id == Perk.id,
            Redemption.status.in_(HELD),
            Redemption.created_at >= period_start,
        )
        .scalar_subquery()
    )
    venue_ids = (
        select(func.aggregate_strings(cast(PerkVenue.organization_id, String), ","))
        .where(PerkVenue.perk_id == Perk.id)
        .scalar_subquery()
    )
    honored = select(PerkVenue.perk_id).where(PerkVenue.organization_id.in_(bindparam("places", expanding=True)))
    return (
        select(
            *_COUNTER_PERK_COLUMNS,
            Organization.name,
            Organization.path,
            Organization.timezone,
            venue_ids,
            # Counted here when the perk's periods run in the counter's time zone (the
            # period starts are bound for that zone), else NULL and counted apart.
            case((and_(Perk.limit_period.is_not(None), Organization.timezone == bindparam("timezone")), used)),
        )
        .join(Organization, Organization.id == Perk.organization_id)
        .where(Perk.active.is_(True), Perk.id.in_(honored))
    )


def _honored_at(counter_org, volunteer_id, now):
    """The active perks honored at ``counter_org`` (``CounterPerk``), and the quantity of
    each limited one the volunteer had in its current period: one query built once, rows
    not entities (a perk whose organization keeps another time zone than the counter's
    has its quantity counted by ``_used_in_period``)."""
    timezone = counter_org.timezone
    parameters = {f"{period}_start": _period_start(period, now, timezone) for period in LIMIT_PERIODS}
    parameters.update(places=counter_org.ancestor_ids, volunteer_id=volunteer_id, timezone=timezone)
    rows = db.session.execute(prepared(_PERKS_HONORED_AT, _perks_honored_at_statement), parameters).all()
    places = {}
    perks, used, elsewhere = [], {}, []
    for row in rows:
        *values, name, path, place_timezone, venue_ids, used_here = row
        place = places.get(row.organization_id)
        if place is None:
            place = places[row.organization_id] = PerkPlace(row.organization_id, name, path, place_timezone)
        perk = CounterPerk(*values, tuple(sorted(int(venue) for venue in venue_ids.split(","))), place)
        perks.append(perk)
        if used_here is not None:
            used[perk.id] = int(used_here)
        elif perk.limit_period is not None:
            elsewhere.append(perk)
    if elsewhere:
        used.update(_used_in_period(volunteer_id, elsewhere, now))
    return perks, used


def eligible_perks(profile, stars, counter_org, now=None, balance=None):
    """The active perks honored at ``counter_org`` (as ``CounterPerk``), eligible ones
    first, each with its reasons.

    ``balance``: the spendable balance when the caller has it (else it is read)."""
    now = now or utcnow()
    if balance is None:
        balance = _spendable_balance(ledger.account_of_volunteer(profile.id), now)
    perks, used = _honored_at(counter_org, profile.id, now)
    return _options(perks, profile, int(stars), balance, now, "counter", used)


@dataclass
class Catalog:
    """The perks offered to one volunteer now, with their spendable balance and level."""

    balance: int
    level: object
    options: list

    @property
    def option(self):
        return self.options[0]


def volunteer_catalog(volunteer_user, *, level_of, perk_id=None, now=None):
    """The active perks offered to the volunteer's home organization, for online reservation.

    With ``perk_id``, only that perk (``PerkNotFound`` when it is not offered to them).
    """
    profile = _profile_of(volunteer_user)
    now = now or utcnow()
    statement = select(Perk).where(
        Perk.active.is_(True), Perk.organization_id.in_(profile.home_organization.ancestor_ids)
    )
    if perk_id is not None:
        statement = statement.where(Perk.id == perk_id)
    perks = db.session.execute(statement).scalars().all()
    if perk_id is not None and not perks:
        raise PerkNotFound()
    balance = _spendable_balance(ledger.account_of_volunteer(profile.id), now)
    level = level_of(profile)
    return Catalog(
        balance=balance, level=level, options=_options(perks, profile, int(level.stars), balance, now, "online")
    )


def _profile_of(volunteer_user):
    profile = getattr(volunteer_user, "volunteer", None)
    if profile is None:
        raise PermissionDenied(_l("Only volunteers can reserve perks."))
    return profile


# -- the counter -------------------------------------------------------------------------


@dataclass
class MemberView:
    """What the counter shows after a member code is scanned."""

    profile: object
    masked_name: str
    balance: int
    level: object
    options: list
    # The rotating code that came with the scan of the phone's QR, for the confirm form.
    scanned_code: str | None = None
    counter_org: object = None
    now: datetime | None = None

    @property
    def member_no(self):
        return self.profile.member_no

    @property
    def eligible(self):
        return [option for option in self.options if option.eligible]

    @property
    def ineligible(self):
        return [option for option in self.options if not option.eligible]

    @cached_property
    def open_vouchers(self):
        """The member's vouchers this counter can hand over, read when first asked for
        (the counter page shows them; the API's answer has no place for them)."""
        return open_vouchers_at(self.profile, self.counter_org, self.now)


@dataclass
class VoucherView:
    """What the counter shows after a voucher code is scanned: one confirm fulfils it."""

    redemption: Redemption
    masked_name: str

    @property
    def code(self):
        return self.redemption.voucher_code


def counter_locations(user):
    """The organization nodes where ``user`` may work a counter (their counter role's nodes)."""
    nodes = {m.organization.id: m.organization for m in authz.memberships_for(user, "counter.redeem")}
    return [nodes[node_id] for node_id in sorted(nodes)]


def _scanned(code, wanted=None):
    kind, normalised = classify_code(code)
    if not normalised:
        raise InvalidCode(_l("Scan or type a member code or a voucher code."))
    if kind is None:
        if normalised.startswith("V"):
            raise InvalidCode(_l("That voucher code is not valid: scan it again or check each character."))
        raise InvalidCode(_l("That is not a valid member number: check the 12 digits (the last one is a check digit)."))
    if wanted is not None and kind != wanted:
        if wanted == "member":
            raise InvalidCode(_l("Scan the volunteer's member code here, not a voucher."))
        raise InvalidCode(_l("Scan the voucher code here, not a member code."))
    return kind, normalised


def counter_lookup(actor, counter_org, code, *, level_of, now=None):
    """A scanned code at a counter: a ``MemberView`` or a usable ``VoucherView``.

    Bad codes, unknown members and unusable vouchers raise a ``PointsError`` with a
    message for the counter; nothing changes, except that a voucher found past its time
    is expired on the spot (its points and stock go back).
    """
    authz.require(actor, "counter.redeem", counter_org)
    now = now or utcnow()
    code, scanned_code = member_codes.split_scan(code)
    kind, normalised = _scanned(code)
    if kind == "member":
        profile, balance = _member_and_balance(normalised, now)
        level = level_of(profile)
        return MemberView(
            profile=profile,
            masked_name=mask_name(profile.user.name),
            balance=balance,
            level=level,
            options=eligible_perks(profile, level.stars, counter_org, now, balance),
            scanned_code=scanned_code,
            counter_org=counter_org,
            now=now,
        )
    redemption = _usable_voucher(normalised, counter_org, now)
    return VoucherView(redemption=redemption, masked_name=mask_name(redemption.volunteer.user.name))


_MEMBER_AND_BALANCE = {}


def _member_and_balance_statement():
    return (
        select(
            VolunteerProfile,
            PointsAccount.balance - ledger.due_points(PointsAccount.id, bindparam("now")),
            *stamp_columns(),
        )
        .join(PointsAccount, PointsAccount.volunteer_id == VolunteerProfile.id)
        .join(User, User.id == VolunteerProfile.user_id)
        .where(
            VolunteerProfile.member_no == bindparam("code"),
            VolunteerProfile.merged_into_id.is_(None),
            User.deleted_at.is_(None),
        )
        .options(joinedload(VolunteerProfile.user).lazyload(User.memberships))
    )


def _member_and_balance(code, now):
    """The member's profile (with user and home organization) and spendable balance, in one
    query that also reads the caches' stamps (``database.stamp_columns``); a merged number
    or a deleted account take the longer way, which says what is wrong."""
    statement = prepared(_MEMBER_AND_BALANCE, _member_and_balance_statement)
    found = db.session.execute(statement, {"code": code, "now": now}).first()
    if found is not None:
        note_stamps(found)
        return found[0], int(found[1])
    profile = volunteer_by_member_number(code)
    return profile, _spendable_balance(ledger.account_of_volunteer(profile.id), now)


def open_vouchers_at(profile, counter_org, now):
    """The member's reserved, unexpired vouchers that this counter can hand over, soonest to expire first."""
    reserved = db.session.execute(
        select(Redemption)
        .where(
            Redemption.volunteer_id == profile.id,
            Redemption.status == "reserved",
            Redemption.payment_status != "pending",
            Redemption.voucher_expires_at > now,
        )
        .options(selectinload(Redemption.perk).selectinload(Perk.venues).selectinload(PerkVenue.organization))
        .order_by(Redemption.voucher_expires_at, Redemption.id)
    ).scalars()
    return [redemption for redemption in reserved if redemption.perk.is_honored_at(counter_org)]


def _voucher(code):
    redemption = db.session.execute(select(Redemption).where(Redemption.voucher_code == code)).scalar_one_or_none()
    if redemption is None:
        raise InvalidCode(_l("No voucher has that code; nothing was changed."))
    return redemption


def _usable_voucher(code, counter_org, now):
    redemption = _voucher(code)
    if not redemption.perk.is_honored_at(counter_org):
        raise NotHonoredHere(
            _l("This voucher is for %(perk)s, which is not honored at this counter; nothing was changed."),
            perk=redemption.perk.name,
        )
    if redemption.status == "reserved" and redemption.voucher_expires_at <= now:
        _expire_one(redemption.id, now)
        db.session.refresh(redemption)
    _refuse_unusable(redemption)
    return redemption


def _refuse_unusable(redemption):
    place = redemption.perk.organization
    if redemption.status == "reserved" and redemption.payment_status == "pending":
        raise VoucherNotUsable(_l("This voucher's card payment is not complete yet; it cannot be used."))
    if redemption.status == "fulfilled":
        raise VoucherNotUsable(
            _l("This voucher was already used on %(date)s."), date=_local_date(redemption.fulfilled_at, place)
        )
    if redemption.status == "expired":
        raise VoucherNotUsable(
            _l("This voucher expired on %(date)s; its points were returned to the volunteer."),
            date=_local_date(redemption.voucher_expires_at, place),
        )
    if redemption.status == "voided":
        raise VoucherNotUsable(_l("This voucher was cancelled; its points were returned to the volunteer."))


def _check_quantity(quantity):
    if not _whole(quantity, 1, MAX_QUANTITY):
        raise _invalid(
            _l("The quantity must be a whole number from 1 to %(maximum)s."), "quantity", maximum=MAX_QUANTITY
        )
    return quantity


def _fingerprint(*parts):
    return hashlib.sha256("|".join(str(part) for part in parts).encode()).hexdigest()


_KEY_REUSED = _l("This request key was already used for a different redemption; nothing was changed. Start again.")


def _replayed(key, fingerprint):
    redemption = db.session.execute(select(Redemption).where(Redemption.idempotency_key == key)).scalar_one_or_none()
    if redemption is None:
        return None
    if redemption.fingerprint != fingerprint:
        raise IdempotencyConflict(_KEY_REUSED)
    return redemption


def _once(replayed, operation, *, look_first=True):
    """Run a keyed write; a race on its key becomes a replay (``replayed()``) or a refusal, never a second write.

    ``look_first`` False: the operation itself looks for a replay where it is refused,
    and the key's unique index refuses its second write, so nothing is read before it."""
    if look_first and not db.session.info.get(_WRITING):  # inside a unit of work, the check under the lock replays
        replay = replayed()
        if replay is not None:
            return replay
    try:
        return operation()
    except IntegrityError:
        if db.session.info.get(_WRITING):
            raise
        db.session.rollback()
        replay = replayed()
        if replay is None:
            raise
        return replay


def _lock_account_of(volunteer_id):
    account = lock_one(PointsAccount, PointsAccount.volunteer_id == volunteer_id)
    if account is None:
        raise AccountNotFound()
    return account


_PERK_WITH_PLACES = (joinedload(Perk.organization), joinedload(Perk.venues))


def _perk_to_sell(perk_id):
    """The perk with its owner and venues, read (not locked: ``_take_stock`` guards the stock)."""
    perk = (
        db.session.execute(
            select(Perk).where(Perk.id == perk_id).options(*_PERK_WITH_PLACES).execution_options(populate_existing=True)
        )
        .unique()
        .scalar_one_or_none()
        if _whole(perk_id, 1, 2**62)
        else None
    )
    if perk is None:
        raise PerkNotFound()
    return perk


def _next_redemption_id():
    """SQL for the id the next redemption takes, drawn under the account's lock before it
    is written: its ledger entry (which names it as its cause) is written first, and the
    redemption then names its entry in its own INSERT, with no second write to either.
    PostgreSQL draws from the table's sequence; SQLite, whose writers hold the database's
    write lock from ``BEGIN IMMEDIATE``, takes the one after the highest."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.nextval(func.pg_get_serial_sequence(Redemption.__tablename__, "id"))
    return select(func.coalesce(func.max(Redemption.id), 0) + 1).scalar_subquery()


_MEMBER_ACCOUNT_AND_PERK = {}


def _member_account_and_perk_statement():
    return (
        select(VolunteerProfile, PointsAccount, Perk, MemberCredential, _next_redemption_id(), *stamp_columns())
        .join(PointsAccount, PointsAccount.volunteer_id == VolunteerProfile.id)
        .join(User, User.id == VolunteerProfile.user_id)
        .join(Perk, Perk.id == bindparam("perk_id"))
        .outerjoin(MemberCredential, MemberCredential.volunteer_id == VolunteerProfile.id)
        .where(
            VolunteerProfile.member_no == bindparam("code"),
            VolunteerProfile.merged_into_id.is_(None),
            User.deleted_at.is_(None),
        )
        .options(joinedload(VolunteerProfile.user).lazyload(User.memberships), *_PERK_WITH_PLACES)
        .with_for_update(of=PointsAccount)
        .execution_options(populate_existing=True)
    )


def _member_account_and_perk(code, perk_id):
    """What a counter redemption reads, in one query: the member's profile (with user and
    home organization), their account locked, the perk with its owner and venues, the
    member's spending credential (code secret and PIN; None before the first use), the
    id of the redemption to write, and the stamps of the caches a redemption consults
    (the star thresholds: ``database.stamp_columns``).

    A number merged into another profile, a deleted account or an unknown perk take the
    longer way (``volunteer_by_member_number``, ``_perk_to_sell``), which says what is wrong.
    """
    found = None
    if _whole(perk_id, 1, 2**62):
        statement = prepared(_MEMBER_ACCOUNT_AND_PERK, _member_account_and_perk_statement)
        found = db.session.execute(statement, {"code": code, "perk_id": perk_id}).unique().first()
    if found is None:
        profile = volunteer_by_member_number(code)
        account = _lock_account_of(profile.id)
        return profile, account, _perk_to_sell(perk_id), member_codes.credential_row(profile.id), None
    profile, account, perk, spending, redemption_id = found[:5]
    note_locked(PointsAccount, account.id)
    note_stamps(found)
    return profile, account, perk, spending, redemption_id


def _take_stock(perk, quantity, check):
    """Take ``quantity`` off a counted stock with a conditional UPDATE (never below 0).

    When the shelf holds less than that now (a redemption or a count since it was read),
    the perk is read again and checked again (``check(perk)`` refuses a short stock); a
    stock raised or made unlimited meanwhile is taken from as it is now. No ``FOR UPDATE``:
    the redemption's row already holds a key-share lock on the perk (its foreign key),
    and two such redemptions asking for the row lock would wait for each other."""
    while True:
        left = db.session.execute(
            update(Perk)
            .where(Perk.id == perk.id, Perk.stock >= quantity)
            .values(stock=Perk.stock - quantity)
            .returning(Perk.stock)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if left is not None:
            set_committed_value(perk, "stock", left)
            return
        perk = _perk_to_sell(perk.id)
        check(perk)
        if perk.stock is None:
            return


def _purchase(
    profile,
    perk_id,
    quantity,
    stars,
    *,
    channel,
    actor_id,
    key,
    fingerprint,
    now,
    counter_org=None,
    ttl=None,
    account=None,
    perk=None,
    redemption_id=None,
):
    """Lock the account; check eligibility and take points and stock, or replay the key.

    The account's lock serialises everything one volunteer does, so their balance and
    their per-period limits hold; the perk's row is written only where it has a counted
    stock (``_take_stock``), so redemptions of one perk without stock never queue on it,
    and then as the last write of the unit of work (``last_in_transaction``), so a popular
    perk's row is held for the commit only; a short stock found then rolls it all back.

    Nothing is read to find a replay on the way to the writes: the key's unique index
    refuses a second redemption (``_once`` then replays it), and a purchase refused
    before it wrote anything (no longer eligible, say, because the first one took the
    points) looks for the redemption of its key then, so a retry gets what the first
    request got. ``account`` (locked), ``perk`` and ``redemption_id`` (from
    ``_next_redemption_id``) may be passed when the caller read them already.
    Returns ``(redemption, written)``; ``written`` is False for a replay. Runs inside the
    caller's unit of work.
    """
    if account is None:
        account = _lock_account_of(profile.id)

    def check(perk):
        used = _used_in_period(profile.id, [perk], now).get(perk.id, 0) if perk.limit_period else 0
        reasons = _reasons(
            perk,
            profile=profile,
            stars=stars,
            balance=balance,
            used=used,
            quantity=quantity,
            now=now,
            channel=channel,
        )
        if reasons:
            raise NotEligible(
                reasons[0].template, details={"reasons": [reason.code for reason in reasons]}, **reasons[0].params
            )

    try:
        if perk is None:
            perk = _perk_to_sell(perk_id)
        if counter_org is not None and not perk.is_honored_at(counter_org):
            raise NotHonoredHere(perk=perk.name)
        ledger.expire_account(account.id, now)
        balance = account.balance  # what ``check`` weighs, also when a short stock is read again
        check(perk)
    except PointsError:
        replay = _replayed(key, fingerprint)
        if replay is None:
            raise
        return replay, False
    if redemption_id is None:
        redemption_id = db.session.execute(select(_next_redemption_id())).scalar_one()
    points = perk.points_cost * quantity
    entry = ledger.spend_points(
        account.id,
        points,
        reason=N_("Perk redeemed"),
        note=perk.name,
        cause_type="redemption",
        cause_id=redemption_id,
        actor_id=actor_id,
        idempotency_key=key,
        details={"perk_id": perk.id, "quantity": quantity},
        now=now,
        key_is_new=True,  # the entry's unique key refuses a second one; ``_once`` replays it
    )
    redemption = Redemption(  # the ids as well as the objects: read before the next flush
        id=redemption_id,
        perk=perk,
        perk_id=perk.id,
        volunteer=profile,
        volunteer_id=profile.id,
        account_id=account.id,
        quantity=quantity,
        points=points,
        copay_amount=perk.copay_amount * quantity,
        copay_currency=perk.copay_currency,
        payment_status="none",
        channel=channel,
        idempotency_key=key,
        fingerprint=fingerprint,
        redeem_entry=entry,
        redeem_entry_id=entry.id,
        created_by_id=actor_id,
        created_at=now,
    )
    if channel == "online":
        redemption.status = "reserved"
        redemption.voucher_code = new_voucher_code()
        if ttl is None:
            ttl = setting(perk.organization, "voucher_ttl_minutes")
        expires_at = now + timedelta(minutes=ttl)
        redemption.voucher_expires_at = min(expires_at, perk.valid_until) if perk.valid_until else expires_at
    else:
        redemption.status = "fulfilled"
        redemption.counter_organization_id = counter_org.id
        redemption.fulfilled_at = now
        redemption.fulfilled_by_id = actor_id
    db.session.add(redemption)  # written with the next flush, with the lots and the audit event
    if perk.stock is not None:  # last: the perk's row stays locked for the commit only
        last_in_transaction(lambda: _take_stock(perk, quantity, check))
    reports.count_redemption(redemption, 1)
    return redemption, True


def redeem_perk(
    actor,
    counter_org,
    member_no,
    perk_id,
    quantity,
    idempotency_key,
    *,
    level_of,
    credential=None,
    now=None,
    card_payment_method=None,
):
    """Redeem a perk at a counter in one unit of work: a fulfilled redemption.

    ``member_no`` is the printed number (then ``credential``, the member's rotating code
    or PIN, is needed) or the phone's scan, which carries the rotating code. Points are
    debited oldest lots first, stock is taken, a co-payment is recorded as paid in cash
    to the clerk, or paid by card with ``card_payment_method`` (``payments.pay_by_card``;
    a declined card undoes the redemption). The same ``idempotency_key`` with the same
    payload returns the first redemption (without asking for the code again); with
    another payload it is refused.
    """
    authz.require(actor, "counter.redeem", counter_org)
    key = require_client_key(idempotency_key)
    quantity = _check_quantity(quantity)
    member_no, scanned_code = member_codes.split_scan(member_no)
    credential = member_codes.parse_credential(credential) or scanned_code
    _kind, code = _scanned(member_no, wanted="member")
    now = now or utcnow()
    fingerprint = _fingerprint("counter", counter_org.id, code, perk_id, quantity)

    def operation():
        try:
            return purchase()
        except member_codes.WrongCredential as wrong:  # rolled back; the wrong try is counted on its own
            member_codes.refuse_wrong(wrong.volunteer_id, now)

    def purchase():
        with write_transaction():
            try:
                profile, account, perk, spending, redemption_id = _member_account_and_perk(code, perk_id)
                member_codes.check_spend(profile, spending, credential, now)
            except (PointsError, member_codes.WrongCredential):
                # a retry after the code changed, or the member's number was merged: what
                # the first request got, and no wrong try counted
                replay = _replayed(key, fingerprint)
                if replay is None:
                    raise
                return replay
            redemption, written = _purchase(
                profile,
                perk_id,
                quantity,
                int(level_of(profile).stars),
                channel="counter",
                actor_id=actor.id,
                key=key,
                fingerprint=fingerprint,
                now=now,
                counter_org=counter_org,
                account=account,
                perk=perk,
                redemption_id=redemption_id,
            )
            if written:
                payments.collect_at_counter(redemption, by_card=card_payment_method is not None)
                record_audit(
                    actor,
                    "redemption.redeem",
                    "redemption",
                    redemption.id,
                    organization_id=counter_org.id,
                    after=_redemption_audit(redemption),
                )
        return redemption

    redemption = _once(lambda: _replayed(key, fingerprint), operation, look_first=False)
    return payments.pay_by_card(redemption, card_payment_method, now=now)


def _redemption_audit(redemption):
    return {
        "perk_id": redemption.perk_id,
        "volunteer_id": redemption.volunteer_id,
        "quantity": redemption.quantity,
        "points": redemption.points,
        "copay_amount": redemption.copay_amount,
        "payment_status": redemption.payment_status,
        "status": redemption.status,
    }


def fulfil_voucher(actor, counter_org, code, idempotency_key, *, now=None):
    """Hand over what an online voucher reserved: one confirm at a counter that honors it.

    Confirming again with the same key returns the same redemption.
    """
    authz.require(actor, "counter.redeem", counter_org)
    key = require_client_key(idempotency_key)
    _kind, code = _scanned(code, wanted="voucher")
    now = now or utcnow()
    redemption = _usable_voucher(code, counter_org, now) if _fulfilled_with(key, code) is None else None

    def operation():
        with write_transaction():
            _lock_account_of(redemption.volunteer_id)
            locked = lock_one(Redemption, Redemption.id == redemption.id)
            if locked.fulfil_key == key:
                return locked
            _refuse_unusable(locked)
            locked.status = "fulfilled"
            locked.fulfilled_at = now
            locked.fulfilled_by_id = actor.id
            locked.counter_organization_id = counter_org.id
            locked.fulfil_key = key
            reports.count_handover(locked)
            record_audit(
                actor,
                "redemption.fulfil",
                "redemption",
                locked.id,
                organization_id=counter_org.id,
                before={"status": "reserved"},
                after=_redemption_audit(locked),
            )
        return locked

    return _once(lambda: _fulfilled_with(key, code), operation)


def hand_over_voucher(actor, counter_org, member_no, redemption_id, credential, idempotency_key, *, now=None):
    """Hand over one of a member's open vouchers from the member's page.

    The member was found by their number, so their rotating code or PIN stands in for
    the voucher code they would otherwise show (the printed number alone gets nothing).
    Confirming again with the same key returns the same redemption.
    """
    authz.require(actor, "counter.redeem", counter_org)
    key = require_client_key(idempotency_key)
    member_no, scanned_code = member_codes.split_scan(member_no)
    credential = member_codes.parse_credential(credential) or scanned_code
    _kind, code = _scanned(member_no, wanted="member")
    now = now or utcnow()
    profile = volunteer_by_member_number(code)
    redemption = db.session.get(Redemption, redemption_id) if isinstance(redemption_id, int) else None
    if redemption is None or redemption.volunteer_id != profile.id or redemption.voucher_code is None:
        raise RedemptionNotFound()
    if _fulfilled_with(key, redemption.voucher_code) is None:
        member_codes.authorise_spend(profile, credential, now)
    return fulfil_voucher(actor, counter_org, redemption.voucher_code, key, now=now)


def _fulfilled_with(key, code):
    """The voucher already fulfilled with ``key``; the key on another voucher is refused."""
    done = db.session.execute(select(Redemption).where(Redemption.fulfil_key == key)).scalar_one_or_none()
    if done is not None and done.voucher_code != code:
        raise IdempotencyConflict(_KEY_REUSED)
    return done


# -- online reservations ---------------------------------------------------------------


def reserve_perk(
    volunteer_user, perk_id, quantity, idempotency_key, *, level_of, now=None, ttl_minutes=None, payment_method=None
):
    """Reserve a perk online: points debited, stock taken, a voucher valid for ``ttl_minutes``.

    The voucher expires at the earlier of its time to live (the voucher validity setting of
    the perk's organization, unless ``ttl_minutes`` is given) and the end of the perk's
    validity; then its points and stock go back, exactly once. A perk with a co-payment
    is paid by card with ``payment_method`` (``payments.pay_by_card``): the voucher is
    usable once paid, and a failed payment releases the hold.
    """
    profile = _profile_of(volunteer_user)
    key = require_client_key(idempotency_key)
    quantity = _check_quantity(quantity)
    now = now or utcnow()
    ttl = ttl_minutes
    fingerprint = _fingerprint("online", profile.id, perk_id, quantity)

    def operation():
        stars = int(level_of(profile).stars)
        with write_transaction():
            redemption, written = _purchase(
                profile,
                perk_id,
                quantity,
                stars,
                channel="online",
                actor_id=volunteer_user.id,
                key=key,
                fingerprint=fingerprint,
                now=now,
                ttl=ttl,
            )
            if written and redemption.copay_amount:
                if payment_method is None:
                    raise InvalidPaymentMethod(details={"field": "payment_method"})
                payments.hold_for_card_payment(redemption, now)
        return redemption

    redemption = _once(lambda: _replayed(key, fingerprint), operation, look_first=False)
    return payments.pay_by_card(redemption, payment_method, now=now)


def volunteer_vouchers(volunteer_user, now=None, limit=50):
    """The volunteer's online redemptions, newest first; vouchers past their time are expired first."""
    profile = _profile_of(volunteer_user)
    now = now or utcnow()
    _expire_due_of(profile.id, now)
    return (
        db.session.execute(
            select(Redemption)
            .where(Redemption.volunteer_id == profile.id, Redemption.channel == "online")
            .order_by(Redemption.id.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )


def voucher_of(volunteer_user, redemption_id, now=None):
    """One of the volunteer's own vouchers (expired on the spot when past its time)."""
    profile = _profile_of(volunteer_user)
    redemption = _get_redemption(redemption_id)
    if redemption.volunteer_id != profile.id or redemption.channel != "online":
        raise RedemptionNotFound()
    now = now or utcnow()
    if redemption.status == "reserved" and redemption.voucher_expires_at <= now:
        _expire_one(redemption.id, now)
        db.session.refresh(redemption)
    return redemption


def cancel_reservation(volunteer_user, redemption_id, *, now=None):
    """The volunteer gives back an unused voucher: points to the same lots, stock back."""
    redemption = voucher_of(volunteer_user, redemption_id, now)
    now = now or utcnow()
    with write_transaction():
        redemption = _lock_redemption_chain(redemption)
        if redemption.status == "voided":
            return redemption
        if redemption.status != "reserved":
            _refuse_unusable(redemption)
        _undo(redemption, "voided", N_("Reservation cancelled; points returned"), volunteer_user.id, now)
    return payments.settle_card_payment(redemption.id, now=now)


# -- undoing: void, expiry -----------------------------------------------------------------


def _get_redemption(redemption_id):
    redemption = db.session.get(Redemption, redemption_id) if _whole(redemption_id, 1, 2**62) else None
    if redemption is None:
        raise RedemptionNotFound()
    return redemption


def _lock_redemption_chain(redemption):
    """Lock account, perk, redemption (the fixed order) and return the fresh redemption."""
    _lock_account_of(redemption.volunteer_id)
    _lock_perk(redemption.perk_id)
    return lock_one(Redemption, Redemption.id == redemption.id)


def _undo(redemption, status, reason, actor_id, now, idempotency_key=None, note=None):
    """Return the points to the lots they came from and the stock to the shelf (locks held)."""
    reversal = ledger.reverse_entry(
        redemption.redeem_entry_id,
        reason=reason,
        note=note,
        actor_id=actor_id,
        idempotency_key=idempotency_key,
        cause_type="redemption",
        cause_id=redemption.id,
        now=now,
    )
    redemption.return_entry_id = reversal.entry.id
    reports.count_redemption(redemption, -1)
    perk = redemption.perk
    if perk.stock is not None:
        perk.stock += redemption.quantity
    redemption.status = status
    if status == "expired":
        redemption.expired_at = now
    else:
        redemption.voided_at = now
        redemption.voided_by_id = actor_id
    payments.record_refund(redemption)
    db.session.flush()


def may_void(actor, redemption, now=None):
    """Admins void any redemption in their subtree; counter staff today's at their counter."""
    place = redemption.counter_organization
    if authz.can(actor, "redemption.void_any", redemption.perk.organization) or (
        place is not None and authz.can(actor, "redemption.void_any", place)
    ):
        return True
    if place is None or redemption.fulfilled_at is None or not authz.can(actor, "counter.redeem", place):
        return False
    now = now or utcnow()
    return to_local(redemption.fulfilled_at, place.timezone).date() == to_local(now, place.timezone).date()


def void_redemption(actor, redemption_id, reason, idempotency_key=None, *, now=None):
    """Undo a redemption: points to the same lots, stock back, a paid co-payment due for refund.

    Exactly once: voiding a voided redemption again returns it unchanged.
    """
    text = reason.strip() if isinstance(reason, str) else ""
    if not 1 <= len(text) <= 255:
        raise _invalid(_l("Give a reason for the void (1 to 255 characters)."), "reason")
    if idempotency_key is not None:
        idempotency_key = require_client_key(idempotency_key)
    now = now or utcnow()
    redemption = _get_redemption(redemption_id)
    if not may_void(actor, redemption, now):
        raise VoidNotAllowed()
    with write_transaction():
        redemption = _lock_redemption_chain(redemption)
        if redemption.status == "voided":
            return redemption
        if redemption.status == "expired":
            raise VoucherNotUsable(_l("This reservation already expired; its points were returned."))
        before = redemption.status
        _undo(redemption, "voided", N_("Redemption voided; points returned"), actor.id, now, idempotency_key, text)
        redemption.void_reason = text
        record_audit(
            actor,
            "redemption.void",
            "redemption",
            redemption.id,
            organization_id=redemption.counter_organization_id or redemption.perk.organization_id,
            before={"status": before},
            after={**_redemption_audit(redemption), "reason": text},
        )
    payments.settle_card_payment(redemption.id, now=now)
    db.session.refresh(redemption)
    return redemption


def release_unpaid(redemption_id, payment_status, now):
    """Undo a redemption whose card payment did not go through (declined, refused, no
    answer): points to the same lots, stock back, no voucher; its payment becomes
    ``payment_status`` (``failed``, or ``pending`` while Stripe's outcome is unknown).
    Exactly once: a redemption no longer held, or no longer pending, is left as it is."""
    redemption = _get_redemption(redemption_id)
    with write_transaction():
        redemption = _lock_redemption_chain(redemption)
        if redemption.status in HELD and redemption.payment_status == "pending":
            _undo(redemption, "voided", N_("Card payment not completed; points returned"), None, now)
            redemption.payment_status = payment_status
    return redemption


def may_settle_refund(actor, redemption):
    """Administrators of the redemption's counter or of the perk's organization record refunds."""
    places = [redemption.perk.organization, redemption.counter_organization]
    return any(place is not None and authz.can(actor, "redemption.void_any", place) for place in places)


def settle_refund(actor, redemption_id, method, note, *, now=None):
    """Record that the co-payment of an undone redemption was handed back: how
    (``payments.REFUND_METHODS``), by ``actor``, now, with a note. Audited; exactly once."""
    if method not in payments.REFUND_METHODS:
        raise _invalid(
            _l("Choose how the money was handed back: %(choices)s."),
            "method",
            choices=list_text(payments.REFUND_METHODS, style="or"),
        )
    text = note.strip() if isinstance(note, str) else ""
    if not 1 <= len(text) <= 255 or any(ord(character) < 32 for character in text):
        raise _invalid(_l("Add a note of 1 to 255 characters on one line (who received the money, how)."), "note")
    now = now or utcnow()
    redemption = _get_redemption(redemption_id)
    if not may_settle_refund(actor, redemption):
        raise RedemptionNotFound()
    with write_transaction():
        redemption = lock_one(Redemption, Redemption.id == redemption.id)
        if redemption.payment_status != "refund_due":
            raise Conflict(
                _l("No refund is due for this redemption (its payment status is %(status)s)."),
                status=redemption.payment_status,
            )
        payments.settle_refund(redemption, method, text, actor.id, now)
        payments.audit_refund(actor, redemption)
    return redemption


def _expire_one(redemption_id, now):
    """Expire one reserved voucher past its time; None when it was not (or no longer) due."""
    redemption = db.session.get(Redemption, redemption_id)
    with write_transaction():
        redemption = _lock_redemption_chain(redemption)
        if redemption.status != "reserved" or redemption.voucher_expires_at > now:
            return None
        _undo(redemption, "expired", N_("Voucher expired; points returned"), None, now)
    return payments.settle_card_payment(redemption.id, now=now)


def _expire_due_of(volunteer_id, now):
    due = (
        db.session.execute(
            select(Redemption.id).where(
                Redemption.volunteer_id == volunteer_id,
                Redemption.status == "reserved",
                Redemption.voucher_expires_at <= now,
            )
        )
        .scalars()
        .all()
    )
    for redemption_id in due:
        _expire_one(redemption_id, now)


def expire_reservations(now=None):
    """Expire every voucher past its time, one short unit of work each. Returns (vouchers, points)."""
    now = now or utcnow()
    due = (
        db.session.execute(
            select(Redemption.id)
            .where(Redemption.status == "reserved", Redemption.voucher_expires_at <= now)
            .order_by(Redemption.id)
        )
        .scalars()
        .all()
    )
    db.session.rollback()
    vouchers = points = 0
    for redemption_id in due:
        redemption = _expire_one(redemption_id, now)
        if redemption is not None:
            vouchers += 1
            points += redemption.points
    return vouchers, points


def expire_reservations_job():
    """The ``points expire`` job's line for vouchers."""
    vouchers, points = expire_reservations()
    return f"expired {vouchers} vouchers, returned {points} points"


# -- reading -------------------------------------------------------------------------------


@dataclass
class Receipt:
    redemption: Redemption
    masked_name: str
    balance_after: int
    can_void: bool


def receipt_for(actor, redemption_id, now=None):
    """A redemption as its receipt, for staff who may see it (the counter's staff, admins)."""
    redemption = _get_redemption(redemption_id)
    place = redemption.counter_organization or redemption.perk.organization
    if not (authz.can(actor, "counter.redeem", place) or authz.can(actor, "redemption.void_any", place)):
        raise RedemptionNotFound()
    return Receipt(
        redemption=redemption,
        masked_name=mask_name(redemption.volunteer.user.name),
        balance_after=redemption.redeem_entry.balance_after,
        can_void=redemption.status == "fulfilled" and may_void(actor, redemption, now),
    )


def counter_day(actor, counter_org, now=None, limit=100):
    """Redemptions fulfilled at ``counter_org`` since local midnight, newest first."""
    authz.require(actor, "counter.redeem", counter_org)
    start = _period_start("day", now or utcnow(), counter_org.timezone)
    return (
        db.session.execute(
            select(Redemption)
            .where(Redemption.counter_organization_id == counter_org.id, Redemption.fulfilled_at >= start)
            .order_by(Redemption.fulfilled_at.desc(), Redemption.id.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )


# -- checks ----------------------------------------------------------------------------------


def check_redemptions():
    """Redemptions that disagree with the ledger: ``[(account_id, problem)]`` for ``points verify``."""
    problems = []
    reversed_ids = select(LedgerEntry.reverses_entry_id).where(LedgerEntry.reverses_entry_id.is_not(None))
    for redemption_id, account_id in db.session.execute(
        select(Redemption.id, Redemption.account_id).where(
            Redemption.status.in_(HELD), Redemption.redeem_entry_id.in_(reversed_ids)
        )
    ).all():
        problems.append((account_id, f"redemption {redemption_id} is open but its points were returned"))
    for redemption_id, account_id in db.session.execute(
        select(Redemption.id, Redemption.account_id).where(
            Redemption.status.not_in(HELD), Redemption.return_entry_id.is_(None)
        )
    ).all():
        problems.append((account_id, f"redemption {redemption_id} was undone but no points were returned"))
    for redemption_id, account_id, points, delta in db.session.execute(
        select(Redemption.id, Redemption.account_id, Redemption.points, LedgerEntry.delta)
        .join(LedgerEntry, LedgerEntry.id == Redemption.redeem_entry_id, isouter=True)
        .where((LedgerEntry.id.is_(None)) | (LedgerEntry.delta != -Redemption.points))
    ).all():
        problems.append((account_id, f"redemption {redemption_id} of {points} points has ledger delta {delta}"))
    negative = db.session.execute(select(func.count(Perk.id)).where(Perk.stock < 0)).scalar_one()
    if negative:
        problems.append((None, f"{negative} perks have negative stock"))
    return problems
