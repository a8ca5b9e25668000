"""Login throttling that every app process shares: the counts live in the database.

Each password attempt counts against two budgets *before* the password is checked,
in one locked write, so concurrent attempts in many processes cannot slip past a
count that none of them has seen yet:

- its **source** (the client address): ``SOURCE`` tolerates more failures, since an
  office or a mobile network puts many people behind one address, and backs off to
  a long delay;
- its **account** (the login name typed, whether or not such a user exists, so the
  answers never tell): ``ACCOUNT`` backs off after a few failures, to a short delay.
  From a source the account's owner has logged in from before (its *usual* source),
  the pair (account, source) keeps its own account budget instead, so failures
  elsewhere never delay the owner there.

A budget allows ``free_failures`` failures, then each further attempt waits: the first
delay, doubled per failure, up to ``max_delay``. Nothing locks an account for good, and
an attacker who does not know the password cannot hold its owner out of their usual
source at all. A correct password gives the attempt back. Failures are forgotten after
``FORGET_AFTER`` without one.
"""

import hashlib
import hmac
import math
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_
from sqlalchemy.dialects import postgresql, sqlite

from ..database import lock, write_transaction
from ..errors import PointsError
from ..extensions import db
from ..timeutil import utcnow
from .models import LoginThrottle


@dataclass(frozen=True)
class Budget:
    free_failures: int
    first_delay: timedelta
    max_delay: timedelta

    def delay_after(self, failures):
        """How long to wait after ``failures`` counted failures (None: no wait)."""
        if failures < self.free_failures:
            return None
        doublings = min(failures - self.free_failures, 32)
        return min(self.first_delay * 2**doublings, self.max_delay)


ACCOUNT = Budget(free_failures=5, first_delay=timedelta(seconds=1), max_delay=timedelta(minutes=5))
SOURCE = Budget(free_failures=20, first_delay=timedelta(seconds=1), max_delay=timedelta(hours=1))
FORGET_AFTER = timedelta(days=1)
USUAL_SOURCE_FOR = timedelta(days=90)


class TooManyAttempts(PointsError):
    status = 429
    code = "rate_limited"
    default_message = _l("Too many failed logins. Wait %(seconds)s seconds and try again.")


@dataclass(frozen=True)
class Attempt:
    """One counted attempt: the rows to give back to when the password is right."""

    source_key: str
    account_key: str
    pair_key: str


def _key(kind, *parts):
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, "\x1f".join((kind, *parts)).encode(), hashlib.sha256).hexdigest()


def _normalise_login(login):
    return unicodedata.normalize("NFKC", login).strip().casefold()


def _insert_missing(keys):
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(
        insert(LoginThrottle).values([{"key": key, "failures": 0} for key in sorted(keys)]).on_conflict_do_nothing()
    )


def _locked(keys, now):
    """The rows of ``keys`` (created when missing), locked, with stale counts forgotten."""
    _insert_missing(keys)
    rows = {row.key: row for row in lock(LoginThrottle, LoginThrottle.key.in_(keys))}
    for row in rows.values():
        if row.counted_at is not None and row.counted_at < now - FORGET_AFTER:
            row.failures, row.blocked_until, row.counted_at = 0, None, None
    return rows


def _count(row, budget, now):
    row.failures += 1
    row.counted_at = now
    delay = budget.delay_after(row.failures)
    row.blocked_until = now + delay if delay is not None else None


def _budget_rows(attempt, now):
    """Locked (source row, account row, pair row); the account row is the pair's from a usual source."""
    rows = _locked([attempt.source_key, attempt.account_key, attempt.pair_key], now)
    pair = rows[attempt.pair_key]
    usual = pair.succeeded_at is not None and pair.succeeded_at > now - USUAL_SOURCE_FOR
    return rows[attempt.source_key], pair if usual else rows[attempt.account_key], pair


def start_attempt(login, source, now):
    """Count one attempt for ``login`` from ``source``, or raise ``TooManyAttempts``.

    Call before checking the password; call ``attempt_succeeded`` when it was right.
    """
    normalised = _normalise_login(login)
    source = source or "unknown"
    attempt = Attempt(
        source_key=_key("source", source),
        account_key=_key("account", normalised),
        pair_key=_key("pair", normalised, source),
    )
    with write_transaction():
        source_row, account_row, _pair = _budget_rows(attempt, now)
        waits = [row.blocked_until - now for row in (source_row, account_row) if row.blocked_until]
        waits = [wait for wait in waits if wait > timedelta(0)]
        if waits:
            raise TooManyAttempts(seconds=math.ceil(max(waits).total_seconds()))
        _count(source_row, SOURCE, now)
        _count(account_row, ACCOUNT, now)
    return attempt


def attempt_succeeded(attempt, now):
    """The password was right: give the attempt back and remember the source as usual."""
    with write_transaction():
        source_row, account_row, pair = _budget_rows(attempt, now)
        account_row.failures, account_row.blocked_until = 0, None
        # This attempt passed the source's check, so the source was not waiting before it.
        source_row.failures, source_row.blocked_until = max(0, source_row.failures - 1), None
        pair.succeeded_at = now


def forget_stale_counts_job(now=None):
    """The ``expire`` job: delete counters with nothing left to remember."""
    now = now or utcnow()
    with write_transaction() as session:
        result = session.execute(
            delete(LoginThrottle).where(
                or_(LoginThrottle.counted_at.is_(None), LoginThrottle.counted_at < now - FORGET_AFTER),
                or_(LoginThrottle.succeeded_at.is_(None), LoginThrottle.succeeded_at < now - USUAL_SOURCE_FOR),
            )
        )
    return f"forgot {result.rowcount} stale login counters"
