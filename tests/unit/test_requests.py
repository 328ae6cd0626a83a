from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot import clock
from bot.care.requests import (
    RequestView,
    list_requests,
    mark_done,
    normalise_uk_phone,
    parse_reference,
    pending_requests,
    record_number_correction,
)
from bot.storage.models import Appointment, FaceToFaceRequest, NumberCorrection, Patient
from bot.storage.records import request_face_to_face

NOW = datetime(2030, 5, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("07700 900999", "07700 900999"),
        ("07700900999", "07700 900999"),
        ("my new number is 07700900999 thanks", "07700 900999"),
        ("call me on 07700-900-999.", "07700 900999"),
        ("0770 0900 999", "07700 900999"),
        ("+44 7700 900999", "07700 900999"),
        ("+447700900999", "07700 900999"),
        ("0044 7700 900 999", "07700 900999"),
        ("447700900999", "07700 900999"),
        ("+44 (0)113 496 0555", "0113 496 0555"),
        ("0113-496-0555", "0113 496 0555"),
        ("(0113) 496 0555", "0113 496 0555"),
        ("01134960555", "0113 496 0555"),
        ("0131 496 0123", "0131 496 0123"),
        ("020 7946 0958", "020 7946 0958"),
        ("0300 123 4567", "0300 123 4567"),
        ("01632 960123", "01632 960123"),
        ("01632 96012", "01632 96012"),
        ("07700 900999 or 0113 496 0555", "07700 900999"),
    ],
)
def test_normalise_uk_phone_valid(text: str, expected: str) -> None:
    assert normalise_uk_phone(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no number here",
        "12345",
        "07700 90099",  # a digit short
        "077009009999",  # a digit too many
        "0800 123 4567",  # freephone, not a contact number
        "0900 123 4567",
        "020 7946 095",  # London numbers have 11 digits
        "+1 202 555 0100",
        "+33 6 12 34 56 78",
        "485 777 3456",  # NHS-number shaped
        "12/05/2030",
        "ref A07700900999",
    ],
)
def test_normalise_uk_phone_invalid(text: str) -> None:
    assert normalise_uk_phone(text) is None


def test_normalise_uk_phone_is_idempotent() -> None:
    for number in ["07700 900999", "0113 496 0555", "020 7946 0958", "01632 96012"]:
        assert normalise_uk_phone(normalise_uk_phone(number)) == number


@pytest.fixture
def ticking_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A clock that moves on a minute each time it is read, so ordering is deterministic."""
    ticks = [NOW]

    def tick() -> datetime:
        ticks[0] += timedelta(minutes=1)
        return ticks[0]

    monkeypatch.setattr(clock, "now", tick)


def _patient(session, portal_id: str = "P-1") -> Patient:
    patient = Patient(portal_id=portal_id, given_name="Ada", phone="07700 900111")
    session.add(patient)
    session.flush()
    return patient


def _appt(session, patient: Patient, key: str = "next", kind: str = "telephone") -> Appointment:
    appt = Appointment(
        patient_id=patient.id,
        external_id=f"test:{patient.portal_id}:{key}",
        start=NOW + timedelta(days=5),
        kind=kind,
        status="booked",
    )
    session.add(appt)
    session.flush()
    return appt


def test_record_number_correction_never_twice(session, ticking_clock) -> None:
    p = _patient(session)
    assert record_number_correction(session, "P-1", "it's 07700 900999 now") is True
    # The same number in another form is still the same correction.
    assert record_number_correction(session, "P-1", "+44 7700 900999") is False
    assert record_number_correction(session, "P-1", "07700900999") is False
    session.commit()
    rows = session.execute(select(NumberCorrection)).scalars().all()
    assert [(r.patient_id, r.new_phone, r.status) for r in rows] == [
        (p.id, "07700 900999", "pending")
    ]
    # A different number, or the same one after staff dealt with the first, is new.
    assert record_number_correction(session, "P-1", "0113 496 0555") is True
    assert mark_done(session, f"phone-{rows[0].id}") is True
    assert record_number_correction(session, "P-1", "07700 900999") is True
    assert len(pending_requests(session)) == 2


def test_record_number_correction_is_per_patient(session, ticking_clock) -> None:
    _patient(session, "P-1")
    _patient(session, "P-2")
    assert record_number_correction(session, "P-1", "07700 900999") is True
    assert record_number_correction(session, "P-2", "07700 900999") is True


def test_record_number_correction_refuses_bad_input(session) -> None:
    _patient(session)
    with pytest.raises(ValueError):
        record_number_correction(session, "P-1", "not a number")
    with pytest.raises(LookupError):
        record_number_correction(session, "nobody", "07700 900999")
    assert session.execute(select(NumberCorrection)).first() is None


def test_face_to_face_request_never_twice(session) -> None:
    p = _patient(session)
    appt = _appt(session, p)
    assert request_face_to_face(session, "P-1", appt.id, "hard of hearing") is True
    assert request_face_to_face(session, "P-1", appt.id, "hard of hearing") is False
    assert request_face_to_face(session, "P-1", appt.id) is False
    session.commit()
    assert len(session.execute(select(FaceToFaceRequest)).scalars().all()) == 1
    assert [v.reference for v in pending_requests(session)] == [
        f"f2f-{session.execute(select(FaceToFaceRequest.id)).scalar_one()}"
    ]


def test_pending_requests_lists_both_kinds_oldest_first(session, ticking_clock) -> None:
    p1 = _patient(session, "P-1")
    p2 = _patient(session, "P-2")
    appt = _appt(session, p1, kind="video")
    assert record_number_correction(session, "P-2", "0113 496 0555")
    assert request_face_to_face(session, "P-1", appt.id, "no camera")
    assert record_number_correction(session, "P-1", "07700 900999")
    # The face-to-face request's time comes from the model default: put it in order.
    f2f = session.execute(select(FaceToFaceRequest)).scalar_one()
    f2f.created = NOW + timedelta(minutes=1, seconds=30)
    session.commit()
    views = pending_requests(session)
    phone_ids = session.execute(select(NumberCorrection.id).order_by(NumberCorrection.id))
    first_phone, second_phone = phone_ids.scalars().all()
    assert [v.reference for v in views] == [
        f"phone-{first_phone}",
        f"f2f-{f2f.id}",
        f"phone-{second_phone}",
    ]
    assert views[0] == RequestView(
        reference=f"phone-{first_phone}",
        kind="number_correction",
        portal_id="P-2",
        status="pending",
        created=NOW + timedelta(minutes=1),
        done_at=None,
        appointment_id=None,
        appointment_start=None,
        appointment_kind=None,
        reason=None,
        new_phone="0113 496 0555",
    )
    assert views[1].portal_id == "P-1" and views[1].appointment_id == appt.id
    assert views[1].appointment_start == NOW + timedelta(days=5)
    assert views[1].appointment_kind == "video"
    assert views[1].detail == "no camera" and views[2].detail == "07700 900999"
    assert p2.id != p1.id
    # Personal data stays out of reprs (and so out of logs).
    for view in views:
        assert "no camera" not in repr(view) and "0555" not in repr(view)


def test_mark_done(session, ticking_clock) -> None:
    p = _patient(session)
    appt = _appt(session, p)
    request_face_to_face(session, "P-1", appt.id)
    record_number_correction(session, "P-1", "07700 900999")
    session.commit()
    f2f_ref, phone_ref = sorted(v.reference for v in pending_requests(session))
    assert mark_done(session, f2f_ref.upper()) is True
    assert mark_done(session, f2f_ref) is False
    session.commit()
    assert [v.reference for v in pending_requests(session)] == [phone_ref]
    everything = list_requests(session, include_done=True)
    assert {v.reference: v.status for v in everything} == {f2f_ref: "done", phone_ref: "pending"}
    done = next(v for v in everything if v.reference == f2f_ref)
    assert done.done_at is not None and done.done_at > done.created
    # Once done, the patient can ask again for the same appointment.
    assert request_face_to_face(session, "P-1", appt.id) is True


def test_mark_done_unknown_or_malformed(session) -> None:
    with pytest.raises(LookupError):
        mark_done(session, "f2f-999")
    with pytest.raises(LookupError):
        mark_done(session, "phone-999")
    for bad in ["", "f2f", "f2f-x", "email-3", "f2f-3; drop", "f2f-99999999999"]:
        with pytest.raises(ValueError):
            mark_done(session, bad)


def test_parse_reference() -> None:
    assert parse_reference(" F2F-3 ") == ("f2f", 3)
    assert parse_reference("phone-15") == ("phone", 15)


def test_callback_filed_once_on_the_number_on_record(session, ticking_clock) -> None:
    from bot.care.requests import file_callback, get_request

    _patient(session)
    reference = file_callback(session, "P-1", "morning")
    assert reference is not None and reference.startswith("cb-")
    assert file_callback(session, "P-1", "afternoon") is None  # one pending at a time
    view = get_request(session, reference)
    assert view.kind == "callback" and view.kind_name == "callback"
    assert view.detail == "morning (9am to 12 noon), on 07700 900111"
    assert "07700" not in repr(view)
    with pytest.raises(ValueError, match="window"):
        file_callback(session, "P-1", "evening")
    with pytest.raises(LookupError):
        file_callback(session, "nobody", "morning")


def test_queue_has_every_kind_oldest_first(session, ticking_clock) -> None:
    from bot.care.requests import file_callback

    patient = _patient(session)
    request_face_to_face(session, "P-1", _appt(session, patient).id)
    file_callback(session, "P-1", "afternoon")
    record_number_correction(session, "P-1", "07700 900999")
    kinds = [v.kind for v in list_requests(session)]
    assert kinds == ["face_to_face", "callback", "number_correction"]
    assert [v.reference for v in list_requests(session, portal_id="someone-else")] == []


def test_assign_note_and_done_are_audited_with_who(session, ticking_clock) -> None:
    from bot.care.requests import add_note, assign, file_callback
    from bot.identity.staff import add_staff
    from bot.storage import audit

    _patient(session)
    nurse = add_staff(session, "nurse1", "correct horse battery", "nurse")
    reference = file_callback(session, "P-1", "morning")
    assign(session, reference, nurse.id, "NURSE1")
    add_note(session, reference, nurse.id, "  rang once,\n no answer ")
    assert mark_done(session, reference, nurse.id) is True
    assert mark_done(session, reference, nurse.id) is False  # the second is not recorded
    history = audit.entries(session, reference=reference)
    assert [(e.action, e.who) for e in reversed(history)] == [
        ("assign", "nurse1"),
        ("note", "nurse1"),
        ("done", "nurse1"),
    ]
    assert history[1].detail == "rang once, no answer"
    assert history[0].portal_id == "P-1"
    assert [v.assigned_to for v in list_requests(session, include_done=True)] == ["nurse1"]
    with pytest.raises(LookupError, match="no active account"):
        assign(session, reference, nurse.id, "ghost")
    with pytest.raises(ValueError, match="empty"):
        add_note(session, reference, nurse.id, "   ")


def test_command_line_done_is_audited_as_the_command_line(session, ticking_clock) -> None:
    from bot.storage import audit

    _patient(session)
    record_number_correction(session, "P-1", "07700 900999")
    reference = list_requests(session)[0].reference
    assert mark_done(session, reference)
    [entry] = audit.entries(session, reference=reference)
    assert entry.who == "command line" and entry.action == "done"
