"""Rasa's SQL tracker store, pointed at the project's own DATABASE_URL.

Rasa wraps every tracker store in a `FailSafeTrackerStore`, which hides a failed save by
keeping the conversation in that process's memory, and a failed read by starting an empty
conversation: the patient is answered, but the turn never reaches the database (the fault
test lost turns that way while PostgreSQL restarted). This store marks such a failure in
`STORE_FAILED` for the request being handled; the REST channel then answers 503 so the client
retries (components/dedupe.py). On PostgreSQL, connections are checked before use, so a
database restart costs no turns once it is back.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

from bot.config import get_settings
from bot.storage.db import make_engine

STORE_FAILED: ContextVar[bool] = ContextVar("tracker_store_failed", default=False)
"""Set when reading or saving a conversation failed while handling the current request."""


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
        else:
            # A pooled connection that died with a database restart is replaced, not used.
            engine_url = self.engine.url
            self.engine.dispose()
            self.engine = sa.create_engine(
                engine_url,
                pool_pre_ping=True,
                hide_parameters=True,
                **create_engine_kwargs(engine_url),
            )
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def retrieve(self, sender_id: str) -> Any:
        """Load a conversation; a failure is marked, not hidden (see the module docstring)."""
        try:
            return await super().retrieve(sender_id)
        except Exception:
            STORE_FAILED.set(True)
            raise

    async def retrieve_full_tracker(self, sender_id: str) -> Any:
        """Load a conversation with all its sessions; a failure is marked."""
        try:
            return await super().retrieve_full_tracker(sender_id)
        except Exception:
            STORE_FAILED.set(True)
            raise

    async def save(self, tracker: Any) -> None:
        """Save a conversation; a failure is marked."""
        try:
            await super().save(tracker)
        except Exception:
            STORE_FAILED.set(True)
            raise
