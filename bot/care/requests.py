"""The staff side of patients' requests: face to face instead, new phone numbers, callbacks.

All kinds are listed together, oldest first, each with a stable reference staff can quote:
``f2f-<id>`` for a face-to-face request, ``phone-<id>`` for a number correction and
``cb-<id>`` for a callback request. Assigning, noting and marking done each add a row to the
audit log (bot/storage/audit.py) saying who did it and when.
Nothing here logs: reasons and numbers are the patient's personal data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import clock
from bot.storage import audit
from bot.storage.models import (
    CALLBACK_WINDOWS,
    Appointment,
    AuditEntry,
    CallbackRequest,
    FaceToFaceRequest,
    NumberCorrection,
    Patient,
    StaffMember,
    as_utc,
)

REFERENCE_PREFIXES = {"f2f": FaceToFaceRequest, "phone": NumberCorrection, "cb": CallbackRequest}
_REFERENCE = re.compile(r"^\s*(?P<prefix>f2f|phone|cb)-(?P<id>\d{1,9})\s*$", re.IGNORECASE)
KIND_NAMES = {
    "face_to_face": "face to face",
    "number_correction": "new number",
    "callback": "callback",
}
WINDOW_NAMES = {"morning": "morning (9am to 12 noon)", "afternoon": "afternoon (12 noon to 5pm)"}
MAX_NOTE = 2000

# Digit groups, optionally led by + or (, as they appear in free text ("0113-496 0555").
_GROUP = re.compile(r"\+?\(?\d+\)?")
# What may sit between the groups of one number.
_JOINER = re.compile(r"^[\s.\-/]{0,3}$")
_MAX_DIGITS = 14  # 0044 plus a ten-digit national number


def _format_national(digits: str) -> str | None:
    """Lay out a national number the usual UK way, or None if it is not a valid one."""
    if not digits.startswith("0"):
        return None
    if digits.startswith("07") and len(digits) == 11:
        return f"{digits[:5]} {digits[5:]}"
    if digits.startswith("02") and len(digits) == 11:
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if digits.startswith("03") and len(digits) == 11:
        return f"{digits[:4]} {digits[4:7]} {digits[7:]}"
    if digits.startswith("01"):
        # 011x and 01x1 are the big-city codes (e.g. Leeds 0113, Edinburgh 0131).
        if len(digits) == 11 and (digits[2] == "1" or digits[3] == "1"):
            return f"{digits[:4]} {digits[4:7]} {digits[7:]}"
        if len(digits) in (10, 11):
            return f"{digits[:5]} {digits[5:]}"
    return None


def _national(raw: str) -> str | None:
    """Turn one candidate ("+44 (0)113 496 0555", "07700900999") into national digits."""
    digits = re.sub(r"\D", "", raw)
    international = raw.startswith("+") or digits.startswith("00")
    if international:
        digits = digits[2:] if digits.startswith("00") else digits
        if not digits.startswith("44"):
            return None
        rest = digits[2:]
    elif digits.startswith("44") and len(digits) in (12, 13):
        rest = digits[2:]
    else:
        return digits
    # "+44 (0)113 ..." keeps a trunk zero that the international form drops.
    return rest if rest.startswith("0") else "0" + rest


def normalise_uk_phone(text: str) -> str | None:
    """Find a UK mobile or landline number in free text and return it spaced, else None."""
    if not isinstance(text, str):
        return None
    groups = list(_GROUP.finditer(text))
    for start in range(len(groups)):
        # Digits glued to letters ("ref A0770...") are some other code, not a phone number.
        opening = groups[start].start()
        if opening > 0 and text[opening - 1].isalnum():
            continue
        best = None
        for end in range(start, len(groups)):
            if end > start:
                joiner = text[groups[end - 1].end() : groups[end].start()]
                # "+" only opens a number; it cannot sit in the middle of one.
                if not _JOINER.match(joiner) or groups[end].group().startswith("+"):
                    break
            raw = text[groups[start].start() : groups[end].end()]
            if len(re.sub(r"\D", "", raw)) > _MAX_DIGITS:
                break
            national = _national(raw)
            formatted = _format_national(national) if national else None
            if formatted:
                best = formatted
        if best:
            return best
    return None


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


def record_number_correction(session: Session, portal_id: str, new_phone: str) -> bool:
    """Record a pending new number for staff; False if that number is already pending.

    The number is normalised first (ValueError if it is not a UK number). Raises
    LookupError for an unknown patient.
    """
    phone = normalise_uk_phone(new_phone)
    if phone is None:
        raise ValueError("not a UK phone number")
    # Locking the patient row (PostgreSQL; SQLite locks the whole database on write) stops
    # two simultaneous messages both passing the duplicate check.
    patient_id = session.execute(
        select(Patient.id).where(Patient.portal_id == portal_id).with_for_update()
    ).scalar_one_or_none()
    if patient_id is None:
        raise LookupError("no such patient")
    pending = session.execute(
        select(NumberCorrection.new_phone).where(
            NumberCorrection.patient_id == patient_id, NumberCorrection.status == "pending"
        )
    ).scalars()
    if any(_digits(existing) == _digits(phone) for existing in pending):
        return False
    session.add(NumberCorrection(patient_id=patient_id, new_phone=phone, created=clock.now()))
    session.flush()
    return True


@dataclass(frozen=True)
class RequestView:
    """One request for staff to act on; `reference` is what staff quote to mark it done."""

    reference: str
    kind: str  # "face_to_face", "number_correction" or "callback"
    portal_id: str
    status: str
    created: datetime
    done_at: datetime | None
    appointment_id: int | None
    appointment_start: datetime | None
    appointment_kind: str | None
    # The patient's own words and number: never in logs.
    reason: str | None = field(repr=False)
    new_phone: str | None = field(repr=False)
    callback_window: str | None = None
    assigned_to: str | None = None

    @property
    def detail(self) -> str:
        """The reason given, the new number, or when and where to call, for display to staff."""
        if self.kind == "callback":
            window = WINDOW_NAMES.get(self.callback_window or "", self.callback_window or "")
            return f"{window}, on {self.new_phone or 'no number on record'}"
        return (self.new_phone if self.kind == "number_correction" else self.reason) or ""

    @property
    def kind_name(self) -> str:
        """The kind in plain words."""
        return KIND_NAMES.get(self.kind, self.kind)


def _assignees(session: Session) -> dict[str, str]:
    """Who each request is assigned to now: the latest ``assign`` row per reference wins."""
    rows = session.execute(
        select(AuditEntry.reference, AuditEntry.detail)
        .where(AuditEntry.action == "assign")
        .order_by(AuditEntry.id)
    )
    return {ref: who for ref, who in rows if ref}


def list_requests(
    session: Session, include_done: bool = False, portal_id: str | None = None
) -> list[RequestView]:
    """Return every kind of request, oldest first (pending only unless `include_done`;
    one patient's only if `portal_id`)."""
    f2f_query = (
        select(FaceToFaceRequest, Patient.portal_id, Appointment.start, Appointment.kind)
        .join(Patient, FaceToFaceRequest.patient_id == Patient.id)
        .join(Appointment, FaceToFaceRequest.appointment_id == Appointment.id)
    )
    phone_query = select(NumberCorrection, Patient.portal_id).join(
        Patient, NumberCorrection.patient_id == Patient.id
    )
    callback_query = select(CallbackRequest, Patient.portal_id).join(
        Patient, CallbackRequest.patient_id == Patient.id
    )
    if not include_done:
        f2f_query = f2f_query.where(FaceToFaceRequest.status == "pending")
        phone_query = phone_query.where(NumberCorrection.status == "pending")
        callback_query = callback_query.where(CallbackRequest.status == "pending")
    if portal_id is not None:
        f2f_query = f2f_query.where(Patient.portal_id == portal_id)
        phone_query = phone_query.where(Patient.portal_id == portal_id)
        callback_query = callback_query.where(Patient.portal_id == portal_id)
    assigned = _assignees(session)
    views = [
        RequestView(
            reference=f"f2f-{req.id}",
            kind="face_to_face",
            portal_id=portal_id,
            status=req.status,
            created=as_utc(req.created),
            done_at=as_utc(req.done_at),
            appointment_id=req.appointment_id,
            appointment_start=as_utc(start),
            appointment_kind=appt_kind,
            reason=req.reason,
            new_phone=None,
            assigned_to=assigned.get(f"f2f-{req.id}"),
        )
        for req, portal_id, start, appt_kind in session.execute(f2f_query)
    ]
    views += [
        RequestView(
            reference=f"phone-{req.id}",
            kind="number_correction",
            portal_id=portal_id,
            status=req.status,
            created=as_utc(req.created),
            done_at=as_utc(req.done_at),
            appointment_id=None,
            appointment_start=None,
            appointment_kind=None,
            reason=None,
            new_phone=req.new_phone,
            assigned_to=assigned.get(f"phone-{req.id}"),
        )
        for req, portal_id in session.execute(phone_query)
    ]
    views += [
        RequestView(
            reference=f"cb-{req.id}",
            kind="callback",
            portal_id=portal_id,
            status=req.status,
            created=as_utc(req.created),
            done_at=as_utc(req.done_at),
            appointment_id=None,
            appointment_start=None,
            appointment_kind=None,
            reason=None,
            new_phone=req.phone,
            callback_window=req.time_window,
            assigned_to=assigned.get(f"cb-{req.id}"),
        )
        for req, portal_id in session.execute(callback_query)
    ]
    return sorted(views, key=lambda v: (v.created, v.kind, int(v.reference.split("-")[1])))


def pending_requests(session: Session) -> list[RequestView]:
    """Return every pending face-to-face request and number correction, oldest first."""
    return list_requests(session)


def parse_reference(reference: str) -> tuple[str, int]:
    """Split "f2f-3" / "phone-5" / "cb-2" (any case) into ("f2f", 3); ValueError if malformed."""
    match = _REFERENCE.match(reference or "")
    if match is None:
        raise ValueError(f"{reference!r} is not a request reference (like f2f-3, phone-5 or cb-2)")
    return match.group("prefix").lower(), int(match.group("id"))


def _request(session: Session, reference: str) -> tuple[str, Any]:
    prefix, request_id = parse_reference(reference)
    request = session.get(REFERENCE_PREFIXES[prefix], request_id)
    if request is None:
        raise LookupError(f"no request {prefix}-{request_id}")
    return f"{prefix}-{request_id}", request


def get_request(session: Session, reference: str) -> RequestView:
    """One request by reference, done or not (ValueError if malformed, LookupError if none)."""
    ref, request = _request(session, reference)
    portal_id = session.get(Patient, request.patient_id).portal_id
    for view in list_requests(session, include_done=True, portal_id=portal_id):
        if view.reference == ref:
            return view
    raise LookupError(f"no request {ref}")


def mark_done(session: Session, reference: str, staff_id: int | None = None) -> bool:
    """Mark a request done, in the audit log as done by `staff_id` (None: the command line).

    True if it was pending, False if it was already done. Raises ValueError for a malformed
    reference and LookupError if there is no such request.
    """
    ref, request = _request(session, reference)
    if request.status == "done":
        return False
    request.status = "done"
    request.done_at = clock.now()
    audit.record(session, "done", staff_id, request.patient_id, ref)
    return True


def assign(session: Session, reference: str, staff_id: int, assignee: str) -> None:
    """Assign a request to an active staff member by username (LookupError if none)."""
    ref, request = _request(session, reference)
    member = session.execute(
        select(StaffMember).where(StaffMember.username == assignee.strip().lower())
    ).scalar_one_or_none()
    if member is None or member.disabled_at is not None:
        raise LookupError(f"no active account called {assignee.strip().lower()}")
    audit.record(session, "assign", staff_id, request.patient_id, ref, member.username)


def add_note(session: Session, reference: str, staff_id: int, note: str) -> None:
    """Keep a staff note on a request (ValueError if empty or too long)."""
    ref, request = _request(session, reference)
    text = " ".join((note or "").split())
    if not text:
        raise ValueError("the note is empty")
    if len(text) > MAX_NOTE:
        raise ValueError(f"a note can be at most {MAX_NOTE} characters")
    audit.record(session, "note", staff_id, request.patient_id, ref, text)


def file_callback(session: Session, portal_id: str, window: str) -> str | None:
    """File a callback request on the number on record; its reference, or None if one is
    already pending. ValueError for an unknown window, LookupError for an unknown patient."""
    if window not in CALLBACK_WINDOWS:
        raise ValueError(f"window must be one of {', '.join(CALLBACK_WINDOWS)}")
    patient = session.execute(
        select(Patient).where(Patient.portal_id == portal_id).with_for_update()
    ).scalar_one_or_none()
    if patient is None:
        raise LookupError("no such patient")
    pending = session.execute(
        select(CallbackRequest.id).where(
            CallbackRequest.patient_id == patient.id, CallbackRequest.status == "pending"
        )
    ).first()
    if pending is not None:
        return None
    request = CallbackRequest(
        patient_id=patient.id, time_window=window, phone=patient.phone, created=clock.now()
    )
    session.add(request)
    session.flush()
    return f"cb-{request.id}"


def pending_reference(session: Session, kind: str, portal_id: str) -> str | None:
    """The newest pending request of `kind` ("f2f", "phone", "cb") for a patient, if any."""
    model = REFERENCE_PREFIXES[kind]
    request_id = session.execute(
        select(model.id)
        .join(Patient, model.patient_id == Patient.id)
        .where(Patient.portal_id == portal_id, model.status == "pending")
        .order_by(model.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    return f"{kind}-{request_id}" if request_id is not None else None
