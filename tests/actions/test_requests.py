from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import create_engine, text

from actions.requests import (
    ActionRequestCallback,
    ActionRequestFaceToFace,
    ActionTalkToPerson,
    ActionUpdatePhone,
)
from bot.care import wording
from tests.actions.conftest import make_tracker, texts


async def say(action, message, patient=None, state=None):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("x", text=message, patient=patient)
    tracker.slots["checklist"] = state
    events = await action().run(dispatcher, tracker, {})
    return dispatcher, events


def count(url: str, table: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(text(f"select count(*) from {table}")).scalar()
    engine.dispose()
    return value


async def test_face_to_face_request_recorded_once_with_reason(seeded_db):
    d, _ = await say(
        ActionRequestFaceToFace, "I'd rather come in because I hate the phone", "demo-telephone"
    )
    assert "passed on your request" in texts(d) and "can't be guaranteed" in texts(d)
    d, _ = await say(ActionRequestFaceToFace, "can I come in instead", "demo-telephone")
    assert "already asked" in texts(d)
    assert count(seeded_db, "face_to_face_requests") == 1


async def test_face_to_face_when_already_face_to_face(seeded_db):
    d, _ = await say(ActionRequestFaceToFace, "can I come in", "demo-clinic")
    assert "already face to face" in texts(d)
    assert count(seeded_db, "face_to_face_requests") == 0


async def test_anonymous_requests_get_how_to_ask_and_record_nothing(seeded_db):
    d, _ = await say(ActionRequestFaceToFace, "can I come in")
    said = texts(d)
    assert "you can ask for a face-to-face one instead" in said
    assert "0808 800 40 40" in said
    assert "pass your request for a face-to-face appointment to your team" in said
    assert count(seeded_db, "face_to_face_requests") == 0
    d, _ = await say(ActionUpdatePhone, "07700 900999")
    assert "right number to call you on" in texts(d)
    assert "pass your new number to your team" in texts(d)
    assert wording.say("appointments", "sign_in") not in texts(d)


async def test_number_correction_pending_never_overwrites(seeded_db):
    d, _ = await say(ActionUpdatePhone, "my number has changed", "demo-telephone")
    assert "What number" in texts(d)
    d, _ = await say(ActionUpdatePhone, "07700 900999", "demo-telephone")
    assert "ending 0999" in texts(d) and "07700 900999" not in texts(d)
    d, _ = await say(ActionUpdatePhone, "it's 07700900999", "demo-telephone")
    assert "already has" in texts(d)
    assert count(seeded_db, "number_corrections") == 1
    engine = create_engine(seeded_db)
    with engine.connect() as conn:
        phone = conn.execute(text("select phone from patients where portal_id='demo-telephone'"))
        assert phone.scalar() == "07700 900123"  # the record itself is untouched
    engine.dispose()


async def test_number_correction_ticks_the_checklist_item(seeded_db):
    state = {
        "kind": "telephone",
        "items": ["call_time", "number", "quiet"],
        "index": 1,
        "answers": {"call_time": "done"},
        "appointment_id": None,
    }
    _, events = await say(ActionUpdatePhone, "07700 900999", "demo-telephone", state)
    new_state = next(e["value"] for e in events if e.get("name") == "checklist")
    assert new_state["answers"]["number"] == "done" and new_state["index"] == 2


def with_entities(tracker, **entities):
    tracker.latest_message["entities"] = [{"entity": k, "value": v} for k, v in entities.items()]
    return tracker


async def run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = await action().run(dispatcher, tracker, {})
    return dispatcher, events


async def test_talk_to_person_anonymous_gets_the_helpline_without_a_sign_in_wall(seeded_db):
    d, _ = await run(ActionTalkToPerson, make_tracker("talk_to_person", "i want a human"))
    text = texts(d)
    assert "0808 800 40 40" in text and "hospital team" in text and "999" in text
    assert wording.say("appointments", "sign_in") not in text
    assert d.messages[0]["buttons"] == []


async def test_talk_to_person_signed_in_offers_a_callback_on_the_number_on_record(seeded_db):
    d, _ = await run(
        ActionTalkToPerson, make_tracker("talk_to_person", "can a nurse call me", "demo-telephone")
    )
    assert "call you back on the number ending 0123" in texts(d)
    payloads = [b["payload"] for b in d.messages[0]["buttons"]]
    assert '/request_callback{"callback_window":"morning"}' in payloads


async def test_callback_is_filed_once_and_the_team_is_emailed(seeded_db, mailbox, env_settings):
    env_settings(**mailbox.env())
    tracker = with_entities(
        make_tracker("request_callback", "", "demo-telephone"), callback_window="afternoon"
    )
    d, _ = await run(ActionRequestCallback, tracker)
    assert "ending 0123" in texts(d) and "afternoon" in texts(d) and "cb-1" in texts(d)
    # Saturday noon (the fixed clock): out of hours, so it says when the team will see it.
    assert "office is closed now" in texts(d)
    [message] = mailbox.wait_for(1)
    assert message["Subject"] == "New patient request cb-1"
    assert "0123" not in message.get_content() and "demo-telephone" not in message.get_content()
    d, _ = await run(ActionRequestCallback, make_tracker("x", "mornings please", "demo-telephone"))
    assert "already asked" in texts(d)
    assert count(seeded_db, "callback_requests") == 1
    assert len(mailbox.wait_for(2, timeout=1)) == 1


async def test_callback_without_a_window_asks_for_one(seeded_db):
    d, _ = await run(ActionRequestCallback, make_tracker("x", "call me back", "demo-video"))
    assert "Choose a time" in texts(d)
    assert count(seeded_db, "callback_requests") == 0


async def test_callback_anonymous_gets_the_helpline(seeded_db):
    d, _ = await run(ActionRequestCallback, make_tracker("x", "morning"))
    assert "0808 800 40 40" in texts(d)
    assert count(seeded_db, "callback_requests") == 0


async def test_face_to_face_and_number_requests_are_emailed(seeded_db, mailbox, env_settings):
    env_settings(**mailbox.env())
    await say(ActionRequestFaceToFace, "can I come in because of my hearing", "demo-telephone")
    await say(ActionUpdatePhone, "07700 900999", "demo-telephone")
    subjects = [m["Subject"] for m in mailbox.wait_for(2)]
    assert subjects == ["New patient request f2f-1", "New patient request phone-1"]
    for message in mailbox.messages:
        assert "hearing" not in message.get_content() and "0999" not in message.get_content()


async def test_a_failed_email_never_loses_the_request(seeded_db, env_settings, caplog):
    from tests.e2e.servers import free_port

    env_settings(smtp_host="127.0.0.1", smtp_port=str(free_port()), smtp_timeout_seconds="2")
    tracker = with_entities(make_tracker("x", "", "demo-video"), callback_window="morning")
    d, _ = await run(ActionRequestCallback, tracker)
    assert "cb-1" in texts(d)
    assert count(seeded_db, "callback_requests") == 1
    assert "cb-1 saved but its email failed" in caplog.text
