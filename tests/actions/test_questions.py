from rasa_sdk.executor import CollectingDispatcher

from actions.appointments import ActionNextAppointment
from actions.questions import ActionAddQuestion, ActionListQuestions, ActionRemoveQuestion
from tests.actions.conftest import make_tracker, texts


async def say(action, text, patient=None, anon=None):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("x", text=text, patient=patient)
    tracker.slots["anon_questions"] = anon
    events = await action().run(dispatcher, tracker, {})
    slot = next((e["value"] for e in events if e.get("name") == "anon_questions"), anon)
    return dispatcher, slot


async def test_signed_in_patient_adds_lists_removes_and_is_offered_back(seeded_db):
    p = "demo-telephone"
    d, _ = await say(ActionAddQuestion, "add a question: can I go back to work?", p)
    assert '"Can I go back to work?"' in texts(d) and "1 on your list" in texts(d)
    d, _ = await say(ActionAddQuestion, "remind me to ask about my tiredness", p)
    assert "2 on your list" in texts(d)
    d, _ = await say(ActionListQuestions, "show my questions", p)
    assert "1. Can I go back to work?" in texts(d)
    printable = d.messages[-1]["custom"]
    assert printable["type"] == "printable" and len(printable["items"]) == 2
    d, _ = await say(ActionNextAppointment, "when is my appointment", p)
    assert "2 things on your list" in texts(d)
    d, _ = await say(ActionRemoveQuestion, "remove question 1", p)
    assert "Removed" in texts(d) and "1. " in texts(d)
    d, _ = await say(ActionListQuestions, "show my questions", p)
    assert "work" not in texts(d)


async def test_anonymous_list_is_kept_in_the_conversation_only(fixed_now):
    d, items = await say(ActionAddQuestion, "add: can I travel abroad?", anon=None)
    assert items == ["Can I travel abroad?"] and "isn't saved" in texts(d)
    d, items = await say(ActionRemoveQuestion, "clear my questions", anon=items)
    assert items == [] and "empty" in texts(d)


async def test_nothing_to_add_asks_what(fixed_now):
    d, items = await say(ActionAddQuestion, "add a question")
    assert "What would you like to add" in texts(d) and items is None


async def test_html_and_sql_are_stored_as_typed(seeded_db):
    p = "demo-video"
    await say(ActionAddQuestion, "add: <b>bold</b> '; DROP TABLE patients;--", p)
    d, _ = await say(ActionListQuestions, "list", p)
    assert "<b>bold</b> '; DROP TABLE patients;--" in texts(d)
