"""Ledger operations: earn, spend, reverse, expire, adjust, verify.

Each public operation is one unit of work (it joins the caller's when nested), locks
the account row before reading lots, and first expires the account's due lots so no
expired point is ever spent. See the package docstring for the invariants.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import String, bindparam, case, cast, func, select, union
from sqlalchemy.exc import IntegrityError

from ..database import lock_by_id, lock_one, prepared, transaction_memo, write_transaction
from ..extensions import db
from ..i18n import N_
from ..idempotency_keys import check_stored_key
from ..timeutil import utcnow
from .errors import (
    AccountNotFound,
    AlreadyReversed,
    DuplicateRequest,
    EntryNotFound,
    InsufficientPoints,
    InvalidExpiry,
    InvalidIdempotencyKey,
    InvalidPoints,
    InvalidReason,
    NotReversible,
    ShortfallChanged,
    ShortfallNotFound,
    ShortfallSettled,
)
from .models import LedgerEntry, LotMovement, PointsAccount, PointsLot, ReversalShortfall

MAX_POINTS_PER_ENTRY = 10_000_000
# Spending order: the lots that expire soonest first, then the oldest; never-expiring last.
_SPENDING_ORDER = (PointsLot.expires_at.asc().nulls_last(), PointsLot.earned_at, PointsLot.id)
_OPEN_LOTS = "open lots"


# -- validation -------------------------------------------------------------------


def _check_points(points):
    if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= MAX_POINTS_PER_ENTRY:
        raise InvalidPoints(maximum=MAX_POINTS_PER_ENTRY)
    return points


def _check_reason(reason):
    text = (reason or "").strip() if isinstance(reason, str) else ""
    if not text or len(text) > 255:
        raise InvalidReason()
    return text


def _check_note(note):
    """What a person wrote about the entry: None, or text of at most 255 characters."""
    if note is None:
        return None
    if not isinstance(note, str) or len(note.strip()) > 255:
        raise InvalidReason()
    return note.strip() or None


def _check_key(key):
    """A key derived by the server, or a client's key derived by ``idempotency_keys.client_key``."""
    if key is None:
        return None
    if not check_stored_key(key):
        raise InvalidIdempotencyKey()
    return key


def _check_expiry(expires_at):
    """None (never expires) or a datetime, returned as the naive UTC the database stores."""
    if expires_at is None:
        return None
    if not isinstance(expires_at, datetime):
        raise InvalidExpiry()
    if expires_at.tzinfo is not None:
        expires_at = expires_at.astimezone(UTC).replace(tzinfo=None)
    return expires_at


def _fingerprint(**payload):
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# -- accounts ---------------------------------------------------------------------


def open_account(volunteer_id):
    """Create the points account of a volunteer profile (inside the caller's unit of work)."""
    account = PointsAccount(volunteer_id=volunteer_id, balance=0)
    db.session.add(account)
    db.session.flush()
    return account


def get_account(account_id):
    account = db.session.get(PointsAccount, account_id) if isinstance(account_id, int) else None
    if account is None:
        raise AccountNotFound()
    return account


def account_of_volunteer(volunteer_id):
    account = db.session.execute(
        select(PointsAccount).where(PointsAccount.volunteer_id == volunteer_id)
    ).scalar_one_or_none()
    if account is None:
        raise AccountNotFound()
    return account


def _lock_account(account_id):
    if isinstance(account_id, bool) or not isinstance(account_id, int):
        raise AccountNotFound()
    account = lock_by_id(PointsAccount, account_id)
    if account is None:
        raise AccountNotFound()
    return account


# -- the one place that writes an entry ---------------------------------------------


def _replayed(key, fingerprint):
    """The entry already written for ``key``, or None; a different payload is refused."""
    if key is None:
        return None
    entry = db.session.execute(select(LedgerEntry).where(LedgerEntry.idempotency_key == key)).scalar_one_or_none()
    if entry is None:
        return None
    if entry.fingerprint != fingerprint:
        raise DuplicateRequest()
    return entry


def _append(
    account,
    kind,
    delta,
    *,
    reason,
    note=None,
    cause_type=None,
    cause_id=None,
    actor_id=None,
    key=None,
    fingerprint=None,
    reverses_entry_id=None,
    details=None,
    now=None,
):
    if delta > 0:
        transaction_memo().pop((_OPEN_LOTS, account.id), None)  # a credit opens or refills lots
    new_balance = account.balance + delta
    if new_balance < 0:
        raise InsufficientPoints(needed=-delta, available=account.balance)
    entry = LedgerEntry(
        account_id=account.id,
        kind=kind,
        delta=delta,
        balance_after=new_balance,
        reason=reason,
        note=note,
        cause_type=cause_type,
        cause_id=None if cause_id is None else str(cause_id),
        actor_id=actor_id,
        idempotency_key=key,
        fingerprint=fingerprint,
        reverses_entry_id=reverses_entry_id,
        details=details,
        created_at=now or utcnow(),
    )
    db.session.add(entry)
    account.balance = new_balance
    account.updated_at = entry.created_at
    db.session.flush()
    return entry


def _take_from_lots(account, entry, points, now, first_lot_id=None):
    """Consume ``points`` from open lots in spending order (a named lot first), recording movements.

    Spending order: the lots that expire soonest first, then the oldest; lots that never
    expire last. Taking by earn date would let a younger lot that expires sooner run out
    while an older, longer-lived lot is spent, and the volunteer would lose points they
    could have used."""
    known = transaction_memo().get((_OPEN_LOTS, account.id))
    if known is not None and known[0] == now:
        lots = [lot for lot in known[1] if lot.remaining > 0 and lot.expired_at is None]
    else:
        lots = (
            db.session.execute(
                select(PointsLot)
                .where(PointsLot.account_id == account.id, PointsLot.expired_at.is_(None), PointsLot.remaining > 0)
                .order_by(*_SPENDING_ORDER)
            )
            .scalars()
            .all()
        )
    if first_lot_id is not None:
        lots.sort(key=lambda lot: lot.id != first_lot_id)
    left = points
    for lot in lots:
        if left == 0:
            break
        taken = min(lot.remaining, left)
        lot.remaining -= taken
        left -= taken
        db.session.add(LotMovement(entry_id=entry.id, lot_id=lot.id, amount=taken))
    return points - left  # written with the unit of work's next flush


# Told of every expiry in its unit of work: ``listener(account, points, moment)``. The
# reports domain keeps its monthly figures with it; the ledger imports no other domain.
_expiry_listeners = []


def on_points_expired(listener):
    """Call ``listener(account, points, moment)`` whenever points of an account expire."""
    _expiry_listeners.append(listener)
    return listener


_LOTS_TO_EXPIRE_OR_SPEND = {}


def _lots_to_expire_or_spend():
    """The account's lots due to expire at ``now`` and those open, in spending order (built once)."""
    return (
        select(PointsLot)
        .where(
            PointsLot.account_id == bindparam("account_id"),
            PointsLot.expired_at.is_(None),
            (PointsLot.remaining > 0) | (PointsLot.expires_at <= bindparam("now")),
        )
        .order_by(*_SPENDING_ORDER)
    )


def _expire_due(account, now):
    """Expire the account's lots whose time has come; one ``expire`` entry for them all.

    The same query loads the lots left open, in spending order: a spend that follows in
    this unit of work at the same moment takes from them without reading them again
    (the account's lock keeps them current; a credit forgets them, see ``_append``).
    Expiring an account a second time at the same moment in one unit of work reads nothing.
    """
    memo = transaction_memo()
    known = memo.get((_OPEN_LOTS, account.id))
    if known is not None and known[0] == now:
        return None
    statement = prepared(_LOTS_TO_EXPIRE_OR_SPEND, _lots_to_expire_or_spend)
    lots = db.session.execute(statement, {"account_id": account.id, "now": now}).scalars().all()
    due = sorted(
        (lot for lot in lots if lot.expires_at is not None and lot.expires_at <= now),
        key=lambda lot: (lot.earned_at, lot.id),
    )
    due_ids = {lot.id for lot in due}
    memo[(_OPEN_LOTS, account.id)] = (now, [lot for lot in lots if lot.id not in due_ids])
    if not due:
        return None
    points = sum(lot.remaining for lot in due)
    entry = None
    if points:
        entry = _append(
            account,
            "expire",
            -points,
            reason=N_("Points expired"),
            cause_type="expiry",
            now=now,
            details={"lots": [lot.id for lot in due if lot.remaining]},
        )
        for lot in due:
            if lot.remaining:
                db.session.add(LotMovement(entry_id=entry.id, lot_id=lot.id, amount=lot.remaining))
        account.lifetime_expired += points
        for listener in _expiry_listeners:
            listener(account, points, now)
    for lot in due:
        lot.remaining = 0
        lot.expired_at = now
    db.session.flush()
    return entry


def _guarded(operation):
    """Run a write; a unique-key race on the idempotency key becomes a replay or a refusal."""

    def run(*args, idempotency_key=None, **kwargs):
        try:
            return operation(*args, idempotency_key=idempotency_key, **kwargs)
        except IntegrityError:
            if idempotency_key is None or db.session.info.get("points_write_transaction"):
                raise
            db.session.rollback()
            entry = db.session.execute(
                select(LedgerEntry).where(LedgerEntry.idempotency_key == idempotency_key)
            ).scalar_one_or_none()
            if entry is None:
                raise
            return operation(*args, idempotency_key=idempotency_key, **kwargs)

    run.__name__ = operation.__name__
    run.__doc__ = operation.__doc__
    return run


# -- public operations ---------------------------------------------------------------


@_guarded
def earn_points(
    account_id,
    points,
    *,
    reason,
    note=None,
    cause_type=None,
    cause_id=None,
    actor_id=None,
    idempotency_key=None,
    expires_at=None,
    details=None,
    now=None,
):
    """Credit ``points`` as a new lot expiring at ``expires_at`` (None: never)."""
    points = _check_points(points)
    reason = _check_reason(reason)
    note = _check_note(note)
    key = _check_key(idempotency_key)
    expires_at = _check_expiry(expires_at)
    now = now or utcnow()
    fingerprint = _fingerprint(op="earn", account=account_id, points=points, cause=[cause_type, str(cause_id)])
    with write_transaction():
        account = _lock_account(account_id)
        replay = _replayed(key, fingerprint)
        if replay is not None:
            return replay
        _expire_due(account, now)
        entry = _append(
            account,
            "earn",
            points,
            reason=reason,
            note=note,
            cause_type=cause_type,
            cause_id=cause_id,
            actor_id=actor_id,
            key=key,
            fingerprint=fingerprint,
            details=details,
            now=now,
        )
        _open_lot(account, entry, points, now, expires_at)
        account.lifetime_earned += points
        _recover_shortfalls(account, points, now)
    return entry


def _open_lot(account, entry, points, now, expires_at):
    lot = PointsLot(
        account_id=account.id, entry_id=entry.id, amount=points, remaining=points, earned_at=now, expires_at=expires_at
    )
    db.session.add(lot)
    db.session.flush()
    return lot


@_guarded
def spend_points(
    account_id,
    points,
    *,
    reason,
    note=None,
    cause_type=None,
    cause_id=None,
    actor_id=None,
    idempotency_key=None,
    details=None,
    now=None,
    key_is_new=False,
):
    """Debit ``points`` from the lots that expire soonest first (a ``redeem`` entry).

    ``key_is_new``: the caller replays its own record of ``idempotency_key`` (a
    redemption), so no entry is looked up; the key's unique index refuses a second
    entry, and the caller turns that refusal into its replay."""
    points = _check_points(points)
    reason = _check_reason(reason)
    note = _check_note(note)
    key = _check_key(idempotency_key)
    now = now or utcnow()
    fingerprint = _fingerprint(op="redeem", account=account_id, points=points, cause=[cause_type, str(cause_id)])
    with write_transaction():
        account = _lock_account(account_id)
        replay = None if key_is_new else _replayed(key, fingerprint)
        if replay is not None:
            return replay
        _expire_due(account, now)
        account.lifetime_spent += points  # written with the new balance, in one UPDATE
        entry = _append(
            account,
            "redeem",
            -points,
            reason=reason,
            note=note,
            cause_type=cause_type,
            cause_id=cause_id,
            actor_id=actor_id,
            key=key,
            fingerprint=fingerprint,
            details=details,
            now=now,
        )
        _take_from_lots(account, entry, points, now)
    return entry


@_guarded
def adjust_points(
    account_id,
    delta,
    *,
    reason,
    note=None,
    actor_id,
    idempotency_key=None,
    expires_at=None,
    cause_type=None,
    cause_id=None,
    details=None,
    now=None,
):
    """An administrator's correction: positive adds a lot, negative spends like a redemption.

    The caller authorizes and writes the audit event in the same unit of work.
    """
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0:
        raise InvalidPoints(maximum=MAX_POINTS_PER_ENTRY)
    _check_points(abs(delta))
    reason = _check_reason(reason)
    note = _check_note(note)
    key = _check_key(idempotency_key)
    expires_at = _check_expiry(expires_at)
    now = now or utcnow()
    fingerprint = _fingerprint(op="adjust", account=account_id, delta=delta, cause=[cause_type, str(cause_id)])
    with write_transaction():
        account = _lock_account(account_id)
        replay = _replayed(key, fingerprint)
        if replay is not None:
            return replay
        _expire_due(account, now)
        entry = _append(
            account,
            "adjust",
            delta,
            reason=reason,
            note=note,
            cause_type=cause_type,
            cause_id=cause_id,
            actor_id=actor_id,
            key=key,
            fingerprint=fingerprint,
            details=details,
            now=now,
        )
        if delta > 0:
            _open_lot(account, entry, delta, now, expires_at)
            account.lifetime_earned += delta
            _recover_shortfalls(account, delta, now)
        else:
            _take_from_lots(account, entry, -delta, now)
            account.lifetime_spent += -delta
    return entry


@dataclass
class Transfer:
    """What ``transfer_balance`` did: the entry out of the source, the entries into the destination."""

    out_entry: LedgerEntry | None
    in_entries: list = field(default_factory=list)

    @property
    def points(self):
        return -self.out_entry.delta if self.out_entry is not None else 0


def transfer_balance(
    from_account_id, to_account_id, *, reason, actor_id, idempotency_key, cause_type, cause_id, now=None
):
    """Move every spendable point of one account to another, each keeping its expiry.

    For merging two accounts of one person. Both accounts are locked (lower id first, so
    two transfers never deadlock) and their due lots expired first. One ``adjust`` entry
    takes what remains of every open lot off the source (recorded per lot); on the
    destination one ``adjust`` entry per expiry date opens a lot of those points, with
    that expiry and the earliest earn date among them, so they are spent in the same
    order as before. History is not rewritten: the source keeps its entries and its
    spent lots. Lifetime totals count the move as spent from one account and earned by
    the other, as ``verify_ledger`` expects of ``adjust`` entries; the destination's
    open shortfalls are not recovered from the moved points (a move creates nothing).

    ``idempotency_key`` names the whole transfer: the entries carry ``KEY:out`` and
    ``KEY:in:N``; called again with the same key it returns what was done.
    """
    key = _check_key(idempotency_key)
    if key is None or len(key) > 120:
        raise InvalidIdempotencyKey()
    reason = _check_reason(reason)
    if from_account_id == to_account_id:
        raise AccountNotFound()
    now = now or utcnow()
    out_key = f"{key}:out"
    fingerprint = _fingerprint(op="transfer", source=from_account_id, destination=to_account_id)
    with write_transaction():
        first, second = sorted((from_account_id, to_account_id))
        locked = {first: _lock_account(first), second: _lock_account(second)}
        source, destination = locked[from_account_id], locked[to_account_id]
        replay = _replayed(out_key, fingerprint)
        if replay is not None:
            entries = db.session.execute(
                select(LedgerEntry)
                .where(LedgerEntry.idempotency_key.startswith(f"{key}:in:", autoescape=True))
                .order_by(LedgerEntry.id)
            )
            return Transfer(out_entry=replay, in_entries=entries.scalars().all())
        _expire_due(source, now)
        _expire_due(destination, now)
        lots = (
            db.session.execute(
                select(PointsLot)
                .where(PointsLot.account_id == source.id, PointsLot.expired_at.is_(None), PointsLot.remaining > 0)
                .order_by(PointsLot.expires_at.asc().nulls_last(), PointsLot.earned_at, PointsLot.id)
            )
            .scalars()
            .all()
        )
        points = sum(lot.remaining for lot in lots)
        if points == 0:
            return Transfer(out_entry=None)
        common = {"cause_type": cause_type, "cause_id": cause_id, "actor_id": actor_id, "now": now}
        out_entry = _append(
            source,
            "adjust",
            -points,
            reason=reason,
            key=out_key,
            fingerprint=fingerprint,
            details={"to_account_id": destination.id},
            **common,
        )
        groups = {}
        for lot in lots:
            groups.setdefault(lot.expires_at, []).append(lot)
            db.session.add(LotMovement(entry_id=out_entry.id, lot_id=lot.id, amount=lot.remaining))
        source.lifetime_spent += points
        in_entries = []
        for number, (expires_at, group) in enumerate(groups.items(), start=1):
            amount = sum(lot.remaining for lot in group)
            entry = _append(
                destination,
                "adjust",
                amount,
                reason=reason,
                key=f"{key}:in:{number}",
                fingerprint=fingerprint,
                details={"from_account_id": source.id, "from_lots": [lot.id for lot in group]},
                **common,
            )
            db.session.add(
                PointsLot(
                    account_id=destination.id,
                    entry_id=entry.id,
                    amount=amount,
                    remaining=amount,
                    earned_at=min(lot.earned_at for lot in group),
                    expires_at=expires_at,
                )
            )
            destination.lifetime_earned += amount
            in_entries.append(entry)
        for lot in lots:
            lot.remaining = 0
        db.session.flush()
    return Transfer(out_entry=out_entry, in_entries=in_entries)


@dataclass
class Reversal:
    """What a reversal did: its entry (None when nothing could be taken) and any shortfall."""

    original: LedgerEntry
    entry: LedgerEntry | None
    shortfall: int = 0
    restored_lots: dict = field(default_factory=dict)


@_guarded
def reverse_entry(
    entry_id, *, reason, note=None, actor_id=None, idempotency_key=None, cause_type=None, cause_id=None, now=None
):
    """Undo an entry exactly once.

    A debit (``redeem``, negative ``adjust``) is returned to exactly the lots it took
    from. A credit (``earn``, positive ``adjust``) is taken back from its own lot first,
    then from the other lots in spending order; what was already spent and cannot be taken is
    recorded as a shortfall, recovered from the volunteer's next earnings or written off
    (see ``_recover_shortfalls``), and points that expired from its lot are not taken
    twice. ``expire`` and ``reverse`` entries cannot be reversed.
    """
    words = {"reason": _check_reason(reason), "note": _check_note(note)}
    key = _check_key(idempotency_key)
    now = now or utcnow()
    if isinstance(entry_id, bool) or not isinstance(entry_id, int):
        raise EntryNotFound()
    original = db.session.get(LedgerEntry, entry_id)
    if original is None:
        raise EntryNotFound()
    fingerprint = _fingerprint(op="reverse", entry=entry_id)
    with write_transaction():
        account = _lock_account(original.account_id)
        replay = _replayed(key, fingerprint)
        if replay is not None:
            return Reversal(original=original, entry=replay)
        if original.kind in ("expire", "reverse"):
            raise NotReversible()
        already = (
            db.session.execute(select(LedgerEntry.id).where(LedgerEntry.reverses_entry_id == original.id)).first()
            or db.session.execute(
                select(ReversalShortfall.id).where(ReversalShortfall.reversed_entry_id == original.id)
            ).first()
        )
        if already:
            raise AlreadyReversed()
        if original.delta < 0:
            result = _reverse_debit(account, original, words, actor_id, key, fingerprint, cause_type, cause_id, now)
        else:
            result = _reverse_credit(account, original, words, actor_id, key, fingerprint, cause_type, cause_id, now)
    return result


def _reverse_debit(account, original, words, actor_id, key, fingerprint, cause_type, cause_id, now):
    movements = (
        db.session.execute(select(LotMovement).where(LotMovement.entry_id == original.id).order_by(LotMovement.lot_id))
        .scalars()
        .all()
    )
    entry = _append(
        account,
        "reverse",
        -original.delta,
        **words,
        actor_id=actor_id,
        key=key,
        fingerprint=fingerprint,
        reverses_entry_id=original.id,
        cause_type=cause_type or original.cause_type,
        cause_id=cause_id or original.cause_id,
        now=now,
    )
    restored = {}
    for movement in movements:
        lot = lock_one(PointsLot, PointsLot.id == movement.lot_id)
        lot.remaining += movement.amount
        # A lot that expired meanwhile is reopened and expires again below, openly.
        lot.expired_at = None
        restored[lot.id] = movement.amount
        db.session.add(LotMovement(entry_id=entry.id, lot_id=lot.id, amount=-movement.amount))
    account.lifetime_spent -= -original.delta
    db.session.flush()
    _expire_due(account, now)
    return Reversal(original=original, entry=entry, restored_lots=restored)


def _reverse_credit(account, original, words, actor_id, key, fingerprint, cause_type, cause_id, now):
    _expire_due(account, now)
    lot = db.session.execute(select(PointsLot).where(PointsLot.entry_id == original.id)).scalar_one()
    expired_from_lot = db.session.execute(
        select(func.coalesce(func.sum(LotMovement.amount), 0))
        .join(LedgerEntry, LedgerEntry.id == LotMovement.entry_id)
        .where(LotMovement.lot_id == lot.id, LedgerEntry.kind == "expire")
    ).scalar_one()
    target = original.delta - int(expired_from_lot)
    takeable = min(target, account.balance)
    entry = None
    if takeable > 0:
        entry = _append(
            account,
            "reverse",
            -takeable,
            **words,
            actor_id=actor_id,
            key=key,
            fingerprint=fingerprint,
            reverses_entry_id=original.id,
            cause_type=cause_type or original.cause_type,
            cause_id=cause_id or original.cause_id,
            now=now,
            details={"reversed_points": original.delta, "expired_before": int(expired_from_lot)},
        )
        _take_from_lots(account, entry, takeable, now, first_lot_id=lot.id)
    account.lifetime_earned -= original.delta
    shortfall = target - takeable
    if shortfall > 0 or entry is None:
        # Without an entry this row is the only record that the reversal happened; when
        # nothing was owed (every point had expired) there is nothing left to settle.
        db.session.add(
            ReversalShortfall(
                account_id=account.id,
                reversed_entry_id=original.id,
                reverse_entry_id=entry.id if entry else None,
                points=shortfall,
                created_at=now,
                settled_at=None if shortfall else now,
            )
        )
    db.session.flush()
    return Reversal(original=original, entry=entry, shortfall=shortfall)


def expire_account(account_id, now=None):
    """Expire the due lots of one account; returns the expire entry or None."""
    now = now or utcnow()
    with write_transaction():
        account = _lock_account(account_id)
        return _expire_due(account, now)


def expire_due_lots(now=None):
    """Expire every due lot, one short transaction per account. Returns (accounts, points)."""
    now = now or utcnow()
    account_ids = (
        db.session.execute(
            select(PointsLot.account_id)
            .where(PointsLot.expired_at.is_(None), PointsLot.expires_at.is_not(None), PointsLot.expires_at <= now)
            .distinct()
        )
        .scalars()
        .all()
    )
    db.session.rollback()
    accounts = points = 0
    for account_id in account_ids:
        entry = expire_account(account_id, now)
        if entry is not None:
            accounts += 1
            points += -entry.delta
    return accounts, points


# -- shortfalls: recovered from later earnings, or written off ----------------------------

RECOVERY_REASON = N_("Recovering points of a reversed record that had already been spent")
RECOVERY_CAUSE = "shortfall"


def _recover_shortfalls(account, earned, now):
    """Take up to ``earned`` points just credited to the locked ``account`` towards its
    open shortfalls, oldest first: one ``reverse`` entry per shortfall (caused by it, so
    the volunteer's history explains it), in the earning's own unit of work.

    Lifetime totals do not move: the reversal already took the whole reversed entry out
    of ``lifetime_earned``, so after full recovery they agree with the balance again.
    """
    shortfalls = (
        db.session.execute(
            select(ReversalShortfall)
            .where(ReversalShortfall.account_id == account.id, ReversalShortfall.settled_at.is_(None))
            .order_by(ReversalShortfall.id)
        )
        .scalars()
        .all()
    )
    budget = earned
    for shortfall in shortfalls:
        taken = min(shortfall.open_points, budget)
        if taken <= 0:
            continue
        entry = _append(
            account,
            "reverse",
            -taken,
            reason=RECOVERY_REASON,
            cause_type=RECOVERY_CAUSE,
            cause_id=shortfall.id,
            details={"reversed_entry_id": shortfall.reversed_entry_id, "shortfall_points": shortfall.points},
            now=now,
        )
        _take_from_lots(account, entry, taken, now)
        shortfall.recovered_points += taken
        budget -= taken
        if shortfall.open_points == 0:
            shortfall.settled_at = now
        if budget == 0:
            break
    db.session.flush()


def get_shortfall(shortfall_id):
    shortfall = (
        db.session.get(ReversalShortfall, shortfall_id)
        if isinstance(shortfall_id, int) and not isinstance(shortfall_id, bool)
        else None
    )
    if shortfall is None:
        raise ShortfallNotFound()
    return shortfall


def write_off_shortfall(shortfall_id, *, expected_open, actor_id, note, now=None):
    """Forgive what is still open of a shortfall: no entry is written (the points were
    spent and stay spent); the shortfall records the written-off points and is settled.

    Refused when it is settled already, or when its open points are no longer
    ``expected_open`` (some were recovered since the write-off was asked for). The caller
    (the second approver's change request) authorizes and writes the audit event.
    """
    note = _check_reason(note)
    now = now or utcnow()
    shortfall = get_shortfall(shortfall_id)
    with write_transaction():
        _lock_account(shortfall.account_id)
        shortfall = lock_one(ReversalShortfall, ReversalShortfall.id == shortfall.id)
        if shortfall.settled_at is not None or shortfall.open_points == 0:
            raise ShortfallSettled()
        if shortfall.open_points != expected_open:
            raise ShortfallChanged(requested=expected_open, open=shortfall.open_points)
        shortfall.written_off_points += shortfall.open_points
        shortfall.settled_at = now
        shortfall.settled_by_id = actor_id
        shortfall.settlement_note = note
        db.session.flush()
    return shortfall


# -- reading ---------------------------------------------------------------------------


def entry_for_key(idempotency_key):
    """The entry written with this idempotency key, or None (and None for no key)."""
    if idempotency_key is None:
        return None
    return db.session.execute(
        select(LedgerEntry).where(LedgerEntry.idempotency_key == idempotency_key)
    ).scalar_one_or_none()


def list_entries(account_id, *, before_id=None, limit=50):
    """Newest first; page with ``before_id`` (the last id of the previous page)."""
    statement = select(LedgerEntry).where(LedgerEntry.account_id == account_id)
    if before_id is not None:
        statement = statement.where(LedgerEntry.id < before_id)
    statement = statement.order_by(LedgerEntry.id.desc()).limit(max(1, min(int(limit), 200)))
    return db.session.execute(statement).scalars().all()


def due_points(account_id, now):
    """SQL for the points in open lots of the account ``account_id`` (a column or a value)
    that are due to expire at ``now``: selected beside the account, the balance minus this
    is what can be spent now, without a second query."""
    return (
        select(func.coalesce(func.sum(PointsLot.remaining), 0))
        .where(
            PointsLot.account_id == account_id,
            PointsLot.expired_at.is_(None),
            PointsLot.remaining > 0,
            PointsLot.expires_at <= now,
        )
        .scalar_subquery()
    )


def expiring_points(account_id, before, now=None):
    """Points in open lots that expire before ``before``: ``[(expires_at, points)]``."""
    now = now or utcnow()
    rows = db.session.execute(
        select(PointsLot.expires_at, func.sum(PointsLot.remaining))
        .where(
            PointsLot.account_id == account_id,
            PointsLot.expired_at.is_(None),
            PointsLot.remaining > 0,
            PointsLot.expires_at.is_not(None),
            PointsLot.expires_at <= before,
        )
        .group_by(PointsLot.expires_at)
        .order_by(PointsLot.expires_at)
    ).all()
    return [(moment, int(points)) for moment, points in rows]


def open_shortfalls(account_id=None):
    statement = select(ReversalShortfall).where(ReversalShortfall.settled_at.is_(None))
    if account_id is not None:
        statement = statement.where(ReversalShortfall.account_id == account_id)
    return db.session.execute(statement.order_by(ReversalShortfall.id)).scalars().all()


@dataclass
class VerifyReport:
    accounts: int
    entries: int
    discrepancies: list

    @property
    def ok(self):
        return not self.discrepancies


def _lifetime_problems(session):
    """Accounts whose lifetime totals differ from what their entries give.

    Earned: the credits (``earn``, positive ``adjust``) not reversed; spent: the debits
    (``redeem``, negative ``adjust``) not reversed; expired: the ``expire`` entries. A
    reversal takes back the whole original entry from the total (what it could not take
    from the balance is a shortfall, not a smaller reversal).
    """
    undone = union(
        select(LedgerEntry.reverses_entry_id.label("entry_id")).where(LedgerEntry.reverses_entry_id.is_not(None)),
        select(ReversalShortfall.reversed_entry_id),
    ).subquery()
    standing = undone.c.entry_id.is_(None)
    credit = LedgerEntry.kind.in_(("earn", "adjust")) & (LedgerEntry.delta > 0) & standing
    debit = LedgerEntry.kind.in_(("redeem", "adjust")) & (LedgerEntry.delta < 0) & standing
    totals = (
        select(
            LedgerEntry.account_id.label("account_id"),
            func.sum(case((credit, LedgerEntry.delta), else_=0)).label("earned"),
            func.sum(case((debit, -LedgerEntry.delta), else_=0)).label("spent"),
            func.sum(case((LedgerEntry.kind == "expire", -LedgerEntry.delta), else_=0)).label("expired"),
        )
        .outerjoin(undone, undone.c.entry_id == LedgerEntry.id)
        .group_by(LedgerEntry.account_id)
        .subquery()
    )
    earned, spent, expired = (func.coalesce(totals.c[name], 0) for name in ("earned", "spent", "expired"))
    rows = session.execute(
        select(
            PointsAccount.id,
            PointsAccount.lifetime_earned,
            PointsAccount.lifetime_spent,
            PointsAccount.lifetime_expired,
            earned,
            spent,
            expired,
        )
        .outerjoin(totals, totals.c.account_id == PointsAccount.id)
        .where(
            (PointsAccount.lifetime_earned != earned)
            | (PointsAccount.lifetime_spent != spent)
            | (PointsAccount.lifetime_expired != expired)
        )
    ).all()
    return [
        (
            account_id,
            f"lifetime earned {had_earned}, spent {had_spent}, expired {had_expired};"
            f" the entries give {int(want_earned)}, {int(want_spent)}, {int(want_expired)}",
        )
        for account_id, had_earned, had_spent, had_expired, want_earned, want_spent, want_expired in rows
    ]


def verify_ledger():
    """Check invariants 1 and 3 of DESIGN.md, and the lifetime totals, for every account,
    in a few set queries."""
    session = db.session
    problems = []
    accounts = session.execute(select(func.count(PointsAccount.id))).scalar_one()
    entries = session.execute(select(func.count(LedgerEntry.id))).scalar_one()

    entry_sums = (
        select(LedgerEntry.account_id.label("account_id"), func.sum(LedgerEntry.delta).label("total"))
        .group_by(LedgerEntry.account_id)
        .subquery()
    )
    lot_sums = (
        select(PointsLot.account_id.label("account_id"), func.sum(PointsLot.remaining).label("total"))
        .where(PointsLot.expired_at.is_(None))
        .group_by(PointsLot.account_id)
        .subquery()
    )
    rows = session.execute(
        select(
            PointsAccount.id,
            PointsAccount.balance,
            func.coalesce(entry_sums.c.total, 0),
            func.coalesce(lot_sums.c.total, 0),
        )
        .outerjoin(entry_sums, entry_sums.c.account_id == PointsAccount.id)
        .outerjoin(lot_sums, lot_sums.c.account_id == PointsAccount.id)
        .where(
            (PointsAccount.balance != func.coalesce(entry_sums.c.total, 0))
            | (PointsAccount.balance != func.coalesce(lot_sums.c.total, 0))
            | (PointsAccount.balance < 0)
        )
    ).all()
    for account_id, balance, entry_total, lot_total in rows:
        problems.append(
            (account_id, f"balance {balance}, sum of entries {int(entry_total)}, sum of open lots {int(lot_total)}")
        )

    previous = func.lag(LedgerEntry.balance_after, 1, 0).over(
        partition_by=LedgerEntry.account_id, order_by=LedgerEntry.id
    )
    chain = select(
        LedgerEntry.id, LedgerEntry.account_id, LedgerEntry.delta, LedgerEntry.balance_after, previous.label("previous")
    ).subquery()
    for entry_id, account_id, delta, after, before in session.execute(
        select(chain).where(chain.c.previous + chain.c.delta != chain.c.balance_after)
    ).all():
        problems.append((account_id, f"entry {entry_id}: {before} {delta:+d} does not give {after}"))

    moved = (
        select(LotMovement.lot_id.label("lot_id"), func.sum(LotMovement.amount).label("total"))
        .group_by(LotMovement.lot_id)
        .subquery()
    )
    for lot_id, account_id, amount, remaining, total in session.execute(
        select(
            PointsLot.id, PointsLot.account_id, PointsLot.amount, PointsLot.remaining, func.coalesce(moved.c.total, 0)
        )
        .outerjoin(moved, moved.c.lot_id == PointsLot.id)
        .where(PointsLot.amount - func.coalesce(moved.c.total, 0) != PointsLot.remaining)
    ).all():
        problems.append((account_id, f"lot {lot_id}: {amount} - {int(total)} moved != {remaining} remaining"))
    problems.extend(_lifetime_problems(session))
    problems.sort()
    return VerifyReport(accounts=accounts, entries=entries, discrepancies=problems)


def check_shortfalls():
    """Shortfalls whose amounts disagree with themselves or with the ledger's recovery
    entries: ``[(account_id, problem)]`` for ``points verify``. For each shortfall,
    recovered + written off + open add up to its points, it is settled exactly when
    nothing is open, and its recovered points are what its recovery entries took."""
    session = db.session
    problems = []
    open_points = ReversalShortfall.points - ReversalShortfall.recovered_points - ReversalShortfall.written_off_points
    for shortfall_id, account_id, points, recovered, written_off, settled_at in session.execute(
        select(
            ReversalShortfall.id,
            ReversalShortfall.account_id,
            ReversalShortfall.points,
            ReversalShortfall.recovered_points,
            ReversalShortfall.written_off_points,
            ReversalShortfall.settled_at,
        ).where(
            (open_points < 0)
            | (ReversalShortfall.recovered_points < 0)
            | (ReversalShortfall.written_off_points < 0)
            | ((open_points == 0) & ReversalShortfall.settled_at.is_(None))
            | ((open_points != 0) & ReversalShortfall.settled_at.is_not(None))
        )
    ).all():
        left = points - recovered - written_off
        state = "settled" if settled_at is not None else "open"
        problems.append(
            (
                account_id,
                f"shortfall {shortfall_id} of {points} points: {recovered} recovered + {written_off} written off"
                f" + {left} open, marked {state}",
            )
        )

    recoveries = (
        select(
            LedgerEntry.account_id.label("account_id"),
            LedgerEntry.cause_id.label("cause_id"),
            func.sum(-LedgerEntry.delta).label("total"),
        )
        .where(LedgerEntry.cause_type == RECOVERY_CAUSE)
        .group_by(LedgerEntry.account_id, LedgerEntry.cause_id)
        .subquery()
    )
    matches = (recoveries.c.cause_id == cast(ReversalShortfall.id, String)) & (
        recoveries.c.account_id == ReversalShortfall.account_id
    )
    for shortfall_id, account_id, recovered, taken in session.execute(
        select(
            ReversalShortfall.id,
            ReversalShortfall.account_id,
            ReversalShortfall.recovered_points,
            func.coalesce(recoveries.c.total, 0),
        )
        .outerjoin(recoveries, matches)
        .where(ReversalShortfall.recovered_points != func.coalesce(recoveries.c.total, 0))
    ).all():
        problems.append(
            (account_id, f"shortfall {shortfall_id}: {recovered} points recovered, its recovery entries took {taken}")
        )
    for account_id, cause_id, taken in session.execute(
        select(recoveries.c.account_id, recoveries.c.cause_id, recoveries.c.total)
        .outerjoin(ReversalShortfall, matches)
        .where(ReversalShortfall.id.is_(None))
    ).all():
        problems.append((account_id, f"recovery entries took {taken} points for unknown shortfall {cause_id}"))
    problems.sort(key=lambda problem: (problem[0] or 0, problem[1]))
    return problems
