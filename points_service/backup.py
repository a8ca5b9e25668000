"""Backups of the database while the service runs.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent
snapshot page by page while other connections keep writing; the copy is an ordinary
database file. PostgreSQL: ``pg_dump --format=custom`` (a consistent snapshot too), restored
with ``pg_restore``. Both refuse to overwrite an existing file.
"""

import os
import shutil
import sqlite3
import subprocess

from flask_babel import lazy_gettext as _l
from sqlalchemy import make_url

from .errors import Conflict, PointsError
from .extensions import db


class BackupFailed(PointsError):
    status = 500
    code = "backup_failed"
    default_message = _l("The backup failed.")


def back_up_database(path):
    """Write a backup of the app's database to ``path`` (a new file); returns the dialect used."""
    if os.path.exists(path):
        raise Conflict(_l("%(path)s exists already; a backup never overwrites a file.", path=path))
    if db.engine.dialect.name == "sqlite":
        _back_up_sqlite(path)
    else:
        _back_up_postgresql(db.engine.url, path)
    return db.engine.dialect.name


def _back_up_sqlite(path):
    source = db.engine.raw_connection()
    target = sqlite3.connect(path)
    try:
        source.driver_connection.backup(target)
    finally:
        target.close()
        source.close()


def libpq_arguments(url):
    """``(connection URI without password, environment with PGPASSWORD)`` for the PostgreSQL
    client programs: the password stays out of the process list."""
    url = make_url(url)
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = url.password
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), environment


def _back_up_postgresql(url, path):
    program = shutil.which("pg_dump")
    if program is None:
        raise BackupFailed(
            _l("pg_dump was not found: install the PostgreSQL client (apt-get install postgresql-client).")
        )
    uri, environment = libpq_arguments(url)
    # The arguments are this deployment's own settings and the operator's path, never request data.
    result = subprocess.run(  # noqa: S603
        [program, "--format=custom", "--no-owner", "--file", path, "--dbname", uri],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        if os.path.exists(path):
            os.remove(path)
        raise BackupFailed(_l("pg_dump failed: %(reason)s", reason=result.stderr.strip()))
