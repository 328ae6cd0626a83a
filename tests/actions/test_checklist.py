import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.checklist import ActionChecklistStart, ActionYesNo
from bot.care import checklist
from tests.actions.conftest import make_tracker, texts


def with_state(tracker: Tracker, state: dict | None, entities: list | None = None) -> Tracker:
    tracker.slots["checklist"] = state
    if entities:
        tracker.latest_message["entities"] = entities
    return tracker


def apply(events: list[dict], state: dict | None) -> dict | None:
    for event in events:
        if event.get("event") == "slot" and event.get("name") == "checklist":
            state = event.get("value")
    return state


async def run_start(patient=None, state=None, entities=None):
    dispatcher = CollectingDispatcher()
    tracker = with_state(make_tracker("start_checklist", patient=patient), state, entities)
    events = await ActionChecklistStart().run(dispatcher, tracker, {})
    return dispatcher, apply(events, state)


async def run_reply(intent, state, patient=None):
    dispatcher = CollectingDispatcher()
    tracker = with_state(make_tracker(intent, patient=patient), state)
    events = await ActionYesNo().run(dispatcher, tracker, {})
    return dispatcher, apply(events, state)


async def test_signed_in_telephone_patient_gets_tailored_checklist(seeded_db):
    dispatcher, state = await run_start(patient="demo-telephone")
    assert state["kind"] == "telephone" and state["items"][0] == "call_time"
    said = texts(dispatcher)
    assert "telephone appointment" in said and "(1 of 6)" in said
    payloads = [b["payload"] for m in dispatcher.messages for b in m.get("buttons") or []]
    assert {"/affirm", "/deny", "/checklist_help"} <= set(payloads)


async def test_number_item_shows_masked_number_only(seeded_db):
    _, state = await run_start(patient="demo-telephone")
    dispatcher, state = await run_reply("affirm", state, patient="demo-telephone")
    said = texts(dispatcher)
    assert "ending 0123" in said and "07700 900123" not in said
    assert checklist.current_item(state) == "number"


async def test_video_patient_sees_link_in_invite_item(seeded_db):
    _, state = await run_start(patient="demo-video")
    dispatcher, state = await run_reply("affirm", state, patient="demo-video")
    assert "https://video.example-hospital.nhs.uk/join/abc123" in texts(dispatcher)


async def test_face_to_face_patient_is_pointed_to_clinic(seeded_db):
    dispatcher, state = await run_start(patient="demo-clinic")
    assert state is None
    assert "face to face" in texts(dispatcher)


async def test_anonymous_is_asked_which_kind_then_starts(fixed_now):
    dispatcher, state = await run_start()
    assert state is None and "telephone or by video" in texts(dispatcher)
    dispatcher, state = await run_start(entities=[{"entity": "checklist_kind", "value": "video"}])
    assert state["kind"] == "video" and "invite" in state["items"]


async def test_walk_through_with_help_not_yet_and_summary(fixed_now):
    _, state = await run_start(entities=[{"entity": "checklist_kind", "value": "telephone"}])
    dispatcher, state = await run_reply("checklist_help", state)
    assert checklist.current_item(state) == "call_time"  # help does not advance
    assert texts(dispatcher) == checklist.help_for("call_time")
    _, state = await run_reply("deny", state)
    while state is not None:
        dispatcher, state = await run_reply("affirm", state)
    said = texts(dispatcher)
    assert "Still to do" in said and checklist.label_for("call_time") in said


async def test_resume_picks_up_where_left_off(fixed_now):
    _, state = await run_start(entities=[{"entity": "checklist_kind", "value": "telephone"}])
    _, state = await run_reply("affirm", state)
    dispatcher, resumed = await run_start(state=state)
    assert resumed["index"] == 1 and "pick up where we left off" in texts(dispatcher)


async def test_yes_no_without_checklist_is_small_talk(fixed_now):
    dispatcher, _ = await run_reply("affirm", None)
    assert "What would you like to know" in texts(dispatcher)
    dispatcher, _ = await run_reply("deny", None)
    assert "No problem" in texts(dispatcher)


@pytest.mark.parametrize(
    ("text", "kind"),
    [("checklist for my phone appointment", "telephone"), ("get me ready for my zoom", "video")],
)
async def test_anonymous_checklist_takes_the_kind_from_the_message(seeded_db, text, kind):
    dispatcher = CollectingDispatcher()
    events = await ActionChecklistStart().run(
        dispatcher, make_tracker("start_checklist", text=text), {}
    )
    said = " ".join(m.get("text") or "" for m in dispatcher.messages)
    assert "telephone or by video?" not in said
    assert f"your {kind} appointment" in said
    assert events[-1]["value"]["kind"] == kind


async def test_anonymous_face_to_face_checklist_has_no_call_to_prepare(seeded_db):
    dispatcher = CollectingDispatcher()
    events = await ActionChecklistStart().run(
        dispatcher, make_tracker("start_checklist", text="prep for my in person appt"), {}
    )
    assert "no call to get ready for" in dispatcher.messages[0]["text"]
    assert events == []
