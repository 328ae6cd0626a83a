"""Erasure and retention: `bot erase PATIENT_ID` and `bot purge --older-than 30d`.

Both work on the tables that already exist (no migration): the patient-record tables and
Rasa's conversation store, the ``events`` table in the same database. A conversation belongs
to a patient when any of its user messages carries the patient as ``verified_patient`` in
the channel's metadata (conversation ids are one-way HMACs, so this is the only link).
Everything is deleted for real: there is no soft delete left behind.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, inspect, select, text, update
from sqlalchemy.orm import Session

from bot.storage.models import (
    Appointment,
    AuditEntry,
    CallbackRequest,
    FaceToFaceRequest,
    NumberCorrection,
    Patient,
    PatientQuestion,
    to_utc,
)

EVENTS_TABLE = "events"
_PERIOD = re.compile(r"^\s*(\d+)\s*([dhw])\s*$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_period(value: str) -> timedelta:
    """'30d', '12h' or '2w' as a timedelta (at least an hour)."""
    match = _PERIOD.match(value or "")
    if not match:
        raise ValueError(f"period {value!r} must look like 30d, 12h or 2w")
    period = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if period < timedelta(hours=1):
        raise ValueError("the period must be at least 1h")
    return period


@dataclass
class Removed:
    """How many rows of each kind were deleted."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, count: int) -> None:
        """Count `count` more rows of `what`."""
        self.counts[what] = self.counts.get(what, 0) + int(count or 0)

    @property
    def total(self) -> int:
        """All rows deleted."""
        return sum(self.counts.values())

    def lines(self) -> list[str]:
        """One 'what: count' line per kind, in a stable order."""
        return [f"{what}: {count}" for what, count in self.counts.items()]


def _has_events(session: Session) -> bool:
    return inspect(session.connection()).has_table(EVENTS_TABLE)


def conversations_of(session: Session, portal_id: str) -> set[str]:
    """The conversation ids with a user message the channel verified as `portal_id`."""
    if not _has_events(session):
        return set()
    # Narrow with LIKE on the JSON-encoded id (as Rasa writes it), then check each event.
    needle = json.dumps(portal_id)[1:-1]
    needle = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = session.execute(
        text(
            f"SELECT sender_id, data FROM {EVENTS_TABLE} "  # noqa: S608 (a constant)
            "WHERE type_name = 'user' AND data LIKE :needle ESCAPE '\\'"
        ),
        {"needle": f"%{needle}%"},
    ).all()
    found = set()
    for sender_id, data in rows:
        try:
            metadata = json.loads(data).get("metadata") or {}
        except (ValueError, AttributeError):
            continue
        if isinstance(metadata, dict) and metadata.get("verified_patient") == portal_id:
            found.add(sender_id)
    return found


def _delete_conversations(session: Session, sender_ids: set[str], removed: Removed) -> None:
    removed.add("conversations", len(sender_ids))
    events = 0
    ids = sorted(sender_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        params = {f"s{i}": sid for i, sid in enumerate(chunk)}
        placeholders = ", ".join(f":s{i}" for i in range(len(chunk)))
        result = session.execute(
            text(f"DELETE FROM {EVENTS_TABLE} WHERE sender_id IN ({placeholders})"),  # noqa: S608
            params,
        )
        events += result.rowcount or 0
    removed.add("conversation events", events)


def erase_patient(session: Session, portal_id: str) -> Removed:
    """Delete the patient, everything linked to them, and every conversation bound to them."""
    removed = Removed()
    patient = session.execute(
        select(Patient).where(Patient.portal_id == portal_id)
    ).scalar_one_or_none()
    if patient is not None:
        # Children first and explicitly: not every SQLite connection enforces foreign keys.
        for label, model in (
            ("questions", PatientQuestion),
            ("face-to-face requests", FaceToFaceRequest),
            ("number corrections", NumberCorrection),
            ("callback requests", CallbackRequest),
            ("appointments", Appointment),
        ):
            result = session.execute(delete(model).where(model.patient_id == patient.id))
            removed.add(label, result.rowcount)
        # The audit trail of who looked stays (it is the staff's record), unlinked from them.
        session.execute(
            update(AuditEntry).where(AuditEntry.patient_id == patient.id).values(patient_id=None)
        )
        session.execute(delete(Patient).where(Patient.id == patient.id))
        removed.add("patient records", 1)
    _delete_conversations(session, conversations_of(session, portal_id), removed)
    return removed


def purge(session: Session, older_than: timedelta, now: datetime) -> Removed:
    """Delete conversations idle for longer than `older_than`, and questions removed as long ago.

    Anonymous people's data (their question lists) lives only in their conversations, so
    it goes with them.
    """
    cutoff = to_utc(now) - older_than  # type: ignore[operator]
    removed = Removed()
    if _has_events(session):
        stale = session.execute(
            text(
                f"SELECT sender_id FROM {EVENTS_TABLE} GROUP BY sender_id "  # noqa: S608
                "HAVING MAX(timestamp) < :cutoff"
            ),
            {"cutoff": cutoff.timestamp()},
        ).scalars()
        _delete_conversations(session, set(stale), removed)
    else:
        removed.add("conversations", 0)
    result = session.execute(
        delete(PatientQuestion).where(
            PatientQuestion.removed_at.is_not(None), PatientQuestion.removed_at < cutoff
        )
    )
    removed.add("removed questions", result.rowcount)
    return removed
