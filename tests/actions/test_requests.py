from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import create_engine, text

from actions.requests import ActionRequestFaceToFace, ActionUpdatePhone
from bot.care.appointments import SIGN_IN
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
    assert SIGN_IN not in texts(d)


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
