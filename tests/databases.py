"""Empty databases beside the test database, for tests that build one from nothing."""

import uuid
from contextlib import contextmanager

from sqlalchemy import create_engine, make_url

from tests.conftest import ON_POSTGRESQL, TEST_DATABASE_URL


@contextmanager
def empty_database(tmp_path, stem):
    """The URL of a new, empty database: a file under ``tmp_path`` on SQLite, or a new
    PostgreSQL database on the test server, dropped at the end."""
    if not ON_POSTGRESQL:
        yield f"sqlite:///{tmp_path / f'{stem}.sqlite3'}"
        return
    name = f"points_{stem}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(TEST_DATABASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
