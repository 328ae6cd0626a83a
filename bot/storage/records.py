"""Read-only views of a patient's record for the assistant's actions (no ORM objects leak out).

"Last attended" counts only appointments recorded as attended (FHIR ``fulfilled``).
A past appointment still marked booked may not have happened, and over-estimating
how recently someone was seen could hide an overdue check-up, so it does not count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage.models import Appointment, FaceToFaceRequest, Patient, as_utc, to_utc


@dataclass(frozen=True)
class PatientView:
    """What the assistant may say about a patient; their phone is only ever shown masked."""

    portal_id: str
    # Kept out of repr so a logged view cannot leak them.
    given_name: str = field(repr=False)
    phone_masked: str | None = field(repr=False)
    nurse_name: str | None
    nurse_phone: str | None
    hospital_name: str | None
    hospital_advice_line: str | None
    treatment_end_date: date | None = field(repr=False)


@dataclass(frozen=True)
class AppointmentView:
    """One appointment, times as aware UTC (convert to settings.timezone to show them)."""

    id: int
    start: datetime
    end: datetime | None
    kind: str
    clinician: str | None
    location: str | None
    video_link: str | None


def mask_phone(phone: str | None) -> str | None:
    """Return "ending 4321" for a number (its last four digits), or None if there is none."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) < 4:
        return None
    return f"ending {digits[-4:]}"


def _patient(session: Session, portal_id: str) -> Patient | None:
    return session.execute(
        select(Patient).where(Patient.portal_id == portal_id)
    ).scalar_one_or_none()


def patient_row(session: Session, portal_id: str) -> Patient | None:
    """The patient's row, for the staff console (which may show the full record)."""
    return _patient(session, portal_id)


def patient_id(session: Session, portal_id: str) -> int | None:
    """The database id of the patient with this portal id, or None."""
    return session.execute(
        select(Patient.id).where(Patient.portal_id == portal_id)
    ).scalar_one_or_none()


def get_patient(session: Session, portal_id: str) -> PatientView | None:
    """Return the patient with this portal id, or None."""
    patient = _patient(session, portal_id)
    if patient is None:
        return None
    return PatientView(
        portal_id=patient.portal_id,
        given_name=patient.given_name,
        phone_masked=mask_phone(patient.phone),
        nurse_name=patient.nurse_name,
        nurse_phone=patient.nurse_phone,
        hospital_name=patient.hospital_name,
        hospital_advice_line=patient.hospital_advice_line,
        treatment_end_date=patient.treatment_end_date,
    )


def _view(appt: Appointment) -> AppointmentView:
    return AppointmentView(
        id=appt.id,
        start=as_utc(appt.start),
        end=as_utc(appt.end),
        kind=appt.kind,
        clinician=appt.clinician,
        location=appt.location,
        video_link=appt.video_link,
    )


def next_appointment(session: Session, portal_id: str, now: datetime) -> AppointmentView | None:
    """Return the earliest booked appointment starting at or after `now` (aware), or None."""
    now = to_utc(now)
    appt = session.execute(
        select(Appointment)
        .join(Patient, Appointment.patient_id == Patient.id)
        .where(
            Patient.portal_id == portal_id,
            Appointment.status == "booked",
            Appointment.start >= now,
        )
        .order_by(Appointment.start, Appointment.id)
        .limit(1)
    ).scalar_one_or_none()
    return _view(appt) if appt is not None else None


def last_attended(session: Session, portal_id: str, now: datetime) -> datetime | None:
    """Return the start (aware UTC) of the latest appointment before `now` marked attended."""
    now = to_utc(now)
    start = session.execute(
        select(Appointment.start)
        .join(Patient, Appointment.patient_id == Patient.id)
        .where(
            Patient.portal_id == portal_id,
            Appointment.status == "attended",
            Appointment.start < now,
        )
        .order_by(Appointment.start.desc())
        .limit(1)
    ).scalar_one_or_none()
    return as_utc(start)


def request_face_to_face(
    session: Session, portal_id: str, appointment_id: int, reason: str | None = None
) -> bool:
    """Record a pending face-to-face request; False if one is already pending (never twice).

    Raises LookupError if the appointment is not this patient's.
    """
    patient = _patient(session, portal_id)
    appt = session.get(Appointment, appointment_id) if patient is not None else None
    if patient is None or appt is None or appt.patient_id != patient.id:
        raise LookupError("no such appointment for this patient")
    pending = session.execute(
        select(FaceToFaceRequest.id).where(
            FaceToFaceRequest.appointment_id == appointment_id,
            FaceToFaceRequest.status == "pending",
        )
    ).first()
    if pending is not None:
        return False
    try:
        # A concurrent request can win between the check and the insert; the partial
        # unique index catches it and the savepoint keeps the caller's work.
        with session.begin_nested():
            session.add(
                FaceToFaceRequest(
                    patient_id=patient.id, appointment_id=appointment_id, reason=reason
                )
            )
    except IntegrityError:
        return False
    return True
