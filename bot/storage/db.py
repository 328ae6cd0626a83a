"""Engines, sessions and migrations for the patient-records database (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.config import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _url(url: str | None) -> str:
    return url or get_settings().database_url


def _prepare_sqlite_file(database: str | None) -> None:
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling breaks SAVEPOINT (used for all-or-nothing
        # imports); take it over as SQLAlchemy's documentation recommends.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # SQLite ignores foreign keys unless asked, per connection.
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")


def make_engine(url: str | None = None) -> Engine:
    """Build an engine for `url` (default: settings.database_url); nothing connects yet."""
    url = _url(url)
    parsed = make_url(url)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite:
        _prepare_sqlite_file(parsed.database)
    # hide_parameters keeps patient data (names, numbers) out of error messages and logs.
    kwargs: dict[str, Any] = {"future": True, "hide_parameters": True}
    if not is_sqlite:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if is_sqlite:
        _configure_sqlite(engine)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker:
    """Return a session factory bound to `engine` (objects stay usable after commit)."""
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker) -> Iterator[Session]:
    """Yield a session that commits on success, rolls back on error and always closes."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | None = None) -> Any:
    """Return an Alembic Config for the package's migrations, independent of alembic.ini."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Passed as an attribute, not a main option: configparser would choke on '%' in URLs.
    cfg.attributes["database_url"] = _url(url)
    return cfg


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Run the Alembic migrations on `url` (default: settings.database_url) up to `revision`."""
    from alembic import command

    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            cfg = alembic_config(url)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()
