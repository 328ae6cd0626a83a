import dataclasses
from datetime import date, datetime, timedelta, timezone

import pytest

from bot.storage.models import Appointment, FaceToFaceRequest, Patient
from bot.storage.records import (
    AppointmentView,
    PatientView,
    get_patient,
    last_attended,
    mask_phone,
    next_appointment,
    request_face_to_face,
)

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=timezone.utc)


def add_patient(session, portal_id: str = "P-1", **fields) -> Patient:
    patient = Patient(portal_id=portal_id, given_name="Ada", **fields)
    session.add(patient)
    session.flush()
    return patient


def add_appt(
    session, patient: Patient, key: str, start: datetime, status: str = "booked", **fields
):
    appt = Appointment(
        patient_id=patient.id,
        external_id=f"test:{patient.portal_id}:{key}",
        start=start,
        kind=fields.pop("kind", "telephone"),
        status=status,
        **fields,
    )
    session.add(appt)
    session.flush()
    return appt


def test_next_appointment_ignores_cancelled_attended_and_past(session) -> None:
    p = add_patient(session)
    add_appt(session, p, "past", NOW - timedelta(days=1))
    add_appt(session, p, "cancelled", NOW + timedelta(days=1), status="cancelled")
    add_appt(session, p, "attended", NOW + timedelta(days=2), status="attended")
    later = add_appt(session, p, "later", NOW + timedelta(days=20))
    soon = add_appt(
        session, p, "soon", NOW + timedelta(days=3), kind="video", video_link="https://v.example/x"
    )
    result = next_appointment(session, "P-1", NOW)
    assert result == AppointmentView(
        id=soon.id,
        start=NOW + timedelta(days=3),
        end=None,
        kind="video",
        clinician=None,
        location=None,
        video_link="https://v.example/x",
    )
    assert result.start.tzinfo is not None and result.start.utcoffset() == timedelta(0)
    assert next_appointment(session, "P-1", NOW + timedelta(days=4)).id == later.id


def test_next_appointment_includes_one_starting_now(session) -> None:
    p = add_patient(session)
    add_appt(session, p, "now", NOW)
    assert next_appointment(session, "P-1", NOW) is not None
    assert next_appointment(session, "P-1", NOW + timedelta(seconds=1)) is None


def test_next_appointment_accepts_any_aware_now(session) -> None:
    from zoneinfo import ZoneInfo

    p = add_patient(session)
    add_appt(session, p, "a", NOW + timedelta(minutes=30))
    local_now = NOW.astimezone(ZoneInfo("Europe/London"))  # 13:00 BST
    assert next_appointment(session, "P-1", local_now) is not None
    with pytest.raises(ValueError):
        next_appointment(session, "P-1", NOW.replace(tzinfo=None))


def test_next_appointment_is_per_patient(session) -> None:
    other = add_patient(session, "P-2")
    add_appt(session, other, "theirs", NOW + timedelta(days=1))
    add_patient(session, "P-1")
    assert next_appointment(session, "P-1", NOW) is None
    assert next_appointment(session, "nobody", NOW) is None


def test_last_attended_counts_only_attended_past(session) -> None:
    p = add_patient(session)
    add_appt(session, p, "old", NOW - timedelta(days=200), status="attended")
    add_appt(session, p, "recent", NOW - timedelta(days=100), status="attended")
    add_appt(session, p, "unconfirmed", NOW - timedelta(days=10))  # booked, in the past
    add_appt(session, p, "cancelled", NOW - timedelta(days=5), status="cancelled")
    result = last_attended(session, "P-1", NOW)
    assert result == NOW - timedelta(days=100)
    assert result.utcoffset() == timedelta(0)
    assert last_attended(session, "nobody", NOW) is None


def test_get_patient(session) -> None:
    add_patient(
        session,
        family_name="Example",
        phone="07700 900123",
        treatment_end_date=date(2024, 1, 31),
        nurse_name="Priya Shah",
        nurse_phone="0113 496 0101",
        hospital_name="St Example's Hospital",
        hospital_advice_line="0113 496 0000",
    )
    view = get_patient(session, "P-1")
    assert view == PatientView(
        portal_id="P-1",
        given_name="Ada",
        phone_masked="ending 0123",
        nurse_name="Priya Shah",
        nurse_phone="0113 496 0101",
        hospital_name="St Example's Hospital",
        hospital_advice_line="0113 496 0000",
        treatment_end_date=date(2024, 1, 31),
    )
    assert get_patient(session, "nobody") is None


def test_views_are_frozen_and_plain(session) -> None:
    add_patient(session)
    view = get_patient(session, "P-1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.given_name = "Eve"
    assert not hasattr(view, "_sa_instance_state")
    assert "Ada" not in repr(view)


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("07700 900123", "ending 0123"),
        ("+44 7700 900321", "ending 0321"),
        ("(0113) 496-0000", "ending 0000"),
        ("123", None),
        ("", None),
        (None, None),
        ("n/a", None),
    ],
)
def test_mask_phone(phone: str | None, masked: str | None) -> None:
    assert mask_phone(phone) == masked


def test_face_to_face_request_is_never_recorded_twice(session) -> None:
    p = add_patient(session)
    appt = add_appt(session, p, "a", NOW + timedelta(days=3))
    assert request_face_to_face(session, "P-1", appt.id, reason="hard of hearing") is True
    assert request_face_to_face(session, "P-1", appt.id) is False
    rows = session.query(FaceToFaceRequest).all()
    assert len(rows) == 1 and rows[0].status == "pending" and rows[0].reason == "hard of hearing"
    rows[0].status = "done"
    rows[0].done_at = NOW
    session.flush()
    assert request_face_to_face(session, "P-1", appt.id) is True


def test_face_to_face_request_only_for_own_appointment(session) -> None:
    p = add_patient(session)
    add_patient(session, "P-2")
    appt = add_appt(session, p, "a", NOW + timedelta(days=3))
    with pytest.raises(LookupError):
        request_face_to_face(session, "P-2", appt.id)
    with pytest.raises(LookupError):
        request_face_to_face(session, "nobody", appt.id)
    with pytest.raises(LookupError):
        request_face_to_face(session, "P-1", appt.id + 100)
