"""Rasa's SQL tracker store, pointed at the project's own DATABASE_URL."""

from __future__ import annotations

from typing import Any

from rasa.core.tracker_store import SQLTrackerStore

from bot.config import get_settings
from bot.db import make_engine


class SettingsSQLTrackerStore(SQLTrackerStore):
    """Conversations in the same database as the patient records (SQLite file or PostgreSQL)."""

    def __init__(self, domain: Any = None, event_broker: Any = None, **kwargs: Any) -> None:
        """Connect using the settings' database URL (a full URL passes through Rasa as host)."""
        kwargs.pop("host", None)
        kwargs.pop("type", None)
        url = get_settings().database_url
        make_engine(url).dispose()  # creates a SQLite file's folder; connects to nothing
        super().__init__(domain, host=url, event_broker=event_broker, **kwargs)
