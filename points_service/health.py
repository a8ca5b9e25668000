"""``/healthz`` and ``/readyz`` for load balancers and orchestrators.

``/healthz`` says the process answers (it touches nothing else: a database outage must not
get every app process restarted). ``/readyz`` says this process can serve: the database
answers and its schema is at the head of the migrations this code carries; otherwise 503
with the reason, so that a load balancer sends no traffic to a server that is not ready
(before ``flask db upgrade`` has run, or while the database is away).
"""

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db


def code_migration_heads(app):
    """The Alembic head revision(s) of the migrations shipped with this code (read once)."""
    heads = app.extensions.get("points_migration_heads")
    if heads is None:
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
        heads = app.extensions["points_migration_heads"] = frozenset(script.get_heads())
    return heads


def readiness():
    """``(True, None)`` when ready, else ``(False, reason)``."""
    try:
        with db.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
            database_heads = frozenset(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as error:
        return False, f"database unreachable: {type(error).__name__}"
    code_heads = code_migration_heads(current_app)
    if database_heads != code_heads:
        found = ", ".join(sorted(database_heads)) or "none"
        return False, f"migrations not at head: database at {found}, code at {', '.join(sorted(code_heads))}"
    return True, None
