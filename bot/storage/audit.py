"""The audit log: every staff view of a patient and every change to a request, with who and when.

Rows are only ever added. `staff_id` None means the `bot` command line on the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import clock
from bot.storage.models import AuditEntry, Patient, StaffMember, as_utc

COMMAND_LINE = "command line"


@dataclass(frozen=True)
class AuditView:
    """One audit row, with the staff member's username and the patient's portal id."""

    id: int
    at: datetime
    who: str
    action: str
    portal_id: str | None
    reference: str | None
    detail: str | None


def record(
    session: Session,
    action: str,
    staff_id: int | None = None,
    patient_id: int | None = None,
    reference: str | None = None,
    detail: str | None = None,
) -> None:
    """Append one row (in the caller's transaction, so it stands or falls with the change)."""
    session.add(
        AuditEntry(
            at=clock.now(),
            staff_id=staff_id,
            action=action,
            patient_id=patient_id,
            reference=reference,
            detail=detail,
        )
    )
    session.flush()


def entries(
    session: Session,
    reference: str | None = None,
    patient_id: int | None = None,
    limit: int = 500,
) -> list[AuditView]:
    """The newest rows first, optionally only for one request or one patient."""
    query = (
        select(AuditEntry, StaffMember.username, Patient.portal_id)
        .outerjoin(StaffMember, AuditEntry.staff_id == StaffMember.id)
        .outerjoin(Patient, AuditEntry.patient_id == Patient.id)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    if reference is not None:
        query = query.where(AuditEntry.reference == reference)
    if patient_id is not None:
        query = query.where(AuditEntry.patient_id == patient_id)
    return [
        AuditView(
            id=row.id,
            at=as_utc(row.at),
            who=username or COMMAND_LINE,
            action=row.action,
            portal_id=portal_id,
            reference=row.reference,
            detail=row.detail,
        )
        for row, username, portal_id in session.execute(query)
    ]
