from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text

from components.tracker_store import SettingsSQLTrackerStore

DOMAIN = Domain.from_dict({"slots": {"kind": {"type": "text", "mappings": [{"type": "custom"}]}}})


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


def rows(store: SettingsSQLTrackerStore, sender: str) -> list[str]:
    with store.engine.connect() as conn:
        result = conn.execute(
            text("SELECT type_name FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender}
        )
        return [row[0] for row in result]


async def turn(store: SettingsSQLTrackerStore, sender: str, words: str) -> DialogueStateTracker:
    """What Rasa does each turn: retrieve (or create), add events, save."""
    tracker = await store.get_or_create_tracker(sender)
    tracker.update(UserUttered(words))
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)
    return tracker


async def test_each_event_is_stored_once_and_reads_back_the_same(db_url, env_settings) -> None:
    env_settings(DATABASE_URL=db_url)
    store = SettingsSQLTrackerStore(DOMAIN)
    for words in ("one", "two", "three"):
        tracker = await turn(store, "c", words)
    tracker.update(SlotSet("kind", "video"))
    await store.save(tracker)
    await store.save(tracker)  # the same object saved twice adds nothing the second time
    assert rows(store, "c").count("user") == 3
    assert len(rows(store, "c")) == len(tracker.events)
    kept = await store.retrieve("c")
    fresh = await SettingsSQLTrackerStore(DOMAIN).retrieve("c")  # straight from the database
    assert kept is not tracker
    assert kept.current_state() == fresh.current_state()
    assert [e.as_dict() for e in kept.events] == [e.as_dict() for e in fresh.events]
    assert kept.get_slot("kind") == "video"


async def test_an_unsaved_change_never_reaches_the_next_turn(db_url, env_settings) -> None:
    env_settings(DATABASE_URL=db_url)
    store = SettingsSQLTrackerStore(DOMAIN)
    await turn(store, "c", "hello")
    abandoned = await store.retrieve("c")
    abandoned.update(UserUttered("never saved"))
    again = await store.retrieve("c")
    assert again.latest_message.text == "hello"


async def test_another_process_writing_is_seen(db_url, env_settings) -> None:
    env_settings(DATABASE_URL=db_url)
    mine, other = SettingsSQLTrackerStore(DOMAIN), SettingsSQLTrackerStore(DOMAIN)
    await turn(mine, "c", "to the first server")
    await turn(other, "c", "to the second server")
    tracker = await mine.retrieve("c")
    assert tracker.latest_message.text == "to the second server"
    await turn(mine, "c", "back to the first")
    assert rows(mine, "c").count("user") == 3


async def test_erased_and_purged_events_are_not_served_from_memory(db_url, env_settings) -> None:
    env_settings(DATABASE_URL=db_url)
    store = SettingsSQLTrackerStore(DOMAIN)
    for words in ("old", "newer"):
        await turn(store, "c", words)
    with store.engine.begin() as conn:  # what `bot purge` does to old rows
        conn.execute(
            text("DELETE FROM events WHERE id = (SELECT min(id) FROM events WHERE sender_id = 'c')")
        )
    tracker = await store.retrieve("c")
    assert len(tracker.events) == len(rows(store, "c"))
    with store.engine.begin() as conn:  # what `bot erase` does
        conn.execute(text("DELETE FROM events WHERE sender_id = 'c'"))
    assert await store.retrieve("c") is None


async def test_a_new_session_reads_back_as_rasa_reads_it(db_url, env_settings) -> None:
    env_settings(DATABASE_URL=db_url)
    store = SettingsSQLTrackerStore(DOMAIN)
    tracker = await turn(store, "c", "first session")
    for event in (ActionExecuted("action_session_start"), SessionStarted()):
        tracker.update(event)
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered("second session"))
    await store.save(tracker)
    kept = await store.retrieve("c")
    fresh = await SettingsSQLTrackerStore(DOMAIN).retrieve("c")
    assert [e.as_dict() for e in kept.events] == [e.as_dict() for e in fresh.events]
    assert kept.latest_message.text == "second session"
    await turn(store, "c", "third")
    assert rows(store, "c").count("user") == 3


async def test_keeping_can_be_switched_off(db_url, env_settings) -> None:
    env_settings(DATABASE_URL=db_url, TRACKER_CACHE_SIZE="0")
    store = SettingsSQLTrackerStore(DOMAIN)
    await turn(store, "c", "hello")
    await turn(store, "c", "again")
    assert rows(store, "c").count("user") == 2
    assert not store._kept
