"""Alembic environment for Flask-Migrate: the application's metadata, and its engine or,
when ``MIGRATION_DATABASE_URL`` is set, a connection as the tables' owner.

With an owner connection on PostgreSQL, every run ends by granting the role the app
connects as (``DATABASE_URL``) exactly what it needs (``grant_app_privileges``), in the
same transaction as the migrations.
"""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from points_service.database import grant_app_privileges

config = context.config
if config.config_file_name and not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

database = current_app.extensions["migrate"].db
owner_url = current_app.config.get("MIGRATION_DATABASE_URL")
engine = create_engine(owner_url, poolclass=NullPool) if owner_url else database.engine
config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))


def run_migrations_offline():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"), target_metadata=database.metadata, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def skip_empty_autogenerate(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    arguments = dict(current_app.extensions["migrate"].configure_args)
    arguments.setdefault("process_revision_directives", skip_empty_autogenerate)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=database.metadata, **arguments)
        with context.begin_transaction():
            context.run_migrations()
            if owner_url and connection.dialect.name == "postgresql":
                grant_app_privileges(connection, _app_role(), database.metadata)


def _app_role():
    with database.engine.connect() as connection:
        return connection.exec_driver_sql("SELECT current_user").scalar_one()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
