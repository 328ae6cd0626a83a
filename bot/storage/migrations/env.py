"""Alembic environment: runs the package's migrations on a given connection or URL."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from bot.config import get_settings
from bot.storage.db import make_engine
from bot.storage.models import metadata

config = context.config

# Only the `alembic` command line sets up logging from the ini file; programmatic runs
# (bot.storage.db.upgrade, tests) keep the application's logging as it is.
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    """The database URL: passed in by bot.storage.db.upgrade, else alembic.ini, else settings."""
    return (
        config.attributes.get("database_url")
        or config.get_main_option("sqlalchemy.url")
        or get_settings().database_url
    )


def _configure(**kwargs: object) -> None:
    context.configure(target_metadata=metadata, compare_type=True, **kwargs)


def run_migrations_offline() -> None:
    """Emit SQL to stdout without connecting (`alembic upgrade head --sql`)."""
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a live database, reusing the caller's connection when given one."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    try:
        with engine.begin() as conn:
            _configure(connection=conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
