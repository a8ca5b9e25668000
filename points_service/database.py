"""Transactions and row locks that behave the same on SQLite and PostgreSQL.

Every operation that changes a balance or a stock runs inside ``write_transaction``.
On PostgreSQL the rows it changes are taken with ``SELECT ... FOR UPDATE`` (see
``lock``). On SQLite, which has no row locks, the transaction starts with
``BEGIN IMMEDIATE`` so that writers queue on the database's write lock (bounded by
the busy timeout) instead of failing with a stale snapshot; this is SQLAlchemy's
documented pysqlite recipe with the driver's own transaction handling switched off.
"""

import sqlite3
from contextlib import contextmanager

from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from .errors import OutcomeUnknown
from .extensions import db

_WRITE_OPTION = "points_write_transaction"
_LOCKED_ROWS = "points_locked_rows"
_COMMITTED = "points_committed"
_BUSY_TIMEOUT_MS = 30000


def configure_sqlite(busy_timeout_ms):
    global _BUSY_TIMEOUT_MS
    _BUSY_TIMEOUT_MS = int(busy_timeout_ms)


@event.listens_for(Engine, "connect")
def _on_connect(dbapi_connection, connection_record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy emit BEGIN itself (the pysqlite recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT_MS)}")
    cursor.close()


@event.listens_for(Engine, "begin")
def _on_begin(connection):
    if connection.dialect.name != "sqlite":
        return
    if connection.get_execution_options().get(_WRITE_OPTION):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


def one_of(column, values):
    """SQL text for a CHECK constraint: ``column`` holds one of ``values``."""
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def is_sqlite():
    return db.session.get_bind().dialect.name == "sqlite"


@contextmanager
def write_transaction(*, bookkeeping=False):
    """Run the block as one unit of work that commits at the end or rolls back.

    Nested calls join the outermost transaction, so a service may call another
    service's write operation and both commit or fail together. Any read
    transaction the session had open is ended first: a write must start from the
    current state of the database, not from an older snapshot.

    When the COMMIT itself fails with the connection, nobody knows whether it was
    applied: ``OutcomeUnknown`` is raised. ``bookkeeping`` marks a write that records
    how a request is handled (an idempotency claim), not a change the caller asked
    for; it does not count for ``may_have_committed``.
    """
    session = db.session()  # the scoped session's current Session
    depth = session.info.get(_WRITE_OPTION, 0)
    if depth:
        session.info[_WRITE_OPTION] = depth + 1
        try:
            yield session
        finally:
            session.info[_WRITE_OPTION] = depth
        return
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={_WRITE_OPTION: True})
    session.info[_WRITE_OPTION] = 1
    try:
        yield session
        session.flush()  # a failure here is known: nothing was committed
        _commit(session, bookkeeping)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info[_WRITE_OPTION] = 0
        session.info.pop(_LOCKED_ROWS, None)


def _commit(session, bookkeeping):
    try:
        session.commit()
    except DBAPIError as error:
        lost = isinstance(error, (OperationalError, InterfaceError)) or error.connection_invalidated
        if bookkeeping or not lost:
            raise
        session.info[_COMMITTED] = True
        raise OutcomeUnknown() from error
    if not bookkeeping:
        session.info[_COMMITTED] = True


def forget_commits():
    """Start afresh for ``may_have_committed`` (at the start of each request)."""
    db.session().info.pop(_COMMITTED, None)


def may_have_committed():
    """True when a unit of work committed, or may have, since ``forget_commits``.

    A request that fails after that point must not say that nothing was changed.
    """
    return bool(db.session().info.get(_COMMITTED))


def lock(model, *criteria, order_by=None):
    """Select rows of ``model`` for update, refreshing any copies already loaded.

    Callers lock in one fixed order (account before perk, lower id first) so two
    transactions never wait on each other in a cycle.
    """
    statement = select(model).where(*criteria).with_for_update()
    statement = statement.order_by(*(order_by if order_by is not None else [model.id]))
    statement = statement.execution_options(populate_existing=True)
    rows = db.session.execute(statement).scalars().all()
    session = db.session()
    if session.info.get(_WRITE_OPTION):
        session.info.setdefault(_LOCKED_ROWS, set()).update((model, row.id) for row in rows)
    return rows


def lock_one(model, *criteria):
    rows = lock(model, *criteria)
    return rows[0] if rows else None


def lock_by_id(model, row_id):
    """``lock_one`` by primary key, without a second round trip when this write
    transaction already holds the row's lock (a whole-roster approval locks every
    account first, then credits each): the loaded copy is then current, because no
    one else can change a locked row and this session's own changes are in it."""
    session = db.session()
    if (model, row_id) in session.info.get(_LOCKED_ROWS, ()):
        row = session.get(model, row_id)
        if row is not None:
            return row
    return lock_one(model, model.id == row_id)
