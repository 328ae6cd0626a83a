import json
import re
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.storage.demo import ADVICE_LINE, HOSPITAL_NAME, seed_demo
from bot.storage.models import Appointment, Patient
from bot.storage.records import get_patient, last_attended, next_appointment

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parents[2]
DRAMA_NUMBER = re.compile(r"^(07700 900\d{3}|0113 496 0\d{3})$")
PORTAL_IDS = ["demo-telephone", "demo-video", "demo-clinic", "demo-nothing", "demo-cancelled"]


def _counts(session) -> tuple[int, int]:
    return (
        session.execute(select(func.count()).select_from(Patient)).scalar_one(),
        session.execute(select(func.count()).select_from(Appointment)).scalar_one(),
    )


def test_seed_creates_five_patients(session) -> None:
    seeded = seed_demo(session, NOW, "Europe/London")
    assert [p.portal_id for p in seeded] == PORTAL_IDS
    assert all(p.created for p in seeded)
    assert _counts(session)[0] == 5


def test_seed_is_idempotent(session) -> None:
    seed_demo(session, NOW, "Europe/London")
    session.commit()
    first = _counts(session)
    again = seed_demo(session, NOW, "Europe/London")
    session.commit()
    assert not any(p.created for p in again)
    assert _counts(session) == first


def test_reseeding_moves_appointments_to_the_new_now(session) -> None:
    seed_demo(session, NOW, "Europe/London")
    later = NOW + timedelta(days=30)
    seed_demo(session, later, "Europe/London")
    appt = next_appointment(session, "demo-telephone", later)
    assert appt.start.astimezone(LONDON).date() == (later + timedelta(days=5)).date()


def test_telephone_patient(session) -> None:
    seed_demo(session, NOW, "Europe/London")
    appt = next_appointment(session, "demo-telephone", NOW)
    local = appt.start.astimezone(LONDON)
    assert appt.kind == "telephone"
    assert local.time() == time(10, 30)
    assert local.date() == NOW.date() + timedelta(days=5)
    patient = get_patient(session, "demo-telephone")
    assert patient.phone_masked == "ending 0123"


def test_uk_time_is_kept_across_daylight_saving(session) -> None:
    summer = datetime(2027, 6, 1, 9, 0, tzinfo=timezone.utc)
    seed_demo(session, summer, "Europe/London")
    appt = next_appointment(session, "demo-telephone", summer)
    assert appt.start.astimezone(LONDON).time() == time(10, 30)
    assert appt.start.hour == 9  # 10:30 BST is 09:30 UTC


def test_video_and_clinic_patients(session) -> None:
    seed_demo(session, NOW, "Europe/London")
    video = next_appointment(session, "demo-video", NOW)
    assert video.kind == "video"
    assert video.video_link == "https://video.example-hospital.nhs.uk/join/abc123"
    assert (video.start - NOW).days in (8, 9)
    clinic = next_appointment(session, "demo-clinic", NOW)
    assert clinic.kind == "face_to_face"
    assert clinic.location == "Haematology Outpatients, Level 2"
    assert (clinic.start - NOW).days in (11, 12)


def test_nothing_and_cancelled_patients(session) -> None:
    seed_demo(session, NOW, "Europe/London")
    assert next_appointment(session, "demo-nothing", NOW) is None
    seen = last_attended(session, "demo-nothing", NOW)
    assert 145 <= (NOW - seen).days <= 160  # about five months ago
    nothing = get_patient(session, "demo-nothing")
    assert 29 <= (NOW.date() - nothing.treatment_end_date).days / 30.44 <= 31
    assert next_appointment(session, "demo-cancelled", NOW) is None
    cancelled = (
        session.execute(
            select(Appointment).join(Patient).where(Patient.portal_id == "demo-cancelled")
        )
        .scalars()
        .all()
    )
    assert [a.status for a in cancelled] == ["cancelled"]


def test_details_are_fictional_and_complete(session) -> None:
    seed_demo(session, NOW, "Europe/London")
    ends = set()
    for portal_id in PORTAL_IDS:
        patient = session.execute(
            select(Patient).where(Patient.portal_id == portal_id)
        ).scalar_one()
        assert DRAMA_NUMBER.match(patient.phone), portal_id
        assert DRAMA_NUMBER.match(patient.nurse_phone), portal_id
        assert patient.nurse_name
        assert patient.hospital_name == HOSPITAL_NAME == "St Example's Hospital"
        assert patient.hospital_advice_line == ADVICE_LINE == "0113 496 0000"
        ends.add(patient.treatment_end_date)
    assert len(ends) == 5  # different follow-up phases


def test_example_bundle_shape() -> None:
    data = json.loads((ROOT / "examples" / "fhir" / "demo-bundle.json").read_text())
    resources = [e["resource"] for e in data["entry"]]
    assert [r["resourceType"] for r in resources].count("Patient") == 2
    appts = [r for r in resources if r["resourceType"] == "Appointment"]
    assert len(appts) == 3
    assert any("serviceType" in a for a in appts)
    assert any("appointmentType" in a for a in appts)
    assert any(
        e["url"].endswith("/appointment-kind") for a in appts for e in a.get("extension", [])
    )
