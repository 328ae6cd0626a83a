"""Fictional demo patients whose appointments are placed relative to "now".

Names are invented; phone numbers are from Ofcom's ranges reserved for drama
(07700 900xxx and 0113 496 0xxx), so none of them reaches a real person.
Seeding is idempotent: patients are matched by portal id and appointments by
external id (``demo:<portal id>:<key>``); re-seeding moves the dates to the new "now".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import get_settings
from bot.storage.models import Appointment, Patient, to_utc

HOSPITAL_NAME = "St Example's Hospital"
ADVICE_LINE = "0113 496 0000"
CLINIC_LOCATION = "Haematology Outpatients, Level 2"
VIDEO_LINK = "https://video.example-hospital.nhs.uk/join/abc123"


@dataclass(frozen=True)
class DemoPatient:
    """A seeded demo patient: the portal id to sign in as, and what their record shows."""

    portal_id: str
    given_name: str
    family_name: str
    description: str
    created: bool


@dataclass(frozen=True)
class _Appt:
    key: str
    days: int  # from today (UK), negative for the past
    at: time  # UK wall-clock time
    kind: str
    status: str
    clinician: str
    location: str | None = None
    video_link: str | None = None


@dataclass(frozen=True)
class _Spec:
    portal_id: str
    given_name: str
    family_name: str
    phone: str
    nurse_name: str
    nurse_phone: str
    treatment_ended_months_ago: int
    description: str
    appointments: tuple[_Appt, ...]


_CONSULTANT = "Dr Amara Okafor, consultant haematologist"
_NURSE = "Clinical nurse specialist"

DEMO_SPECS: tuple[_Spec, ...] = (
    _Spec(
        "demo-telephone",
        "Jamie",
        "Fenwick",
        "07700 900123",
        "Priya Shah",
        "0113 496 0101",
        8,
        "telephone appointment in 5 days at 10:30; treatment ended 8 months ago",
        (
            _Appt("next", 5, time(10, 30), "telephone", "booked", _CONSULTANT),
            _Appt(
                "last", -56, time(10, 0), "face_to_face", "attended", _CONSULTANT, CLINIC_LOCATION
            ),
        ),
    ),
    _Spec(
        "demo-video",
        "Robin",
        "Achebe-Clarke",
        "07700 900234",
        "Tom Barraclough",
        "0113 496 0102",
        42,
        "video appointment in 9 days; treatment ended 3.5 years ago",
        (
            _Appt("next", 9, time(14, 0), "video", "booked", _NURSE, video_link=VIDEO_LINK),
            _Appt("last", -120, time(14, 0), "telephone", "attended", _NURSE),
        ),
    ),
    _Spec(
        "demo-clinic",
        "Morgan",
        "Lindqvist",
        "07700 900345",
        "Priya Shah",
        "0113 496 0101",
        54,
        "face-to-face clinic in 12 days; treatment ended 4.5 years ago",
        (
            _Appt("next", 12, time(9, 15), "face_to_face", "booked", _CONSULTANT, CLINIC_LOCATION),
            _Appt(
                "last", -180, time(9, 15), "face_to_face", "attended", _CONSULTANT, CLINIC_LOCATION
            ),
        ),
    ),
    _Spec(
        "demo-nothing",
        "Alex",
        "Moreno",
        "07700 900456",
        "Tom Barraclough",
        "0113 496 0102",
        30,
        "no appointment booked, last seen 5 months ago; treatment ended 2.5 years ago",
        (
            _Appt(
                "last", -152, time(11, 0), "face_to_face", "attended", _CONSULTANT, CLINIC_LOCATION
            ),
        ),
    ),
    _Spec(
        "demo-cancelled",
        "Sam",
        "Okonjo",
        "07700 900567",
        "Priya Shah",
        "0113 496 0101",
        72,
        "only a cancelled appointment; treatment ended 6 years ago",
        (_Appt("cancelled", 7, time(11, 0), "telephone", "cancelled", _NURSE),),
    ),
)


def _months_ago(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    # Clamp to the month's length (e.g. 31 March minus one month is 28/29 February).
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(day.day, (next_month - timedelta(days=1)).day))


def seed_demo(session: Session, now: datetime, tz_name: str | None = None) -> list[DemoPatient]:
    """Create or refresh the five demo patients, with appointments relative to `now` (aware)."""
    zone = ZoneInfo(tz_name or get_settings().timezone)
    today = to_utc(now).astimezone(zone).date()
    result = []
    for spec in DEMO_SPECS:
        patient = session.execute(
            select(Patient).where(Patient.portal_id == spec.portal_id)
        ).scalar_one_or_none()
        created = patient is None
        if created:
            patient = Patient(portal_id=spec.portal_id)
            session.add(patient)
        patient.given_name = spec.given_name
        patient.family_name = spec.family_name
        patient.phone = spec.phone
        patient.treatment_end_date = _months_ago(today, spec.treatment_ended_months_ago)
        patient.nurse_name = spec.nurse_name
        patient.nurse_phone = spec.nurse_phone
        patient.hospital_name = HOSPITAL_NAME
        patient.hospital_advice_line = ADVICE_LINE
        session.flush()
        for item in spec.appointments:
            external_id = f"demo:{spec.portal_id}:{item.key}"
            appt = session.execute(
                select(Appointment).where(Appointment.external_id == external_id)
            ).scalar_one_or_none()
            if appt is None:
                appt = Appointment(external_id=external_id, patient_id=patient.id)
                session.add(appt)
            start = datetime.combine(today + timedelta(days=item.days), item.at, tzinfo=zone)
            appt.start = start
            appt.end = start + timedelta(minutes=30)
            appt.kind = item.kind
            appt.status = item.status
            appt.clinician = item.clinician
            appt.location = item.location
            appt.video_link = item.video_link
        result.append(
            DemoPatient(
                spec.portal_id, spec.given_name, spec.family_name, spec.description, created
            )
        )
    session.flush()
    return result
