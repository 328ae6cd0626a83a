import pytest

from actions.content import CONTENT_TOPICS, TOPIC_ACTIONS
from bot import clock
from bot.care.content import load_library
from tests.actions.conftest import make_tracker, texts


@pytest.mark.parametrize("topic", CONTENT_TOPICS)
async def test_each_topic_sends_its_reviewed_answer_with_source(topic, dispatcher, fixed_now):
    action = TOPIC_ACTIONS[topic]()
    assert action.name() == f"action_answer_{topic}"
    events = await action.run(dispatcher, make_tracker(f"ask_{topic}"), {})
    assert events == []
    said = texts(dispatcher)
    assert load_library().get(topic).text in said
    assert "Source: Cancer Research UK, reviewed January 2025." in said
    assert "due for review" not in said


async def test_review_note_after_next_review_date(dispatcher, monkeypatch):
    from datetime import datetime, timezone

    monkeypatch.setattr(clock, "now", lambda: datetime(2028, 2, 1, tzinfo=timezone.utc))
    await TOPIC_ACTIONS["how_often"]().run(dispatcher, make_tracker("ask_how_often"), {})
    assert "due for review on 17 January 2028" in texts(dispatcher)


async def test_buttons_are_sent(dispatcher, fixed_now):
    await TOPIC_ACTIONS["how_often"]().run(dispatcher, make_tracker("ask_how_often"), {})
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert "/ask_next_appointment" in payloads
