import pytest

from actions.appointments import (
    ActionAddToCalendar,
    ActionFollowUpStage,
    ActionNextAppointment,
    ActionNoAppointmentHeard,
)
from bot.care.wording import say
from tests.actions.conftest import make_tracker, texts

# NOW is Saturday 28 November 2026; demo appointments are placed relative to it.


async def test_telephone_patient_gets_their_own_appointment(dispatcher, seeded_db):
    tracker = make_tracker("ask_next_appointment", patient="demo-telephone")
    await ActionNextAppointment().run(dispatcher, tracker, {})
    said = texts(dispatcher)
    assert "a telephone appointment on Thursday 3 December 2026 at 10:30am (UK time)" in said
    assert "in 5 days" in said
    assert "ending 0123" in said and "07700" not in said
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert "/start_checklist" in payloads


async def test_video_patient_gets_link(dispatcher, seeded_db):
    await ActionNextAppointment().run(
        dispatcher, make_tracker("ask_next_appointment", patient="demo-video"), {}
    )
    said = texts(dispatcher)
    assert "a video appointment on Monday 7 December 2026 at 2pm" in said
    assert "https://video.example-hospital.nhs.uk/join/abc123" in said


async def test_clinic_patient_gets_location(dispatcher, seeded_db):
    await ActionNextAppointment().run(
        dispatcher, make_tracker("ask_next_appointment", patient="demo-clinic"), {}
    )
    said = texts(dispatcher)
    assert "face-to-face appointment on Thursday 10 December 2026 at 9:15am" in said
    assert "Haematology Outpatients, Level 2" in said


@pytest.mark.parametrize("portal_id", ["demo-nothing", "demo-cancelled"])
async def test_nothing_booked_names_nurse(dispatcher, seeded_db, portal_id):
    await ActionNextAppointment().run(
        dispatcher, make_tracker("ask_next_appointment", patient=portal_id), {}
    )
    said = texts(dispatcher)
    assert "can't see an upcoming appointment" in said
    assert "specialist nurse, " in said and "0113 496 01" in said


@pytest.mark.parametrize(
    ("auth", "expected"), [(None, "If you sign in"), ("rejected", "couldn't confirm your sign-in")]
)
async def test_anonymous_gets_general_answer_and_nothing_personal(
    dispatcher, seeded_db, auth, expected
):
    # Client-sent metadata claiming to be a patient is ignored: only the channel's key counts.
    tracker = make_tracker(
        "ask_next_appointment", auth=auth, client_metadata={"patient_id": "demo-telephone"}
    )
    await ActionNextAppointment().run(dispatcher, tracker, {})
    said = texts(dispatcher)
    # The general answer first, never a bare sign-in wall...
    assert said.startswith("You're usually told when your next appointment is")
    assert expected in said
    # ...and nothing from the record it claimed.
    assert "Thursday" not in said and "0113" not in said and "telephone appointment on" not in said


@pytest.mark.parametrize("auth", [None, "rejected"])
async def test_anonymous_stage_gets_the_schedule(dispatcher, seeded_db, auth):
    await ActionFollowUpStage().run(dispatcher, make_tracker("ask_follow_up_stage", auth=auth), {})
    said = texts(dispatcher)
    assert "every 3 months for the first 2 years" in said
    assert "where you are in this schedule" in said


async def test_calendar_still_needs_sign_in(dispatcher, seeded_db):
    await ActionAddToCalendar().run(dispatcher, make_tracker("add_to_calendar"), {})
    assert texts(dispatcher) == say("appointments", "sign_in")


async def test_unknown_patient_gets_no_record(dispatcher, seeded_db):
    await ActionNextAppointment().run(
        dispatcher, make_tracker("ask_next_appointment", patient="nobody"), {}
    )
    assert "couldn't find your follow-up record" in texts(dispatcher)


async def test_stage_and_overdue(dispatcher, seeded_db):
    await ActionFollowUpStage().run(
        dispatcher, make_tracker("ask_follow_up_stage", patient="demo-nothing"), {}
    )
    said = texts(dispatcher)
    assert "about 2 and a half years ago" in said
    assert "every 4 months" in said
    assert "worth contacting your specialist nurse, Tom Barraclough" in said


async def test_stage_not_overdue_when_booked(dispatcher, seeded_db):
    await ActionFollowUpStage().run(
        dispatcher, make_tracker("ask_follow_up_stage", patient="demo-telephone"), {}
    )
    said = texts(dispatcher)
    assert "8 months ago" in said and "every 3 months" in said
    assert "worth contacting" not in said


async def test_calendar_file(dispatcher, seeded_db):
    await ActionAddToCalendar().run(
        dispatcher, make_tracker("add_to_calendar", patient="demo-clinic"), {}
    )
    custom = dispatcher.messages[1]["custom"]
    assert custom["type"] == "calendar"
    assert "DTSTART:20261210T091500Z" in custom["ics"]
    assert "Morgan" not in custom["ics"]


async def test_no_appointment_heard_general_and_personal(dispatcher, seeded_db):
    await ActionNoAppointmentHeard().run(dispatcher, make_tracker("ask_no_appointment_heard"), {})
    assert "specialist nurse" in texts(dispatcher)
    personal = type(dispatcher)()
    await ActionNoAppointmentHeard().run(
        personal, make_tracker("ask_no_appointment_heard", patient="demo-nothing"), {}
    )
    assert "Tom Barraclough" in texts(personal)
