"""Import patients and appointments from an HL7 FHIR R4 Bundle (JSON), all or nothing.

Parsing and validation use ``fhir.resources`` 6.5 (FHIR 4.3.0 / R4B, whose Bundle,
Patient and Appointment are the same as R4's). The Bundle ``type`` must be
``collection``, ``transaction`` or ``batch``; entries are upserts whatever their
``request`` says (only POST and PUT are accepted). Other resource types
(Practitioner, Location, ...) are validated and then skipped.

Input is a parsed dict, JSON text (str or bytes) or a `Path` to a JSON file.

Identifiers used below (the constants of this module):

- `PORTAL_ID_SYSTEM` = https://portal.example-hospital.nhs.uk/patient-id
- `TREATMENT_END_DATE_URL` = https://all-followup.example/fhir/StructureDefinition/treatment-end-date
- `ADVICE_LINE_URL` = https://all-followup.example/fhir/StructureDefinition/advice-line
- `APPOINTMENT_KIND_URL` = https://all-followup.example/fhir/StructureDefinition/appointment-kind
- `VIDEO_LINK_URL` = https://all-followup.example/fhir/StructureDefinition/video-link
- `CONTACT_ROLE_SYSTEM` = https://all-followup.example/fhir/CodeSystem/contact-role

Mapping
-------
Patient (upserted by portal id):

- portal id: ``identifier.value`` whose ``system`` is `PORTAL_ID_SYSTEM`;
  if there is none, ``Patient.id``.
  It is the ``sub`` of the portal's tokens.
- given / family name: ``name[0].given[0]`` (required) and ``name[0].family``.
- phone: ``telecom`` with ``system`` phone, preferring ``use`` mobile; ``use`` old is ignored.
- treatment end date: extension `TREATMENT_END_DATE_URL` (``valueDate``, a full date).
- specialist nurse: the ``contact`` whose ``relationship`` has a coding with system
  `CONTACT_ROLE_SYSTEM` and code ``specialist-nurse``; its ``name`` (``text``, else
  given + family) and its first phone ``telecom``.
- hospital: ``managingOrganization.display``; its 24-hour advice line from extension
  `ADVICE_LINE_URL` (``valueString``) on ``managingOrganization`` or else on the Patient.

Appointment (upserted by external id ``fhir:Appointment/<id>``, so ``id`` is required):

- patient: the participant whose ``actor.reference`` is ``Patient/<id>`` (or the
  ``fullUrl`` of a Patient entry) resolved against the bundle's Patient resources; if
  that patient is not in the bundle, ``actor.identifier`` with system
  `PORTAL_ID_SYSTEM` must name a patient already in the database. Exactly one patient.
  An appointment already imported for a different patient is refused, not moved.
- kind, first match wins: extension `APPOINTMENT_KIND_URL` (``valueCode``
  face_to_face | telephone | video); else the text, codes and displays of each
  ``serviceType`` and then ``appointmentType``: "telephone"/"phone" -> telephone,
  "video" -> video, "face"/"in person" -> face_to_face (case-insensitive; a concept
  naming two of these is an error); if none names one, "routine"/"checkup" in any
  of them (HL7 v2-0276 ROUTINE, CHECKUP) -> face_to_face. No match is an error.
- start / end: instants with a UTC offset; ``start`` is required, ``end`` optional
  and not before ``start``. Stored as UTC.
- status (see `bot.storage.models.FHIR_STATUS_MAP`): proposed, pending, booked, arrived,
  checked-in -> booked; fulfilled -> attended; cancelled, noshow, entered-in-error,
  waitlist -> cancelled. Anything else is an error.
- clinician: ``actor.display`` of the Practitioner/PractitionerRole participant,
  else that participant's ``type`` text (a role such as "Clinical nurse specialist").
- location: ``actor.display`` of the Location participant.
- video link: extension `VIDEO_LINK_URL` (``valueUrl``, must be https).

Appointments missing from a later bundle are left alone (a bundle is not a snapshot).

All or nothing: the whole bundle is validated and mapped before anything is written;
every problem is collected into one `FhirImportError` whose lines name the entry
(numbered from 1) and the resource, e.g.
``entry 3 (Appointment/appt-2): status 'xyz' is not a valid Appointment status``.
Writes happen inside a SAVEPOINT, so a failure leaves the caller's session as it was;
the caller commits (e.g. with `bot.storage.db.session_scope`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fhir.resources import get_fhir_model_class
from fhir.resources.appointment import Appointment as FhirAppointment
from fhir.resources.bundle import Bundle
from fhir.resources.patient import Patient as FhirPatient
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.models import APPOINTMENT_KINDS, Appointment, Patient, map_fhir_status, to_utc

PORTAL_ID_SYSTEM = "https://portal.example-hospital.nhs.uk/patient-id"
_SD = "https://all-followup.example/fhir/StructureDefinition/"
TREATMENT_END_DATE_URL = _SD + "treatment-end-date"
ADVICE_LINE_URL = _SD + "advice-line"
APPOINTMENT_KIND_URL = _SD + "appointment-kind"
VIDEO_LINK_URL = _SD + "video-link"
CONTACT_ROLE_SYSTEM = "https://all-followup.example/fhir/CodeSystem/contact-role"
SPECIALIST_NURSE_CODE = "specialist-nurse"
EXTERNAL_ID_PREFIX = "fhir:Appointment/"
BUNDLE_TYPES = ("collection", "transaction", "batch")

_MAX_LEN = {
    "portal_id": 128,
    "given_name": 200,
    "family_name": 200,
    "phone": 40,
    "nurse_name": 200,
    "nurse_phone": 40,
    "hospital_name": 200,
    "hospital_advice_line": 40,
    "external_id": 200,
    "clinician": 200,
    "location": 300,
    "video_link": 500,
}
_PATIENT_REF = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
_MAX_PROBLEMS_SHOWN = 20


class FhirImportError(ValueError):
    """A bundle that cannot be imported; `problems` lists each one, naming the resource."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        if len(self.problems) == 1:
            message = self.problems[0]
        else:
            shown = self.problems[:_MAX_PROBLEMS_SHOWN]
            more = len(self.problems) - len(shown)
            message = f"{len(self.problems)} problems in the bundle:\n" + "\n".join(
                f"- {p}" for p in shown
            )
            if more:
                message += f"\n- ... and {more} more"
        super().__init__(message)


@dataclass
class ImportReport:
    """What an import did; unchanged rows matched an existing record exactly."""

    patients_created: int = 0
    patients_updated: int = 0
    appointments_created: int = 0
    appointments_updated: int = 0
    patients_unchanged: int = 0
    appointments_unchanged: int = 0
    skipped: int = 0


@dataclass
class _PatientRow:
    label: str
    fhir_id: str | None
    full_url: str | None
    values: dict[str, Any]


@dataclass
class _AppointmentRow:
    label: str
    # Either the portal id of a Patient in this bundle, or one to look up in the database.
    portal_id: str
    in_bundle: bool
    values: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- loading


def _read(data: dict | str | bytes | Path) -> Any:
    if isinstance(data, dict):
        return data
    if isinstance(data, Path):
        try:
            data = data.read_bytes()
        except OSError as exc:
            raise FhirImportError(f"cannot read {data}: {exc.strerror or exc}") from None
    if isinstance(data, (str, bytes)):
        try:
            return json.loads(data)
        except UnicodeDecodeError:
            raise FhirImportError("not valid JSON: the file is not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            hint = "" if isinstance(data, bytes) else " (to import a file, pass a Path)"
            raise FhirImportError(
                f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}{hint}"
            ) from None
    raise FhirImportError(f"expected a dict, JSON text or a Path, not {type(data).__name__}")


def _label(index: int, raw: Any) -> str:
    resource = raw.get("resource") if isinstance(raw, dict) else None
    if isinstance(resource, dict):
        rtype = resource.get("resourceType")
        rid = resource.get("id")
        if isinstance(rtype, str) and isinstance(rid, str):
            return f"entry {index + 1} ({rtype}/{rid})"
        if isinstance(rtype, str):
            return f"entry {index + 1} ({rtype})"
    return f"entry {index + 1}"


def _check_shape(raw: Any) -> list[dict]:
    """Check what fhir.resources would otherwise reject obscurely (or not at all)."""
    if not isinstance(raw, dict):
        raise FhirImportError(f"expected a FHIR Bundle (a JSON object), got {type(raw).__name__}")
    rtype = raw.get("resourceType")
    if rtype is None:
        raise FhirImportError("not a FHIR resource: there is no resourceType")
    if rtype != "Bundle":
        raise FhirImportError(f"expected a FHIR Bundle, got resourceType {rtype!r}")
    btype = raw.get("type")
    if btype not in BUNDLE_TYPES:
        raise FhirImportError(
            f"Bundle type {btype!r} is not supported (use {', '.join(BUNDLE_TYPES)})"
        )
    entries = raw.get("entry", [])
    if not isinstance(entries, list):
        raise FhirImportError("Bundle.entry must be a list")
    problems = []
    for i, entry in enumerate(entries):
        label = _label(i, entry)
        if not isinstance(entry, dict):
            problems.append(f"{label}: is not a JSON object")
            continue
        resource = entry.get("resource")
        if not isinstance(resource, dict):
            problems.append(f"{label}: has no resource")
            continue
        rtype = resource.get("resourceType")
        if not isinstance(rtype, str) or not rtype:
            problems.append(f"{label}: resource has no resourceType")
            continue
        try:
            get_fhir_model_class(rtype)
        except KeyError:
            problems.append(f"{label}: unknown resourceType {rtype!r}")
            continue
        request = entry.get("request")
        method = request.get("method") if isinstance(request, dict) else None
        if method not in (None, "POST", "PUT"):
            problems.append(f"{label}: request method {method!r} is not supported (POST or PUT)")
    if problems:
        raise FhirImportError(problems)
    return entries


def _validation_problems(exc: ValidationError, entries: list[dict]) -> list[str]:
    problems = []
    for err in exc.errors():
        loc = list(err["loc"])
        prefix = "Bundle"
        if len(loc) >= 2 and loc[0] == "entry" and isinstance(loc[1], int):
            prefix = _label(loc[1], entries[loc[1]] if loc[1] < len(entries) else None)
            loc = loc[3:] if len(loc) > 2 and loc[2] == "resource" else loc[2:]
        path = ".".join(str(p) for p in loc if p != "__root__")
        problems.append(f"{prefix}: {path}: {err['msg']}" if path else f"{prefix}: {err['msg']}")
    return problems


def load_bundle(data: dict | str | bytes | Path) -> Bundle:
    """Parse and validate a FHIR Bundle, raising FhirImportError with readable problems."""
    raw = _read(data)
    entries = _check_shape(raw)
    try:
        return Bundle.parse_obj(raw)
    except ValidationError as exc:
        raise FhirImportError(_validation_problems(exc, entries)) from None
    except (LookupError, TypeError, ValueError) as exc:
        raise FhirImportError(f"not a valid FHIR Bundle: {exc}") from None


# ---------------------------------------------------------------- mapping helpers


class _Problem(Exception):
    """One mapping problem in the resource being mapped."""


def _limit(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > _MAX_LEN[name]:
        raise _Problem(f"{name.replace('_', ' ')} is longer than {_MAX_LEN[name]} characters")
    return value


def _extensions(element: Any, url: str) -> list[Any]:
    return [e for e in (getattr(element, "extension", None) or []) if e.url == url]


def _one_extension(element: Any, url: str, value_attr: str) -> Any:
    found = _extensions(element, url)
    if not found:
        return None
    if len(found) > 1:
        raise _Problem(f"more than one extension {url}")
    value = getattr(found[0], value_attr, None)
    if value is None:
        raise _Problem(f"extension {url} needs a {value_attr}")
    return value


def _phone(telecoms: Any, prefer_mobile: bool) -> str | None:
    phones = [t for t in (telecoms or []) if t.system == "phone" and t.value and t.use != "old"]
    if prefer_mobile:
        phones.sort(key=lambda t: t.use != "mobile")  # stable: mobile first, order kept
    return phones[0].value if phones else None


def _human_name(name: Any) -> str | None:
    if name is None:
        return None
    if name.text:
        return name.text
    parts = [*(name.given or []), name.family or ""]
    return " ".join(p for p in parts if p) or None


def _is_nurse(contact: Any) -> bool:
    for concept in contact.relationship or []:
        for coding in concept.coding or []:
            if coding.system == CONTACT_ROLE_SYSTEM and coding.code == SPECIALIST_NURSE_CODE:
                return True
    return False


def _portal_id(patient: FhirPatient) -> str:
    values = {
        i.value for i in (patient.identifier or []) if i.system == PORTAL_ID_SYSTEM and i.value
    }
    if len(values) > 1:
        raise _Problem("has more than one portal identifier")
    value = next(iter(values), None) or patient.id
    if not value:
        raise _Problem(f"has neither an identifier with system {PORTAL_ID_SYSTEM} nor an id")
    return _limit("portal_id", value)


def _map_patient(patient: FhirPatient) -> dict[str, Any]:
    values: dict[str, Any] = {"portal_id": _portal_id(patient)}
    name = (patient.name or [None])[0]
    if name is None or not name.given or not name.given[0]:
        raise _Problem("name[0].given is missing (a given name is needed)")
    values["given_name"] = _limit("given_name", name.given[0])
    values["family_name"] = _limit("family_name", name.family)
    values["phone"] = _limit("phone", _phone(patient.telecom, prefer_mobile=True))

    end = _one_extension(patient, TREATMENT_END_DATE_URL, "valueDate")
    if end is not None and (not isinstance(end, date) or isinstance(end, datetime)):
        raise _Problem("treatment end date must be a full date (YYYY-MM-DD)")
    values["treatment_end_date"] = end

    nurse = next((c for c in patient.contact or [] if _is_nurse(c)), None)
    values["nurse_name"] = _limit("nurse_name", _human_name(nurse.name) if nurse else None)
    values["nurse_phone"] = _limit(
        "nurse_phone", _phone(nurse.telecom, prefer_mobile=False) if nurse else None
    )

    org = patient.managingOrganization
    values["hospital_name"] = _limit("hospital_name", org.display if org else None)
    advice = _one_extension(org, ADVICE_LINE_URL, "valueString") if org else None
    if advice is None:
        advice = _one_extension(patient, ADVICE_LINE_URL, "valueString")
    values["hospital_advice_line"] = _limit("hospital_advice_line", advice)
    return values


# Words naming a modality outright; a concept naming two of them is ambiguous.
_KIND_WORDS = (
    ("telephone", ("telephone", "phone")),
    ("video", ("video",)),
    ("face_to_face", ("face", "in person")),
)
# HL7 v2-0276 style codes that imply a clinic visit only when no modality is named,
# so "Routine telephone review" is still a telephone appointment.
_FACE_TO_FACE_HINTS = ("routine", "checkup", "check up")


def _concept_words(concept: Any) -> str:
    texts = [concept.text or ""]
    for coding in concept.coding or []:
        texts += [coding.code or "", coding.display or ""]
    # Codes like "face_to_face" or "in-person" should read like words.
    return " ".join(re.sub(r"[^a-z0-9]+", " ", t.lower()) for t in texts)


def _named_kind(concept: Any) -> str | None:
    blob = _concept_words(concept)
    kinds = {kind for kind, words in _KIND_WORDS if any(w in blob for w in words)}
    if len(kinds) > 1:
        shown = repr(concept.text) if concept.text else "a coding"
        raise _Problem(f"cannot tell the kind: {shown} names more than one")
    return kinds.pop() if kinds else None


def _kind(appt: FhirAppointment) -> str:
    code = _one_extension(appt, APPOINTMENT_KIND_URL, "valueCode")
    if code is not None:
        if code not in APPOINTMENT_KINDS:
            raise _Problem(
                f"appointment-kind {code!r} is not one of {', '.join(APPOINTMENT_KINDS)}"
            )
        return code
    concepts = [*(appt.serviceType or [])]
    if appt.appointmentType is not None:
        concepts.append(appt.appointmentType)
    for concept in concepts:
        kind = _named_kind(concept)
        if kind is not None:
            return kind
    for concept in concepts:
        if any(w in _concept_words(concept) for w in _FACE_TO_FACE_HINTS):
            return "face_to_face"
    raise _Problem(
        "cannot tell whether it is face to face, telephone or video "
        f"(add extension {APPOINTMENT_KIND_URL} or a serviceType/appointmentType)"
    )


def _ref_type(actor: Any) -> str | None:
    if actor.type:
        return actor.type
    ref = re.sub(r"/_history/[^/]+$", "", actor.reference or "")
    match = re.search(r"(?:^|/)([A-Z][A-Za-z]+)/[^/]+$", ref)
    return match.group(1) if match else None


def _participant_text(participants: list[Any], types: tuple[str, ...]) -> str | None:
    for part in participants:
        actor = part.actor
        if actor is None or _ref_type(actor) not in types:
            continue
        if actor.display:
            return actor.display
        for concept in part.type or []:
            text = concept.text or next(
                (c.display for c in concept.coding or [] if c.display), None
            )
            if text:
                return text
    return None


def _instant(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise _Problem(f"{name} needs a UTC offset")
    return to_utc(value)


def _map_appointment(appt: FhirAppointment) -> dict[str, Any]:
    if not appt.id:
        raise _Problem("has no id (needed to recognise it on re-import)")
    try:
        status = map_fhir_status(appt.status)
    except ValueError as exc:
        raise _Problem(str(exc)) from None
    values: dict[str, Any] = {
        "external_id": _limit("external_id", EXTERNAL_ID_PREFIX + appt.id),
        "status": status,
    }
    start = _instant(appt.start, "start")
    if start is None:
        raise _Problem("start is missing")
    end = _instant(appt.end, "end")
    if end is not None and end < start:
        raise _Problem("end is before start")
    values.update(start=start, end=end, kind=_kind(appt))
    participants = appt.participant or []
    values["clinician"] = _limit(
        "clinician", _participant_text(participants, ("Practitioner", "PractitionerRole"))
    )
    values["location"] = _limit("location", _participant_text(participants, ("Location",)))
    link = _one_extension(appt, VIDEO_LINK_URL, "valueUrl")
    if link is not None and not str(link).lower().startswith("https://"):
        raise _Problem("video link must be an https:// address")
    values["video_link"] = _limit("video_link", str(link) if link is not None else None)
    return values


def _is_patient_actor(actor: Any, full_urls: dict[str, str]) -> bool:
    ref = actor.reference or ""
    if ref in full_urls or _ref_type(actor) == "Patient":
        return True
    # A bare portal identifier can only mean a patient.
    ident = actor.identifier
    return not ref and ident is not None and ident.system == PORTAL_ID_SYSTEM


def _patient_actor(appt: FhirAppointment, full_urls: dict[str, str]) -> Any:
    actors = []
    for part in appt.participant or []:
        actor = part.actor
        if actor is None:
            continue
        if _is_patient_actor(actor, full_urls):
            actors.append(actor)
    if not actors:
        raise _Problem("has no Patient participant")
    if len(actors) > 1:
        raise _Problem("has more than one Patient participant")
    return actors[0]


def _resolve_patient(
    actor: Any, full_urls: dict[str, str], by_fhir_id: dict[str, str], bundle_portal_ids: set[str]
) -> tuple[str, bool]:
    """Return (portal id, whether that patient is in this bundle)."""
    ref = actor.reference or ""
    if ref in full_urls:
        return full_urls[ref], True
    match = _PATIENT_REF.search(ref)
    if match and match.group(1) in by_fhir_id:
        return by_fhir_id[match.group(1)], True
    ident = actor.identifier
    if ident is not None and ident.system == PORTAL_ID_SYSTEM and ident.value:
        return ident.value, ident.value in bundle_portal_ids
    shown = f"patient reference {ref!r}" if ref else "the patient"
    raise _Problem(
        f"{shown} is not in the bundle and has no identifier with system {PORTAL_ID_SYSTEM}"
    )


def _map_bundle(bundle: Bundle) -> tuple[list[_PatientRow], list[_AppointmentRow], int]:
    """Map a validated Bundle to row values, raising FhirImportError listing every problem."""
    problems: list[str] = []
    patients: list[_PatientRow] = []
    appointments: list[tuple[str, FhirAppointment]] = []
    skipped = 0
    for i, entry in enumerate(bundle.entry or []):
        resource = entry.resource
        rtype = resource.resource_type
        label = (
            f"entry {i + 1} ({rtype}/{resource.id})" if resource.id else f"entry {i + 1} ({rtype})"
        )
        if rtype == "Patient":
            try:
                values = _map_patient(resource)
            except _Problem as exc:
                problems.append(f"{label}: {exc}")
                continue
            patients.append(_PatientRow(label, resource.id, entry.fullUrl, values))
        elif rtype == "Appointment":
            appointments.append((label, resource))
        else:
            skipped += 1

    seen: dict[str, str] = {}
    for row in patients:
        pid = row.values["portal_id"]
        if pid in seen:
            problems.append(f"{row.label}: same patient as {seen[pid]}")
        seen[pid] = row.label
    full_urls = {p.full_url: p.values["portal_id"] for p in patients if p.full_url}
    by_fhir_id = {p.fhir_id: p.values["portal_id"] for p in patients if p.fhir_id}
    portal_ids = set(seen)

    rows: list[_AppointmentRow] = []
    seen_appts: dict[str, str] = {}
    for label, appt in appointments:
        try:
            values = _map_appointment(appt)
            actor = _patient_actor(appt, full_urls)
            portal_id, in_bundle = _resolve_patient(actor, full_urls, by_fhir_id, portal_ids)
        except _Problem as exc:
            problems.append(f"{label}: {exc}")
            continue
        ext = values["external_id"]
        if ext in seen_appts:
            problems.append(f"{label}: same appointment as {seen_appts[ext]}")
            continue
        seen_appts[ext] = label
        rows.append(_AppointmentRow(label, portal_id, in_bundle, values))
    if problems:
        raise FhirImportError(problems)
    return patients, rows, skipped


# ---------------------------------------------------------------- writing


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, datetime) and isinstance(new, datetime):
        return to_utc(old) == to_utc(new)
    return old == new


def _apply(obj: Any, values: dict[str, Any]) -> bool:
    changed = False
    for key, value in values.items():
        if not _same(getattr(obj, key), value):
            setattr(obj, key, value)
            changed = True
    return changed


def import_bundle(session: Session, data: dict | str | bytes | Path) -> ImportReport:
    """Validate, map and upsert a FHIR Bundle's patients and appointments, all or nothing.

    `data` is a parsed dict, JSON text (str/bytes) or a Path to a JSON file. Raises
    FhirImportError, with nothing written, if any part of the bundle is unusable.
    """
    bundle = load_bundle(data)
    patient_rows, appt_rows, skipped = _map_bundle(bundle)
    report = ImportReport(skipped=skipped)

    # Read what exists, then check for conflicts before the first write.
    bundle_ids = [r.values["portal_id"] for r in patient_rows]
    lookup_ids = {r.portal_id for r in appt_rows if not r.in_bundle}
    wanted = set(bundle_ids) | lookup_ids
    existing = (
        {
            p.portal_id: p
            for p in session.execute(select(Patient).where(Patient.portal_id.in_(wanted))).scalars()
        }
        if wanted
        else {}
    )
    ext_ids = [r.values["external_id"] for r in appt_rows]
    existing_appts = (
        {
            a.external_id: a
            for a in session.execute(
                select(Appointment).where(Appointment.external_id.in_(ext_ids))
            ).scalars()
        }
        if ext_ids
        else {}
    )
    problems = []
    for row in appt_rows:
        if not row.in_bundle and row.portal_id not in existing:
            problems.append(
                f"{row.label}: no patient with that portal identifier is in the bundle "
                "or the database"
            )
            continue
        old = existing_appts.get(row.values["external_id"])
        if old is not None and old.patient.portal_id != row.portal_id:
            problems.append(
                f"{row.label}: was imported for a different patient; refusing to move it"
            )
    if problems:
        raise FhirImportError(problems)

    with session.begin_nested():
        by_portal: dict[str, Patient] = dict(existing)
        for row in patient_rows:
            pid = row.values["portal_id"]
            patient = existing.get(pid)
            if patient is None:
                patient = Patient(**row.values)
                session.add(patient)
                by_portal[pid] = patient
                report.patients_created += 1
            elif _apply(patient, row.values):
                report.patients_updated += 1
            else:
                report.patients_unchanged += 1
        session.flush()
        for row in appt_rows:
            patient = by_portal[row.portal_id]
            appt = existing_appts.get(row.values["external_id"])
            if appt is None:
                session.add(Appointment(patient_id=patient.id, **row.values))
                report.appointments_created += 1
            elif _apply(appt, row.values):
                report.appointments_updated += 1
            else:
                report.appointments_unchanged += 1
        session.flush()
    return report
