from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text

from components.tracker_store import SettingsSQLTrackerStore


async def test_conversations_persist_in_the_configured_database(db_url, env_settings) -> None:
    env_settings(DATABASE_URL=db_url)
    store = SettingsSQLTrackerStore(Domain.empty())
    tracker = DialogueStateTracker.from_events("conv-1", [UserUttered("hello")])
    await store.save(tracker)
    # A second store on the same URL (a restarted server) sees the conversation.
    again = await SettingsSQLTrackerStore(Domain.empty()).retrieve("conv-1")
    assert again is not None and again.latest_message.text == "hello"
    if db_url.startswith("sqlite"):
        with store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
