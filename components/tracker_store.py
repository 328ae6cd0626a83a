"""Rasa's SQL tracker store, pointed at the project's own DATABASE_URL.

Rasa wraps every tracker store in a `FailSafeTrackerStore`, which hides a failed save by
keeping the conversation in that process's memory, and a failed read by starting an empty
conversation: the patient is answered, but the turn never reaches the database (the fault
test lost turns that way while PostgreSQL restarted). This store marks such a failure in
`STORE_FAILED` for the request being handled; the REST channel then answers 503 so the client
retries (components/dedupe.py). On PostgreSQL, connections are checked before use, so a
database restart costs no turns once it is back.

Rasa rebuilds a conversation from its stored JSON on every turn and counts the stored events
before every save; turning the JSON back into events was the largest part of that (about
3.5 ms of a 40-event conversation, docs/performance.md). This store keeps the events of
conversations it saved recently (`KeptEvents`), and reuses them only when the database still
holds exactly what it saved: the same newest event id and the same number of events for that
conversation (one indexed aggregate query). Anything written by another process, erased or
purged changes one of the two, and the conversation is read from the database again. Every
caller still gets its own tracker object, so an unsaved change never leaks into the next turn.
"""

from __future__ import annotations

import json
import time
import weakref
from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
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


@dataclass
class KeptEvents:
    """A conversation's current-session events as this process last saved them."""

    events: list[Event]
    newest_id: int | None  # the newest stored event id of the conversation (all sessions)
    total: int  # how many events the conversation has stored (all sessions)
    kept_at: float


def session_events(events: list[Event]) -> list[Event]:
    """The events Rasa's SQL store reads back: those from the latest session start on.

    Rasa selects rows whose timestamp is at least the latest `SessionStarted` event's (or all
    rows if there is none); the same rule is applied here so both paths give the same tracker.
    """
    starts = [e.timestamp for e in events if isinstance(e, SessionStarted)]
    if not starts:
        return list(events)
    latest = max(starts)
    return [e for e in events if e.timestamp >= latest]


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
        settings = get_settings()
        self._kept: OrderedDict[str, KeptEvents] = OrderedDict()
        self._kept_max = settings.tracker_cache_size
        self._kept_seconds = settings.tracker_cache_seconds
        # The tracker handed out for each conversation and how many of its events are stored,
        # so its save needs no count query.
        self._handed: dict[str, tuple[weakref.ref, int]] = {}

    async def retrieve(self, sender_id: str) -> Any:
        """Load a conversation; a failure is marked, not hidden (see the module docstring)."""
        try:
            return self._retrieve_session(sender_id)
        except Exception:
            STORE_FAILED.set(True)
            raise

    def _stored_state(self, session: Any, sender_id: str) -> tuple[int | None, int]:
        """The conversation's newest stored event id and its number of stored events."""
        newest, total = (
            session.query(sa.func.max(self.SQLEvent.id), sa.func.count(self.SQLEvent.id))
            .filter(self.SQLEvent.sender_id == sender_id)
            .one()
        )
        return newest, int(total or 0)

    def _retrieve_session(self, sender_id: str) -> DialogueStateTracker | None:
        kept = self._take_kept(sender_id)
        with self.session_scope() as session:
            unchanged = kept is not None and self.domain
            if unchanged and self._stored_state(session, sender_id) == (kept.newest_id, kept.total):
                tracker = DialogueStateTracker.from_events(
                    sender_id, kept.events, self.domain.slots
                )
                self._hand_out(tracker, len(kept.events))
                self._keep(sender_id, kept)
                return tracker
            # The key is read before the rows: a write landing in between then makes the key
            # older than the kept events, so the next turn reads afresh instead of reusing them.
            newest, total = self._stored_state(session, sender_id)
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False).all()
        if not self.domain or not rows:
            return None
        tracker = DialogueStateTracker.from_dict(
            sender_id, [json.loads(row.data) for row in rows], self.domain.slots
        )
        self._hand_out(tracker, len(rows))
        self._keep(sender_id, KeptEvents(list(tracker.events), newest, total, time.monotonic()))
        return tracker

    async def retrieve_full_tracker(self, sender_id: str) -> Any:
        """Load a conversation with all its sessions; a failure is marked."""
        try:
            return await super().retrieve_full_tracker(sender_id)
        except Exception:
            STORE_FAILED.set(True)
            raise

    async def save(self, tracker: Any) -> None:
        """Save a conversation's new events; a failure is marked."""
        try:
            await self.stream_events(tracker)
            self._save_new_events(tracker)
        except Exception:
            self._kept.pop(tracker.sender_id, None)
            STORE_FAILED.set(True)
            raise

    def _save_new_events(self, tracker: DialogueStateTracker) -> None:
        sender_id = tracker.sender_id
        handed = self._handed.get(sender_id)
        stored = handed[1] if handed is not None and handed[0]() is tracker else None
        events = list(tracker.events)
        with self.session_scope() as session:
            if stored is None:
                # Not a tracker this store handed out: count what is stored, as Rasa does.
                stored = self._event_query(
                    session, sender_id, fetch_events_from_all_sessions=False
                ).count()
            # As on reading: the key comes from what was stored before plus this save's own
            # rows, so another process's write in between can only make it not match.
            newest, total = self._stored_state(session, sender_id)
            added = []
            for event in events[stored:]:
                data = event.as_dict()
                added.append(
                    self.SQLEvent(
                        sender_id=sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=data.get("parse_data", {}).get("intent", {}).get("name"),
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.add_all(added)
            session.flush()
            if added:
                newest, total = added[-1].id, total + len(added)
            session.commit()
        self._hand_out(tracker, len(events))
        self._keep(sender_id, KeptEvents(session_events(events), newest, total, time.monotonic()))

    def _hand_out(self, tracker: DialogueStateTracker, stored: int) -> None:
        self._handed[tracker.sender_id] = (weakref.ref(tracker), stored)
        if len(self._handed) > 2 * max(self._kept_max, 1):
            # Drop the entries whose trackers are gone (finished turns).
            for key in [k for k, (ref, _) in self._handed.items() if ref() is None]:
                del self._handed[key]

    def _take_kept(self, sender_id: str) -> KeptEvents | None:
        kept = self._kept.pop(sender_id, None)
        if kept is None or time.monotonic() - kept.kept_at > self._kept_seconds:
            return None
        return kept

    def _keep(self, sender_id: str, kept: KeptEvents) -> None:
        if self._kept_max <= 0:
            return
        self._kept[sender_id] = kept
        self._kept.move_to_end(sender_id)
        while len(self._kept) > self._kept_max:
            self._kept.popitem(last=False)
