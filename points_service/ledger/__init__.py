"""The points ledger.

Design overview
---------------
Each volunteer has one ``PointsAccount``. Every change of its balance is a
``LedgerEntry``: a signed, non-zero integer ``delta`` of one kind (``earn``,
``redeem``, ``reverse``, ``expire``, ``adjust``) with its cause, actor, optional
idempotency key and the ``balance_after`` it left. Its ``reason`` is a message id the
server wrote (``N_``), translated when shown; its ``note`` is what a person wrote (a
void reason, a perk's name), never translated. Entries and lot movements are
append-only, and a lot changes only in ``remaining`` and ``expired_at``: the database
refuses anything else by trigger (UPDATE, DELETE, and TRUNCATE on PostgreSQL, see
``points_service.database.refuse_history_changes``), and negative balances by CHECK.

Every earning (an ``earn`` or a positive ``adjust``) creates a ``PointsLot`` with its
own expiry. Spending takes the lots that expire soonest first (then the oldest; lots
that never expire last) and records each ``LotMovement``, so a reversal puts back
exactly the points into exactly the lots they came from.

A reversal of an earning takes back what is left of it; points already spent become a
``ReversalShortfall``. Every later earning (an ``earn`` or a positive ``adjust``) first
recovers open shortfalls, oldest first, with one ``reverse`` entry each in the same
unit of work; what stays open may be written off (a second person approves it, outside
this package). ``check_shortfalls`` checks each against its recovery entries.

Invariants, checked by ``verify_ledger`` (``flask points verify``) and by the tests:

1. ``balance == sum(delta of entries) == sum(remaining of unexpired lots)``, and the
   lifetime totals equal the credits, debits and expiries not reversed;
2. a balance is never negative, under any concurrency;
3. an entry is never updated or deleted: corrections are new entries;
4. an idempotency key has its effect at most once; reused with another payload it
   is refused;
6. points are integers.

Balance changes lock the account row first (``SELECT ... FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite; see ``points_service.database``). Callers
that also lock other rows (a perk's stock) lock the account first.

This package imports no other domain.
"""
