"""Rasa's SQL tracker store, pointed at the project's own DATABASE_URL."""

from __future__ import annotations

from typing import Any

from rasa.core.tracker_store import SQLTrackerStore

from bot.config import get_settings
from bot.db import prepare_url


class SettingsSQLTrackerStore(SQLTrackerStore):
    """Conversations in the same database as the patient records (SQLite file or PostgreSQL)."""

    def __init__(self, domain: Any = None, event_broker: Any = None, **kwargs: Any) -> None:
        """Connect using the settings' database URL (a full URL passes through Rasa as host)."""
        kwargs.pop("host", None)
        kwargs.pop("type", None)
        url = prepare_url(get_settings().database_url)
        super().__init__(domain, host=url, event_broker=event_broker, **kwargs)
