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

from sqlalchemy import event, inspect, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from .config import ConfigurationError
from .errors import OutcomeUnknown
from .extensions import db
from .replicas import WRITE_TRANSACTION

_WRITE_OPTION = WRITE_TRANSACTION
_LOCKED_ROWS = "points_locked_rows"
_MEMO = "points_transaction_memo"
_COMMITTED = "points_committed"
_LAST_STEPS = "points_last_steps"
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
def write_transaction(*, bookkeeping=False, join_reads=False):
    """Run the block as one unit of work that commits at the end or rolls back.

    Nested calls join the outermost transaction, so a service may call another
    service's write operation and both commit or fail together. Any read
    transaction the session had open is ended first: a write must start from the
    current state of the database, not from an older snapshot. With ``join_reads``,
    on PostgreSQL at READ COMMITTED (where each statement reads the current state
    anyway), the open read transaction becomes the unit of work instead, which saves
    its commit and a second connection checkout; for callers whose earlier reads
    (who is asking) are not what the work changes. SQLite always starts afresh (its
    writers queue on ``BEGIN IMMEDIATE``).

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
    joined = join_reads and session.in_transaction() and _reads_current_state(session)
    if not joined and session.in_transaction():
        session.commit()
    session.info[_WRITE_OPTION] = 1  # from here on every statement goes to the primary
    try:
        if not joined:
            session.connection(execution_options={_WRITE_OPTION: True})
        yield session
        session.flush()  # a failure here is known: nothing was committed
        for step in session.info.pop(_LAST_STEPS, ()):
            step()
        _commit(session, bookkeeping)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info[_WRITE_OPTION] = 0
        session.info.pop(_LAST_STEPS, None)
        session.info.pop(_LOCKED_ROWS, None)
        session.info.pop(_MEMO, None)


def end_read_transaction(error=None):
    """``teardown_appcontext``: end a transaction that only read, on PostgreSQL, with COMMIT.

    A read ends the same either way, but psycopg forgets every statement it prepared on a
    connection when that connection rolls back, so a request that only reads (a counter's
    lookup, any page) would have each of its statements parsed and planned anew every
    time. The transaction is committed only when PostgreSQL says it wrote nothing (no
    transaction id was assigned to it); anything else, an error included, is left to the
    rollback of the session's close, as is a connection that broke meanwhile."""
    if error is not None or not db.session.registry.has():
        return
    session = db.session()
    if not session.in_transaction() or session.info.get(_WRITE_OPTION) or session.new or session.dirty:
        return
    if session.deleted or session.get_bind().dialect.name != "postgresql":
        return
    try:
        if session.connection().exec_driver_sql(_WROTE_ANYTHING).scalar() is False:
            session.commit()
    except SQLAlchemyError:
        # The response is already made and nothing was written: the session's close rolls
        # back, or discards the connection if it broke, and the request stands.
        return


_WROTE_ANYTHING = "SELECT txid_current_if_assigned() IS NOT NULL"


def last_in_transaction(step):
    """Run ``step()`` at the end of the current write transaction, after everything else it
    writes and just before its commit; an error it raises rolls the whole unit of work back.

    For a write that takes a lock many transactions want (a popular perk's stock row): taken
    last, it is held for the commit only. Outside a write transaction ``step`` runs now."""
    session = db.session()
    if not session.info.get(_WRITE_OPTION):
        step()
        return
    session.info.setdefault(_LAST_STEPS, []).append(step)


def _reads_current_state(session):
    connection = session.connection()
    return connection.dialect.name == "postgresql" and connection.default_isolation_level == "READ COMMITTED"


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


def note_locked(model, row_id):
    """Record that this write transaction holds the lock of ``model`` row ``row_id``, taken
    by a query of the caller's own (one that loads more than the row), for ``lock_by_id``."""
    session = db.session()
    if session.info.get(_WRITE_OPTION):
        session.info.setdefault(_LOCKED_ROWS, set()).add((model, row_id))


def transaction_memo():
    """A dict that lives as long as the current write transaction: what it already found
    out under its locks (emptied at its commit or rollback; a fresh dict outside one)."""
    session = db.session()
    if not session.info.get(_WRITE_OPTION):
        return {}
    return session.info.setdefault(_MEMO, {})


# -- stamps: a cache's check read along with a hot path's first query ---------------------

_STAMPS = {}
_STAMPS_READ = "points_stamps_read"


def register_stamp(name, expression):
    """Have the hot queries that select ``stamp_columns()`` read ``expression()`` (a
    scalar subquery) along with what they load: a domain whose per-process cache is
    current while that value is the same checks it with ``stamp(name)``, without a
    query of its own."""
    _STAMPS[name] = expression
    _STAMP_COLUMNS.clear()


_STAMP_COLUMNS = []


def stamp_columns():
    """The registered stamps, as labelled columns to add to a query's select list
    (built once: a statement that reuses them keeps its cache key)."""
    if not _STAMP_COLUMNS:
        _STAMP_COLUMNS.extend(expression().label(name) for name, expression in _STAMPS.items())
    return list(_STAMP_COLUMNS)


def prepared(cache, build):
    """The statement ``build()`` makes, built once per database dialect and kept in
    ``cache`` (a dict): a hot path that passes its values as bound parameters neither
    constructs it nor computes its cache key again."""
    dialect = db.session.get_bind().dialect.name
    statement = cache.get(dialect)
    if statement is None:
        statement = cache[dialect] = build()
    return statement


def note_stamps(row):
    """Keep the stamps read in ``row`` (a result row of a query with ``stamp_columns()``)
    for the rest of the session's transaction."""
    db.session().info[_STAMPS_READ] = {name: getattr(row, name) for name in _STAMPS}


def stamp(name):
    """The stamp ``name`` read in this transaction by a hot query, or None."""
    return db.session().info.get(_STAMPS_READ, {}).get(name)


@event.listens_for(Session, "after_transaction_end")
def _forget_stamps(session, transaction):
    if transaction.parent is None:
        session.info.pop(_STAMPS_READ, None)


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


# -- history the database itself refuses to rewrite ------------------------------------

# One PostgreSQL function serves every protected table. The trigger's first argument
# names the rows in the message; any further arguments are the columns an UPDATE may
# change (nothing else in the row may differ). DELETE and TRUNCATE are always refused.
REFUSE_HISTORY_CHANGE_FUNCTION = """CREATE OR REPLACE FUNCTION refuse_history_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND TG_NARGS > 1
       AND (to_jsonb(OLD) - TG_ARGV[1:TG_NARGS - 1]) = (to_jsonb(NEW) - TG_ARGV[1:TG_NARGS - 1]) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% are append-only: % refused', TG_ARGV[0], TG_OP;
END; $$ LANGUAGE plpgsql"""


def history_trigger_statements(dialect_name, table, rows, updatable=()):
    """The DDL that makes ``table`` refuse DELETE, TRUNCATE and any UPDATE except of the
    ``updatable`` columns; ``rows`` names its rows in the error ("ledger entries").

    Trigger names are ``<table>_no_update``, ``<table>_no_delete`` and, on PostgreSQL,
    ``<table>_no_truncate``. SQLite has no TRUNCATE (a DELETE without WHERE fires the
    delete trigger).
    """
    name = table.name
    arguments = ", ".join(f"'{value}'" for value in (rows, *updatable))
    if dialect_name == "postgresql":
        return [
            REFUSE_HISTORY_CHANGE_FUNCTION,
            f"CREATE TRIGGER {name}_no_update BEFORE UPDATE ON {name} "
            f"FOR EACH ROW EXECUTE FUNCTION refuse_history_change({arguments})",
            f"CREATE TRIGGER {name}_no_delete BEFORE DELETE ON {name} "
            f"FOR EACH ROW EXECUTE FUNCTION refuse_history_change({arguments})",
            f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change({arguments})",
        ]
    refusal = f"BEGIN SELECT RAISE(ABORT, '{rows} are append-only'); END"
    fixed = [column.name for column in table.columns if column.name not in updatable]
    changed = " OR ".join(f"NEW.{column} IS NOT OLD.{column}" for column in fixed)
    return [
        f"CREATE TRIGGER IF NOT EXISTS {name}_no_update BEFORE UPDATE ON {name}"
        + (f" WHEN {changed} " if updatable else " ")
        + refusal,
        f"CREATE TRIGGER IF NOT EXISTS {name}_no_delete BEFORE DELETE ON {name} {refusal}",
    ]


def refuse_history_changes(table, rows, *, updatable=()):
    """Have the database refuse to rewrite ``table`` (see ``history_trigger_statements``).

    The triggers are created with the table by ``metadata.create_all``; the migrations
    create the same ones. ``grant_app_privileges`` reads the mark left here.
    """
    table.info["history"] = {"rows": rows, "updatable": tuple(updatable)}

    def install(target, connection, **kw):
        for statement in history_trigger_statements(connection.dialect.name, target, rows, updatable):
            connection.execute(text(statement))

    event.listen(table, "after_create", install)


# -- the app's database role -------------------------------------------------------------


def grant_app_privileges(connection, role, metadata):
    """Give ``role`` (the role DATABASE_URL connects as) what the app needs and no more.

    Run on PostgreSQL by the migrations, connected as the tables' owner
    (``MIGRATION_DATABASE_URL``). Tables marked by ``refuse_history_changes`` get SELECT
    and INSERT, and UPDATE of their updatable columns only; every other table of the
    models SELECT, INSERT, UPDATE and DELETE; any other table nothing. The role never
    gets TRUNCATE, TRIGGER or ownership, so it cannot truncate a table or ``ALTER TABLE
    ... DISABLE TRIGGER``. Refused for the owner itself, a member of the owner's role
    or a superuser: none of them can be held to these rules.
    """
    owner, superuser, member = connection.execute(
        text(
            "SELECT current_user, rolsuper, pg_has_role(rolname, current_user, 'MEMBER') "
            "FROM pg_roles WHERE rolname = :role"
        ),
        {"role": role},
    ).one()
    if role == owner or superuser or member:
        raise ConfigurationError(
            f"The app's database role {role!r} owns the tables, shares the owner's role or is a superuser, "
            "so the database cannot refuse it anything: give DATABASE_URL a role of its own (see README)."
        )
    quote = connection.dialect.identifier_preparer.quote
    grantee = quote(role)
    schema = quote(connection.exec_driver_sql("SELECT current_schema()").scalar_one())
    connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {grantee}")
    for name in inspect(connection).get_table_names():
        table = metadata.tables.get(name)
        connection.exec_driver_sql(f"REVOKE ALL ON {quote(name)} FROM {grantee}")
        if table is None:
            continue
        history = table.info.get("history")
        privileges = "SELECT, INSERT" if history else "SELECT, INSERT, UPDATE, DELETE"
        connection.exec_driver_sql(f"GRANT {privileges} ON {quote(name)} TO {grantee}")
        if history and history["updatable"]:
            columns = ", ".join(quote(column) for column in history["updatable"])
            connection.exec_driver_sql(f"GRANT UPDATE ({columns}) ON {quote(name)} TO {grantee}")
    connection.exec_driver_sql(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {grantee}")
    connection.exec_driver_sql(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {schema} TO {grantee}")
