"""Rasa's SQL tracker store, pointed at the project's own DATABASE_URL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

from bot.config import get_settings
from bot.storage.db import make_engine


def _sqlite_engine(url: str) -> sa.engine.Engine:
    """A pooled SQLite engine in WAL mode.

    SQLAlchemy 1.4 opens a new SQLite connection for every session; Rasa loads and saves
    the conversation on every message, so pooling, write-ahead logging and NORMAL sync
    (still crash-safe in WAL mode) cut its cost (docs/performance.md). WAL also lets the
    action server read patient records while Rasa writes.
    """
    engine = sa.create_engine(url, poolclass=QueuePool, pool_size=5, max_overflow=10)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


class SettingsSQLTrackerStore(SQLTrackerStore):
    """Conversations in the same database as the patient records (SQLite file or PostgreSQL)."""

    def __init__(self, domain: Any = None, event_broker: Any = None, **kwargs: Any) -> None:
        """Connect using the settings' database URL (a full URL passes through Rasa as host)."""
        kwargs.pop("host", None)
        kwargs.pop("type", None)
        url = get_settings().database_url
        make_engine(url).dispose()  # creates a SQLite file's folder; connects to nothing
        super().__init__(domain, host=url, event_broker=event_broker, **kwargs)
        if make_url(url).get_backend_name() == "sqlite":
            self.engine.dispose()
            self.engine = _sqlite_engine(url)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
