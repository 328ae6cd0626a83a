import pytest

from actions.safety import ActionSafety
from bot.care.wording import say
from tests.actions.conftest import make_tracker, texts


def safety(category, classifier_intent="ask_face_to_face", someone_else=False):
    return {
        "category": category,
        "signals": ["fever"],
        "about_someone_else": someone_else,
        "classifier_intent": classifier_intent,
    }


async def test_urgent_anonymous_gets_generic_line_and_999(dispatcher, fixed_now):
    await ActionSafety().run(
        dispatcher, make_tracker("urgent_symptom", safety=safety("urgent")), {}
    )
    said = texts(dispatcher)
    assert say("safety_replies", "call_generic") in said
    assert "999" in said and "A&E" in said
    assert "don't wait for your next appointment" in said
    payloads = [b["payload"] for m in dispatcher.messages for b in m.get("buttons") or []]
    assert "/ask_face_to_face" in payloads


async def test_urgent_signed_in_gets_their_hospital_line(dispatcher, seeded_db):
    tracker = make_tracker("urgent_symptom", patient="demo-clinic", safety=safety("urgent"))
    await ActionSafety().run(dispatcher, tracker, {})
    assert "St Example's Hospital's 24-hour advice line on 0113 496 0000" in texts(dispatcher)


async def test_urgent_about_someone_else(dispatcher, fixed_now):
    tracker = make_tracker("urgent_symptom", safety=safety("urgent", someone_else=True))
    await ActionSafety().run(dispatcher, tracker, {})
    assert "about them" in texts(dispatcher)


async def test_crisis_gives_samaritans_and_999(dispatcher, fixed_now):
    tracker = make_tracker("crisis", safety=safety("crisis", classifier_intent="crisis"))
    await ActionSafety().run(dispatcher, tracker, {})
    said = texts(dispatcher)
    assert "116 123" in said and "999" in said and "hospital team" in said
    payloads = [b["payload"] for m in dispatcher.messages for b in m.get("buttons") or []]
    assert "/crisis" not in payloads


async def test_safety_answer_survives_a_database_outage(dispatcher, env_settings, fixed_now):
    from actions import common

    env_settings(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    common._sessions.cache_clear()
    tracker = make_tracker("urgent_symptom", patient="demo-clinic", safety=safety("urgent"))
    await ActionSafety().run(dispatcher, tracker, {})
    common._sessions.cache_clear()
    assert say("safety_replies", "call_generic") in texts(dispatcher)


@pytest.mark.parametrize(
    ("intent", "tier", "expected"),
    [
        ("urgent_symptom", "team_soon", "today or on the next working day"),
        ("urgent_symptom", "act_now", "call 999 or go to A&E"),
        ("symptom_info", None, "isn't happening right now"),
        ("crisis", "crisis", "116 123"),
    ],
)
async def test_each_tier_has_its_own_answer(dispatcher, fixed_now, intent, tier, expected):
    await ActionSafety().run(
        dispatcher, make_tracker(intent, safety={"tier": tier, "about_someone_else": False}), {}
    )
    said = texts(dispatcher)
    assert expected in said
    # Every symptom answer names whom to call.
    assert "999" in said


async def test_crisis_words_with_bleeding_also_get_the_act_now_line(dispatcher, fixed_now):
    both = {**safety("crisis", classifier_intent="crisis"), "tier": "crisis", "also": "act_now"}
    await ActionSafety().run(dispatcher, make_tracker("crisis", safety=both), {})
    said = [m.get("text") or "" for m in dispatcher.messages]
    assert "116 123" in said[0]
    assert any("physically unwell" in s and "999" in s for s in said[1:])


async def test_a_fever_near_crisis_words_also_gets_the_samaritans_line(dispatcher, fixed_now):
    both = {**safety("urgent"), "tier": "act_now", "also": "crisis"}
    await ActionSafety().run(dispatcher, make_tracker("urgent_symptom", safety=both), {})
    said = [m.get("text") or "" for m in dispatcher.messages]
    assert "urgent medical attention" in said[0] and "116 123" not in said[0]
    assert any("116 123" in s for s in said[1:])
