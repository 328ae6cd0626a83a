"""SQLAlchemy models for patient records: patients, appointments and pre-call requests.

Every timestamp is timezone-aware and stored as UTC. PostgreSQL keeps the offset
(``timestamptz``); SQLite has no time zone type, so values are written as naive UTC
and `UTCDateTime` / `as_utc` turn them back into aware UTC datetimes on the way out.

Appointment status is one of ``booked``, ``cancelled`` or ``attended``. FHIR R4
statuses are mapped by `map_fhir_status` (see `FHIR_STATUS_MAP`):

- ``proposed``, ``pending``, ``booked``, ``arrived``, ``checked-in`` -> ``booked``
- ``fulfilled`` -> ``attended``
- ``cancelled``, ``noshow`` -> ``cancelled``
- ``entered-in-error``, ``waitlist`` -> ``cancelled`` (not going ahead at a known
  time, so never offered to the patient as their next appointment)
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import declarative_base, relationship, validates
from sqlalchemy.types import TypeDecorator

# Stable constraint names so the migration, the models and both databases agree.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)
Base = declarative_base(metadata=metadata)

APPOINTMENT_KINDS = ("face_to_face", "telephone", "video")
APPOINTMENT_STATUSES = ("booked", "cancelled", "attended")
QUESTION_KINDS = ("question", "symptom", "side_effect")
REQUEST_STATUSES = ("pending", "done")
STAFF_ROLES = ("nurse", "admin")
CALLBACK_WINDOWS = ("morning", "afternoon")

FHIR_STATUS_MAP: dict[str, str] = {
    "proposed": "booked",
    "pending": "booked",
    "booked": "booked",
    "arrived": "booked",
    "checked-in": "booked",
    "fulfilled": "attended",
    "cancelled": "cancelled",
    "noshow": "cancelled",
    # Not a real appointment (or not yet one): never show it as upcoming.
    "entered-in-error": "cancelled",
    "waitlist": "cancelled",
}


def map_fhir_status(status: str) -> str:
    """Map a FHIR R4 Appointment.status to ours, raising ValueError for unknown codes."""
    try:
        return FHIR_STATUS_MAP[status]
    except KeyError:
        raise ValueError(f"status {status!r} is not a valid Appointment status") from None


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(timezone.utc)


def as_utc(value: datetime | None) -> datetime | None:
    """Return `value` as aware UTC; naive values (as SQLite returns them) are taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def to_utc(value: datetime | None) -> datetime | None:
    """Return an aware datetime converted to UTC, refusing naive ones (their zone is unknown)."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: pass a timezone-aware datetime")
    return value.astimezone(timezone.utc)


class UTCDateTime(TypeDecorator):
    """`DateTime(timezone=True)` that writes UTC and always reads back aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> datetime | None:
        """Normalise to UTC; SQLite cannot store an offset, so it gets naive UTC."""
        value = to_utc(value)
        if value is not None and dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        """Return aware UTC whatever the driver gave back."""
        return as_utc(value)


def _created() -> Column:
    # Set in Python, not by the server, so both databases behave the same.
    return Column(UTCDateTime(), nullable=False, default=utcnow)


def _updated() -> Column:
    return Column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Patient(Base):
    """A patient in ALL follow-up, keyed for the assistant by their portal id."""

    __tablename__ = "patients"

    id = Column(Integer, primary_key=True)
    portal_id = Column(String(128), nullable=False, unique=True)
    given_name = Column(String(200), nullable=False)
    family_name = Column(String(200), nullable=True)
    phone = Column(String(40), nullable=True)
    treatment_end_date = Column(Date, nullable=True)
    nurse_name = Column(String(200), nullable=True)
    nurse_phone = Column(String(40), nullable=True)
    hospital_name = Column(String(200), nullable=True)
    hospital_advice_line = Column(String(40), nullable=True)
    created = _created()
    updated = _updated()

    appointments = relationship(
        "Appointment", back_populates="patient", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        # Deliberately no names or numbers: reprs end up in logs and tracebacks.
        return f"<Patient id={self.id}>"


class Appointment(Base):
    """One follow-up appointment; `external_id` is the source's id, e.g. fhir:Appointment/x."""

    __tablename__ = "appointments"
    __table_args__ = (
        CheckConstraint(_in("kind", APPOINTMENT_KINDS), name="kind"),
        CheckConstraint(_in("status", APPOINTMENT_STATUSES), name="status"),
        Index(None, "patient_id", "start"),
    )

    id = Column(Integer, primary_key=True)
    patient_id = Column(Integer, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False)
    external_id = Column(String(200), nullable=False, unique=True)
    start = Column(UTCDateTime(), nullable=False)
    end = Column(UTCDateTime(), nullable=True)
    kind = Column(String(20), nullable=False)
    clinician = Column(String(200), nullable=True)
    location = Column(String(300), nullable=True)
    video_link = Column(String(500), nullable=True)
    status = Column(String(20), nullable=False, default="booked")
    created = _created()
    updated = _updated()

    patient = relationship("Patient", back_populates="appointments")

    @validates("start", "end")
    def _utc(self, _key: str, value: datetime | None) -> datetime | None:
        return to_utc(value)

    @validates("kind")
    def _kind(self, _key: str, value: str) -> str:
        if value not in APPOINTMENT_KINDS:
            raise ValueError(f"kind {value!r} is not one of {', '.join(APPOINTMENT_KINDS)}")
        return value

    @validates("status")
    def _status(self, _key: str, value: str) -> str:
        if value not in APPOINTMENT_STATUSES:
            raise ValueError(f"status {value!r} is not one of {', '.join(APPOINTMENT_STATUSES)}")
        return value

    def __repr__(self) -> str:
        return f"<Appointment id={self.id} kind={self.kind} status={self.status}>"


class PatientQuestion(Base):
    """Something the patient wants to raise at their appointment (removed ones are kept)."""

    __tablename__ = "patient_questions"
    __table_args__ = (
        CheckConstraint(_in("kind", QUESTION_KINDS), name="kind"),
        Index(None, "patient_id"),
    )

    id = Column(Integer, primary_key=True)
    patient_id = Column(Integer, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False)
    appointment_id = Column(
        Integer, ForeignKey("appointments.id", ondelete="SET NULL"), nullable=True
    )
    text = Column(Text, nullable=False)
    kind = Column(String(20), nullable=False, default="question")
    created = _created()
    removed_at = Column(UTCDateTime(), nullable=True)

    @validates("created", "removed_at")
    def _utc(self, _key: str, value: datetime | None) -> datetime | None:
        return to_utc(value)

    def __repr__(self) -> str:
        # Never the text: it is the patient's own words.
        return f"<PatientQuestion id={self.id} kind={self.kind}>"


class FaceToFaceRequest(Base):
    """A patient's request to see the team in person instead of a remote appointment.

    At most one pending request per appointment: a partial unique index enforces it
    in the database and `bot.storage.records.request_face_to_face` checks first.
    """

    __tablename__ = "face_to_face_requests"
    __table_args__ = (
        CheckConstraint(_in("status", REQUEST_STATUSES), name="status"),
        Index(
            "uq_face_to_face_requests_pending",
            "appointment_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index(None, "patient_id"),
    )

    id = Column(Integer, primary_key=True)
    patient_id = Column(Integer, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False)
    appointment_id = Column(
        Integer, ForeignKey("appointments.id", ondelete="CASCADE"), nullable=False
    )
    reason = Column(Text, nullable=True)
    status = Column(String(20), nullable=False, default="pending")
    created = _created()
    done_at = Column(UTCDateTime(), nullable=True)

    @validates("created", "done_at")
    def _utc(self, _key: str, value: datetime | None) -> datetime | None:
        return to_utc(value)

    def __repr__(self) -> str:
        return f"<FaceToFaceRequest id={self.id} status={self.status}>"


class NumberCorrection(Base):
    """A patient telling us their contact number is wrong, for staff to update at source."""

    __tablename__ = "number_corrections"
    __table_args__ = (
        CheckConstraint(_in("status", REQUEST_STATUSES), name="status"),
        Index(None, "patient_id"),
    )

    id = Column(Integer, primary_key=True)
    patient_id = Column(Integer, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False)
    new_phone = Column(String(40), nullable=False)
    status = Column(String(20), nullable=False, default="pending")
    created = _created()
    done_at = Column(UTCDateTime(), nullable=True)

    @validates("created", "done_at")
    def _utc(self, _key: str, value: datetime | None) -> datetime | None:
        return to_utc(value)

    def __repr__(self) -> str:
        return f"<NumberCorrection id={self.id} status={self.status}>"


class CallbackRequest(Base):
    """A signed-in patient asking their own team to ring them, in a time window they chose.

    `phone` is the number on record when the patient confirmed it, so staff call the number
    the patient saw, even if the record changes later.
    """

    __tablename__ = "callback_requests"
    __table_args__ = (
        CheckConstraint(_in("status", REQUEST_STATUSES), name="status"),
        CheckConstraint(_in("time_window", CALLBACK_WINDOWS), name="time_window"),
        Index(None, "patient_id"),
    )

    id = Column(Integer, primary_key=True)
    patient_id = Column(Integer, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False)
    time_window = Column(String(20), nullable=False)
    phone = Column(String(40), nullable=True)
    status = Column(String(20), nullable=False, default="pending")
    created = _created()
    done_at = Column(UTCDateTime(), nullable=True)

    @validates("created", "done_at")
    def _utc(self, _key: str, value: datetime | None) -> datetime | None:
        return to_utc(value)

    def __repr__(self) -> str:
        return f"<CallbackRequest id={self.id} status={self.status}>"


class StaffMember(Base):
    """A console account: a nurse sees patients; an admin also manages accounts."""

    __tablename__ = "staff"
    __table_args__ = (
        CheckConstraint(_in("role", STAFF_ROLES), name="role"),
        UniqueConstraint("username"),
    )

    id = Column(Integer, primary_key=True)
    username = Column(String(80), nullable=False)
    # An argon2id hash (argon2-cffi), never the password.
    password_hash = Column(String(255), nullable=False)
    role = Column(String(20), nullable=False)
    created = _created()
    disabled_at = Column(UTCDateTime(), nullable=True)

    def __repr__(self) -> str:
        return f"<StaffMember id={self.id} role={self.role}>"


class AuditEntry(Base):
    """Who did what, to which patient or request, and when: append-only.

    `action` is e.g. ``view_patient``, ``assign``, ``note``, ``done``, ``sign_in``,
    ``staff_add``; `staff_id` is None for the command line. `detail` holds a staff note's
    text or an account name, never a patient's words.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "patient_id"), Index(None, "reference"), Index(None, "at"))

    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime(), nullable=False, default=utcnow)
    staff_id = Column(Integer, ForeignKey("staff.id", ondelete="SET NULL"), nullable=True)
    action = Column(String(40), nullable=False)
    patient_id = Column(Integer, ForeignKey("patients.id", ondelete="SET NULL"), nullable=True)
    reference = Column(String(40), nullable=True)
    detail = Column(Text, nullable=True)

    def __repr__(self) -> str:
        return f"<AuditEntry id={self.id} action={self.action}>"


__all__ = [
    "APPOINTMENT_KINDS",
    "APPOINTMENT_STATUSES",
    "CALLBACK_WINDOWS",
    "FHIR_STATUS_MAP",
    "QUESTION_KINDS",
    "REQUEST_STATUSES",
    "STAFF_ROLES",
    "Appointment",
    "AuditEntry",
    "Base",
    "CallbackRequest",
    "FaceToFaceRequest",
    "NumberCorrection",
    "Patient",
    "PatientQuestion",
    "StaffMember",
    "UTCDateTime",
    "as_utc",
    "map_fhir_status",
    "metadata",
    "to_utc",
    "utcnow",
]
