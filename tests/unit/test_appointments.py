from datetime import date, datetime, timedelta, timezone

import pytest

from bot.care.appointments import (
    calendar_file,
    calendar_reply,
    next_appointment_reply,
    no_appointment_heard_reply,
    sign_in_reply,
    stage_reply,
)
from bot.care.wording import say
from bot.storage.records import AppointmentView, PatientView

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
SIGN_IN = say("appointments", "sign_in")
SIGN_IN_AGAIN = say("appointments", "sign_in_again")


def patient(**overrides: object) -> PatientView:
    fields = {
        "portal_id": "p1",
        "given_name": "Alex",
        "phone_masked": "ending 0123",
        "nurse_name": "Nurse Jo Bloggs",
        "nurse_phone": "0113 496 0001",
        "hospital_name": "St Example's Hospital",
        "hospital_advice_line": "0113 496 0000",
        "treatment_end_date": date(2024, 5, 1),
    }
    fields.update(overrides)
    return PatientView(**fields)  # type: ignore[arg-type]


def appointment(kind: str, **overrides: object) -> AppointmentView:
    fields = {
        "id": 7,
        "start": datetime(2026, 12, 3, 10, 30, tzinfo=timezone.utc),
        "end": None,
        "kind": kind,
        "clinician": "Dr Priya Shah",
        "location": None,
        "video_link": None,
    }
    fields.update(overrides)
    return AppointmentView(**fields)  # type: ignore[arg-type]


def test_telephone_appointment_in_uk_format_with_masked_number_and_checklist() -> None:
    reply = next_appointment_reply(patient(), appointment("telephone"), NOW)
    assert "a telephone appointment on Thursday 3 December 2026 at 10:30am (UK time)" in reply.text
    assert "in 5 days" in reply.text
    assert "Dr Priya Shah" in reply.text
    assert "ending 0123" in reply.text
    assert ("Get ready for the call", "/start_checklist") in reply.buttons


def test_video_appointment_shows_link_or_says_none() -> None:
    link = "https://video.example-hospital.nhs.uk/join/abc123"
    with_link = next_appointment_reply(patient(), appointment("video", video_link=link), NOW)
    assert link in with_link.text
    without = next_appointment_reply(patient(), appointment("video"), NOW)
    assert "can't see a video link" in without.text


def test_face_to_face_offers_what_happens_at_clinic() -> None:
    reply = next_appointment_reply(
        patient(), appointment("face_to_face", location="Haematology Outpatients"), NOW
    )
    assert "a face-to-face appointment" in reply.text
    assert "Haematology Outpatients" in reply.text
    assert ("What happens at clinic", "/ask_face_to_face") in reply.buttons


def test_summer_appointment_shown_in_bst() -> None:
    summer = appointment("telephone", start=datetime(2027, 7, 1, 9, 0, tzinfo=timezone.utc))
    assert "Thursday 1 July 2027 at 10am" in next_appointment_reply(patient(), summer, NOW).text


def test_nothing_booked_names_the_nurse_and_number() -> None:
    reply = next_appointment_reply(patient(), None, NOW)
    assert "Nurse Jo Bloggs" in reply.text and "0113 496 0001" in reply.text
    bare = next_appointment_reply(patient(nurse_name=None, nurse_phone=None), None, NOW)
    assert "contact your specialist nurse:" in bare.text


def test_no_appointment_heard_shows_what_is_booked() -> None:
    assert "Thursday 3 December" in no_appointment_heard_reply(patient(), appointment("video")).text
    assert "Nurse Jo Bloggs" in no_appointment_heard_reply(patient(), None).text


@pytest.mark.parametrize(
    ("auth", "text"), [(None, SIGN_IN), ("anonymous", SIGN_IN), ("rejected", SIGN_IN_AGAIN)]
)
def test_sign_in_reply_reveals_nothing(auth: str | None, text: str) -> None:
    assert sign_in_reply(auth).text == text


def test_stage_is_flagged_typical_and_overdue_only_when_nothing_booked() -> None:
    p = patient(treatment_end_date=date(2024, 5, 1))  # about 2.5 years
    last = NOW - timedelta(days=160)
    overdue = stage_reply(p, has_booked=False, last_checkup=last, today=NOW.date())
    assert "about 2 and a half years" in overdue.text
    assert "every 4 months" in overdue.text
    assert "may be different" in overdue.text
    assert "Nurse Jo Bloggs" in overdue.text
    fine = stage_reply(p, has_booked=True, last_checkup=last, today=NOW.date())
    assert "worth contacting" not in fine.text


def test_stage_without_treatment_end_date() -> None:
    reply = stage_reply(patient(treatment_end_date=None), False, None, NOW.date())
    assert "don't have the date your treatment ended" in reply.text


def test_calendar_file_is_valid_ics_without_names() -> None:
    ics = calendar_file(appointment("face_to_face", location="Haematology, Level 2; Room 4"), NOW)
    lines = ics.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR" and ics.endswith("\r\n")
    assert "DTSTART:20261203T103000Z" in lines
    assert "DTEND:20261203T110000Z" in lines
    assert "LOCATION:Haematology\\, Level 2\\; Room 4" in lines
    assert all(len(line.encode()) <= 75 for line in lines)
    assert "Alex" not in ics


def test_calendar_reply_carries_the_file_or_says_nothing_booked() -> None:
    reply = calendar_reply(appointment("video", video_link="https://v.example/x"), patient(), NOW)
    assert reply.custom and reply.custom["type"] == "calendar"
    assert "URL:https://v.example/x" in reply.custom["ics"]
    assert calendar_reply(None, patient(), NOW).custom is None
