import pytest
import yaml

from actions.content import CONTENT_TOPICS, CONVERSATION_ACTIONS, CONVERSATION_KEYS, TOPIC_ACTIONS
from bot import clock
from bot.care.content import load_library
from bot.care.wording import buttons, load_wording, say
from bot.config import PROJECT_ROOT
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


@pytest.mark.parametrize("key", CONVERSATION_KEYS)
async def test_each_conversational_reply_is_sent_from_content(key, dispatcher):
    action = CONVERSATION_ACTIONS[key]()
    assert action.name() == f"action_{key}"
    assert await action.run(dispatcher, make_tracker(key), {}) == []
    [message] = dispatcher.messages
    assert message["text"].startswith(say("conversation", key))
    assert [(b["title"], b["payload"]) for b in message["buttons"]] == list(
        buttons("conversation", key)
    )


def test_every_conversational_reply_has_its_action_and_rule():
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
    rules = yaml.safe_load((PROJECT_ROOT / "data" / "rules.yml").read_text())["rules"]
    pairs = {(r["steps"][0].get("intent"), r["steps"][1].get("action")) for r in rules}
    intents = {"capabilities": "ask_capabilities", "medical_advice": "ask_medical_advice"}
    # "worried" is not a reply of its own: it follows every decline.
    assert set(CONVERSATION_KEYS) | {"worried"} == set(load_wording("conversation").entries)
    assert "responses" not in domain
    for key in CONVERSATION_KEYS:
        assert f"action_{key}" in domain["actions"]
        assert (intents.get(key, key), f"action_{key}") in pairs


async def test_greeting_and_limits_keep_their_words(dispatcher):
    await CONVERSATION_ACTIONS["medical_advice"]().run(dispatcher, make_tracker("x"), {})
    await CONVERSATION_ACTIONS["out_of_scope"]().run(dispatcher, make_tracker("x"), {})
    said = texts(dispatcher)
    assert "can't give medical advice" in said and "0808 800 40 40" in said
    assert "can't help with that" in said


async def test_a_decline_still_says_whom_to_call_about_a_symptom(dispatcher, seeded_db):
    await CONVERSATION_ACTIONS["out_of_scope"]().run(dispatcher, make_tracker("x"), {})
    said = texts(dispatcher)
    assert "can't help with that" in said and "24-hour number your hospital team" in said
    assert "999" in said
    signed_in = make_tracker("out_of_scope", patient="demo-clinic")
    await CONVERSATION_ACTIONS["out_of_scope"]().run(dispatcher, signed_in, {})
    assert "0113 496 0000" in texts(dispatcher)
