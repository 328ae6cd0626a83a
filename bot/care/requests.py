"""The staff side of patients' requests: face-to-face instead of a call, and new phone numbers.

Both kinds are listed together, oldest first, each with a stable reference staff can quote:
``f2f-<id>`` for a face-to-face request and ``phone-<id>`` for a number correction.
Nothing here logs: reasons and numbers are the patient's personal data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import clock
from bot.storage.models import Appointment, FaceToFaceRequest, NumberCorrection, Patient, as_utc

REFERENCE_PREFIXES = {"f2f": FaceToFaceRequest, "phone": NumberCorrection}
_REFERENCE = re.compile(r"^\s*(?P<prefix>f2f|phone)-(?P<id>\d{1,9})\s*$", re.IGNORECASE)

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
    kind: str  # "face_to_face" or "number_correction"
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

    @property
    def detail(self) -> str:
        """The reason given or the new number, for display to staff."""
        return (self.new_phone if self.kind == "number_correction" else self.reason) or ""


def list_requests(session: Session, include_done: bool = False) -> list[RequestView]:
    """Return face-to-face requests and number corrections, oldest first (pending only unless
    `include_done`)."""
    f2f_query = (
        select(FaceToFaceRequest, Patient.portal_id, Appointment.start, Appointment.kind)
        .join(Patient, FaceToFaceRequest.patient_id == Patient.id)
        .join(Appointment, FaceToFaceRequest.appointment_id == Appointment.id)
    )
    phone_query = select(NumberCorrection, Patient.portal_id).join(
        Patient, NumberCorrection.patient_id == Patient.id
    )
    if not include_done:
        f2f_query = f2f_query.where(FaceToFaceRequest.status == "pending")
        phone_query = phone_query.where(NumberCorrection.status == "pending")
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
        )
        for req, portal_id in session.execute(phone_query)
    ]
    return sorted(views, key=lambda v: (v.created, v.kind, int(v.reference.split("-")[1])))


def pending_requests(session: Session) -> list[RequestView]:
    """Return every pending face-to-face request and number correction, oldest first."""
    return list_requests(session)


def parse_reference(reference: str) -> tuple[str, int]:
    """Split "f2f-3" / "phone-5" (any case) into ("f2f", 3); ValueError if malformed."""
    match = _REFERENCE.match(reference or "")
    if match is None:
        raise ValueError(f"{reference!r} is not a request reference (like f2f-3 or phone-5)")
    return match.group("prefix").lower(), int(match.group("id"))


def mark_done(session: Session, reference: str) -> bool:
    """Mark a request done; True if it was pending, False if it was already done.

    Raises ValueError for a malformed reference and LookupError if there is no such request.
    """
    prefix, request_id = parse_reference(reference)
    request = session.get(REFERENCE_PREFIXES[prefix], request_id)
    if request is None:
        raise LookupError(f"no request {prefix}-{request_id}")
    if request.status == "done":
        return False
    request.status = "done"
    request.done_at = clock.now()
    session.flush()
    return True
