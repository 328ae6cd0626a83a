"""Fixtures for action tests: real Trackers, a collecting dispatcher, a seeded database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import common
from bot import clock
from bot.identity.claims import CLAIM_KEY, sign_claim
from bot.identity.tokens import AUTH_KEY, VERIFIED_PATIENT_KEY
from bot.storage.db import make_engine, make_session_factory, session_scope, upgrade
from bot.storage.demo import seed_demo

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)  # a Saturday


def make_tracker(
    intent: str,
    text: str = "",
    patient: str | None = None,
    auth: str | None = None,
    safety: dict[str, Any] | None = None,
    client_metadata: dict[str, Any] | None = None,
    sender_id: str = "test",
    message_id: str = "m-test",
) -> Tracker:
    """A tracker whose latest message carries what the identity channel would set.

    That includes the channel's signed identity claim for this conversation and message.
    """
    metadata = dict(client_metadata or {})
    metadata.update(
        {
            VERIFIED_PATIENT_KEY: patient,
            AUTH_KEY: auth or ("verified" if patient else "anonymous"),
            CLAIM_KEY: sign_claim(sender_id, patient, message_id),
        }
    )
    latest = {
        "intent": {"name": intent, "confidence": 1.0},
        "entities": [],
        "text": text,
        "metadata": metadata,
        "message_id": message_id,
    }
    if safety is not None:
        latest["safety"] = safety
    return Tracker(
        sender_id=sender_id,
        slots={},
        latest_message=latest,
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    """Collects what an action says."""
    return CollectingDispatcher()


@pytest.fixture
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Fix the clock (default: Saturday 28 November 2026, noon UTC)."""

    def set_now(moment: datetime = NOW) -> None:
        monkeypatch.setattr(clock, "now", lambda: moment)

    set_now()
    return set_now


@pytest.fixture
def seeded_db(db_url: str, env_settings: Callable[..., None], fixed_now: Any) -> Iterator[str]:
    """A migrated database with the five demo patients, used by the actions' own sessions."""
    env_settings(DATABASE_URL=db_url)
    common._sessions.cache_clear()
    upgrade(db_url)
    engine = make_engine(db_url)
    with session_scope(make_session_factory(engine)) as session:
        seed_demo(session, NOW)
    engine.dispose()
    yield db_url
    common._sessions.cache_clear()


def texts(dispatcher: CollectingDispatcher) -> str:
    """Everything the action said, as one string."""
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)
