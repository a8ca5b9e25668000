"""Reads that may come from a PostgreSQL read replica (``DATABASE_REPLICA_URL``).

Without a replica everything reads and writes the primary (``DATABASE_URL``). With one,
a view opts in with ``@replica_reads`` (a block of code with ``reading_from_replica()``):
its SELECTs then run on the replica, which may lag behind the primary. A flush, an
INSERT, UPDATE or DELETE, and everything inside ``database.write_transaction`` run on
the primary even there, and every check of a balance or a stock before a change is made
inside ``write_transaction`` with the rows locked: a lagging replica can show an older
history, never let a volunteer spend twice.

Opt in only views that change nothing and decide nothing: history pages, honor rolls,
public pages and reports.
"""

from contextlib import contextmanager
from functools import wraps

from flask import current_app
from flask_sqlalchemy.session import Session
from sqlalchemy import create_engine

# session.info: how deep the session is in database.write_transaction (0 or missing: not).
WRITE_TRANSACTION = "points_write_transaction"
_READING_REPLICA = "points_reading_replica"
_ENGINE = "points_replica_engine"


def init_replica(app):
    """Make the replica's engine when ``DATABASE_REPLICA_URL`` is set."""
    url = app.config["DATABASE_REPLICA_URL"]
    if url:
        app.extensions[_ENGINE] = create_engine(url, **app.config["SQLALCHEMY_ENGINE_OPTIONS"])


def replica_engine(app=None):
    """The replica's engine, or None when there is no replica."""
    return (app or current_app).extensions.get(_ENGINE)


class RoutingSession(Session):
    """The session of ``db``: the primary, or the replica for plain reads in a replica block."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and self._reads_replica(clause):
            return current_app.extensions[_ENGINE]
        return super().get_bind(mapper, clause=clause, bind=bind, **kwargs)

    def _reads_replica(self, clause):
        return (
            self.info.get(_READING_REPLICA, False)
            and not self.info.get(WRITE_TRANSACTION)
            and not self._flushing
            and not getattr(clause, "is_dml", False)
            and _ENGINE in current_app.extensions
        )


@contextmanager
def reading_from_replica():
    """Plain reads in the block may come from the replica (see the module docstring)."""
    session = current_app.extensions["sqlalchemy"].session()
    before = session.info.get(_READING_REPLICA, False)
    session.info[_READING_REPLICA] = True
    try:
        yield
    finally:
        session.info[_READING_REPLICA] = before


def replica_reads(view):
    """A view whose reads may come from the replica: it changes nothing and decides nothing."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        with reading_from_replica():
            return view(*args, **kwargs)

    return wrapper
