import copy
import json
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.storage.fhir_import import (
    ADVICE_LINE_URL,
    APPOINTMENT_KIND_URL,
    CONTACT_ROLE_SYSTEM,
    PORTAL_ID_SYSTEM,
    TREATMENT_END_DATE_URL,
    VIDEO_LINK_URL,
    FhirImportError,
    ImportReport,
    import_bundle,
    load_bundle,
)
from bot.storage.models import Appointment, Patient

ROOT = Path(__file__).resolve().parents[2]
DEMO_BUNDLE = ROOT / "examples" / "fhir" / "demo-bundle.json"


def patient(pid: str = "pat-a", portal: str | None = "PORTAL-A", **extra: Any) -> dict:
    resource = {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"given": ["Ada"], "family": "Example"}],
        "telecom": [{"system": "phone", "value": "07700 900111", "use": "mobile"}],
    }
    if portal:
        resource["identifier"] = [{"system": PORTAL_ID_SYSTEM, "value": portal}]
    resource.update(extra)
    return {"resource": resource}


def appointment(aid: str = "appt-a", patient_ref: str = "Patient/pat-a", **extra: Any) -> dict:
    resource = {
        "resourceType": "Appointment",
        "id": aid,
        "status": "booked",
        "serviceType": [{"text": "Telephone follow-up"}],
        "start": "2030-01-10T10:00:00Z",
        "participant": [{"actor": {"reference": patient_ref}, "status": "accepted"}],
    }
    resource.update(extra)
    return {"resource": resource}


def bundle(*entries: dict, type_: str = "collection") -> dict:
    return {"resourceType": "Bundle", "type": type_, "entry": list(entries)}


def count(session, model) -> int:
    return session.execute(select(func.count()).select_from(model)).scalar_one()


def by_portal(session, portal_id: str) -> Patient:
    return session.execute(select(Patient).where(Patient.portal_id == portal_id)).scalar_one()


def appt(session, fhir_id: str) -> Appointment:
    return session.execute(
        select(Appointment).where(Appointment.external_id == f"fhir:Appointment/{fhir_id}")
    ).scalar_one()


# ---------------------------------------------------------------- happy path


def test_demo_bundle_imports_everything(session) -> None:
    report = import_bundle(session, DEMO_BUNDLE)
    assert report == ImportReport(patients_created=2, appointments_created=3)

    casey = by_portal(session, "PORTAL-1001")
    assert (casey.given_name, casey.family_name) == ("Casey", "Hartley")
    assert casey.phone == "07700 900801"  # the mobile, though home is listed first
    assert casey.treatment_end_date == date(2024, 2, 15)
    assert (casey.nurse_name, casey.nurse_phone) == ("Priya Shah", "0113 496 0101")
    assert casey.hospital_name == "St Example's Hospital"
    assert casey.hospital_advice_line == "0113 496 0000"
    dev = by_portal(session, "PORTAL-1002")
    assert dev.nurse_name == "Tom Barraclough"

    phone = appt(session, "appt-1")
    assert phone.patient_id == casey.id
    assert (phone.kind, phone.status, phone.clinician) == ("telephone", "booked", "Dr Amara Okafor")
    assert phone.start == datetime(2030, 3, 14, 10, 30, tzinfo=timezone.utc)

    video = appt(session, "appt-2")
    assert video.kind == "video"
    assert video.video_link == "https://video.example-hospital.nhs.uk/join/abc123"
    assert video.clinician == "Clinical nurse specialist"  # the role, as no name is given
    assert video.start == datetime(2030, 6, 12, 13, 0, tzinfo=timezone.utc)  # +01:00 -> UTC

    clinic = appt(session, "appt-3")
    assert clinic.patient_id == dev.id
    assert clinic.kind == "face_to_face"
    assert clinic.location == "Haematology Outpatients, Level 2"


def test_accepts_dict_text_and_bytes(session) -> None:
    data = json.loads(DEMO_BUNDLE.read_text())
    assert import_bundle(session, data).patients_created == 2
    assert import_bundle(session, json.dumps(data)).patients_unchanged == 2
    assert import_bundle(session, json.dumps(data).encode()).appointments_unchanged == 3


def test_reimport_is_idempotent(session) -> None:
    import_bundle(session, DEMO_BUNDLE)
    session.commit()
    report = import_bundle(session, DEMO_BUNDLE)
    assert report == ImportReport(patients_unchanged=2, appointments_unchanged=3)
    assert count(session, Patient) == 2
    assert count(session, Appointment) == 3


def test_reimport_updates_changed_fields(session) -> None:
    data = json.loads(DEMO_BUNDLE.read_text())
    import_bundle(session, data)
    session.commit()
    changed = copy.deepcopy(data)
    changed["entry"][2]["resource"]["status"] = "cancelled"
    changed["entry"][0]["resource"]["telecom"][1]["value"] = "07700 900999"
    report = import_bundle(session, changed)
    assert (report.patients_updated, report.patients_unchanged) == (1, 1)
    assert (report.appointments_updated, report.appointments_unchanged) == (1, 2)
    session.commit()
    assert appt(session, "appt-1").status == "cancelled"
    assert by_portal(session, "PORTAL-1001").phone == "07700 900999"
    assert count(session, Appointment) == 3


def test_portal_id_falls_back_to_patient_id(session) -> None:
    import_bundle(
        session, bundle(patient("pat-x", portal=None), appointment(patient_ref="Patient/pat-x"))
    )
    assert by_portal(session, "pat-x").given_name == "Ada"


def test_patient_found_by_full_url(session) -> None:
    pat = patient()
    pat["fullUrl"] = "urn:uuid:11111111-2222-3333-4444-555555555555"
    import_bundle(session, bundle(pat, appointment(patient_ref=pat["fullUrl"])))
    assert appt(session, "appt-a").patient.portal_id == "PORTAL-A"


def test_appointment_for_existing_patient_by_identifier(session) -> None:
    import_bundle(session, bundle(patient()))
    session.commit()
    later = appointment(aid="appt-later", patient_ref="Patient/somewhere-else")
    later["resource"]["participant"][0]["actor"]["identifier"] = {
        "system": PORTAL_ID_SYSTEM,
        "value": "PORTAL-A",
    }
    report = import_bundle(session, bundle(later))
    assert report.appointments_created == 1
    assert appt(session, "appt-later").patient.portal_id == "PORTAL-A"


def test_transaction_bundle_with_put_and_other_resources(session) -> None:
    pat = patient()
    pat["request"] = {"method": "PUT", "url": "Patient/pat-a"}
    practitioner = {
        "resource": {"resourceType": "Practitioner", "id": "prac-1", "name": [{"family": "X"}]},
        "request": {"method": "PUT", "url": "Practitioner/prac-1"},
    }
    report = import_bundle(session, bundle(pat, practitioner, appointment(), type_="transaction"))
    assert (report.patients_created, report.appointments_created, report.skipped) == (1, 1, 1)


def test_patient_extras_mapped(session) -> None:
    pat = patient(
        extension=[
            {"url": TREATMENT_END_DATE_URL, "valueDate": "2022-03-01"},
            {"url": ADVICE_LINE_URL, "valueString": "0113 496 0999"},
        ],
        contact=[
            {
                "relationship": [{"coding": [{"system": "http://other", "code": "N"}]}],
                "name": {"text": "Next of kin"},
            },
            {
                "relationship": [
                    {"coding": [{"system": CONTACT_ROLE_SYSTEM, "code": "specialist-nurse"}]}
                ],
                "name": {"given": ["Lee"], "family": "Nurse"},
                "telecom": [{"system": "phone", "value": "0113 496 0555"}],
            },
        ],
        managingOrganization={"display": "St Example's Hospital"},
    )
    pat["resource"]["telecom"] = [
        {"system": "phone", "value": "0113 496 0444", "use": "old"},
        {"system": "phone", "value": "0113 496 0333", "use": "home"},
    ]
    import_bundle(session, bundle(pat))
    row = by_portal(session, "PORTAL-A")
    assert row.treatment_end_date == date(2022, 3, 1)
    assert row.hospital_advice_line == "0113 496 0999"  # on the Patient when not on the org
    assert (row.nurse_name, row.nurse_phone) == ("Lee Nurse", "0113 496 0555")
    assert row.phone == "0113 496 0333"


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"serviceType": [{"text": "Telephone consultation"}]}, "telephone"),
        ({"serviceType": [{"coding": [{"code": "PHONE"}]}]}, "telephone"),
        ({"serviceType": [{"coding": [{"display": "Video clinic"}]}]}, "video"),
        ({"serviceType": [{"text": "In-person review"}]}, "face_to_face"),
        ({"serviceType": [{"text": "Face to face"}]}, "face_to_face"),
        ({"appointmentType": {"coding": [{"code": "CHECKUP"}]}}, "face_to_face"),
        ({"appointmentType": {"coding": [{"code": "ROUTINE"}]}}, "face_to_face"),
        ({"serviceType": [{"text": "Routine telephone review"}]}, "telephone"),
        (
            {
                "serviceType": [{"text": "Routine review"}],
                "appointmentType": {"text": "Video"},
            },
            "video",
        ),
        (
            {
                "serviceType": [{"text": "Haematology"}, {"text": "Video"}],
                "appointmentType": {"coding": [{"code": "ROUTINE"}]},
            },
            "video",
        ),
        (
            {
                "extension": [{"url": APPOINTMENT_KIND_URL, "valueCode": "telephone"}],
                "serviceType": [{"text": "Video"}],
            },
            "telephone",
        ),
    ],
)
def test_kind_detection(session, fields: dict, kind: str) -> None:
    entry = appointment()
    del entry["resource"]["serviceType"]
    entry["resource"].update(fields)
    import_bundle(session, bundle(patient(), entry))
    assert appt(session, "appt-a").kind == kind


@pytest.mark.parametrize(
    ("fhir_status", "ours"),
    [("proposed", "booked"), ("fulfilled", "attended"), ("noshow", "cancelled")],
)
def test_status_mapping(session, fhir_status: str, ours: str) -> None:
    import_bundle(session, bundle(patient(), appointment(status=fhir_status)))
    assert appt(session, "appt-a").status == ours


# ---------------------------------------------------------------- errors


def _error(session, data: Any) -> str:
    with pytest.raises(FhirImportError) as info:
        import_bundle(session, data)
    return str(info.value)


def test_malformed_json_text(session) -> None:
    assert "not valid JSON" in _error(session, '{"resourceType": "Bundle",')


def test_malformed_json_file(session, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{ nope")
    assert "not valid JSON" in _error(session, path)


def test_missing_file(session, tmp_path: Path) -> None:
    assert "cannot read" in _error(session, tmp_path / "absent.json")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"resourceType": "Patient", "id": "p"},
            "expected a FHIR Bundle, got resourceType 'Patient'",
        ),
        ("[1, 2]", "expected a FHIR Bundle (a JSON object), got list"),
        ({"type": "collection"}, "no resourceType"),
        (
            {"resourceType": "Bundle", "type": "searchset"},
            "Bundle type 'searchset' is not supported",
        ),
        ({"resourceType": "Bundle", "type": "collection", "entry": {}}, "must be a list"),
    ],
)
def test_not_a_usable_bundle(session, data: Any, expected: str) -> None:
    assert expected in _error(session, data)


def test_bad_resource_in_the_middle_writes_nothing(session) -> None:
    data = bundle(
        patient(),
        appointment("appt-1"),
        appointment("appt-2", status="xyz"),
        appointment("appt-3"),
    )
    message = _error(session, data)
    assert message == "entry 3 (Appointment/appt-2): status 'xyz' is not a valid Appointment status"
    assert count(session, Patient) == 0
    assert count(session, Appointment) == 0


def test_failed_reimport_leaves_existing_records_alone(session) -> None:
    good = bundle(patient(), appointment("appt-1"))
    import_bundle(session, good)
    session.commit()
    bad = bundle(
        patient(name=[{"given": ["Changed"]}]),
        appointment("appt-1", status="cancelled"),
        appointment("appt-2", start="2030-01-10T10:00:00"),  # no offset
    )
    message = _error(session, bad)
    assert "entry 3 (Appointment/appt-2): start" in message
    session.rollback()
    assert by_portal(session, "PORTAL-A").given_name == "Ada"
    assert appt(session, "appt-1").status == "booked"
    assert count(session, Appointment) == 1


def test_every_problem_is_listed(session) -> None:
    data = bundle(
        patient(name=[]),
        appointment("appt-1", patient_ref="Patient/nobody"),
        appointment("appt-2", serviceType=[{"text": "Haematology"}]),
        appointment("appt-3", extension=[{"url": VIDEO_LINK_URL, "valueUrl": "http://x.example"}]),
        appointment("appt-4", extension=[{"url": APPOINTMENT_KIND_URL, "valueCode": "carrier"}]),
        appointment("appt-5", start="2030-01-10T10:00:00Z", end="2030-01-10T09:00:00Z"),
    )
    with pytest.raises(FhirImportError) as info:
        import_bundle(session, data)
    problems = info.value.problems
    assert (
        problems[0] == "entry 1 (Patient/pat-a): name[0].given is missing (a given name is needed)"
    )
    joined = "\n".join(problems)
    assert (
        "entry 2 (Appointment/appt-1): patient reference 'Patient/nobody' is not in the bundle"
        in joined
    )
    assert "entry 3 (Appointment/appt-2): cannot tell whether it is face to face" in joined
    assert "entry 4 (Appointment/appt-3): video link must be an https:// address" in joined
    assert "entry 5 (Appointment/appt-4): appointment-kind 'carrier' is not one of" in joined
    assert "entry 6 (Appointment/appt-5): end is before start" in joined
    assert str(info.value).startswith("6 problems in the bundle:")
    assert count(session, Patient) == 0


def test_validation_errors_name_the_resource(session) -> None:
    missing = appointment("appt-9")
    del missing["resource"]["status"]
    message = _error(session, bundle(patient(), missing))
    assert message == "entry 2 (Appointment/appt-9): status: field required"
    extra = appointment("appt-8", bogus=1)
    message = _error(session, bundle(patient(), extra))
    assert message == "entry 2 (Appointment/appt-8): bogus: extra fields not permitted"
    bad_date = patient(birthDate="31/12/1990")
    assert _error(session, bundle(bad_date)).startswith("entry 1 (Patient/pat-a): birthDate: ")


def test_unknown_resource_type_and_missing_resource(session) -> None:
    data = bundle({"resource": {"resourceType": "Nonsense", "id": "n"}}, {"fullUrl": "urn:x"})
    message = _error(session, data)
    assert "entry 1 (Nonsense/n): unknown resourceType 'Nonsense'" in message
    assert "entry 2: has no resource" in message


def test_delete_requests_are_refused(session) -> None:
    entry = {
        "resource": patient()["resource"],
        "request": {"method": "DELETE", "url": "Patient/pat-a"},
    }
    assert "request method 'DELETE' is not supported" in _error(
        session, bundle(entry, type_="batch")
    )


def test_unknown_existing_patient_identifier(session) -> None:
    entry = appointment(patient_ref="Patient/elsewhere")
    entry["resource"]["participant"][0]["actor"]["identifier"] = {
        "system": PORTAL_ID_SYSTEM,
        "value": "PORTAL-UNKNOWN",
    }
    message = _error(session, bundle(entry))
    assert "entry 1 (Appointment/appt-a): no patient with that portal identifier" in message


def test_ambiguous_kind(session) -> None:
    entry = appointment(serviceType=[{"text": "Face to face or telephone"}])
    message = _error(session, bundle(patient(), entry))
    assert "entry 2 (Appointment/appt-a): cannot tell the kind" in message


def test_versioned_references(session) -> None:
    entry = appointment(patient_ref="https://fhir.example/Patient/pat-a/_history/3")
    import_bundle(session, bundle(patient(), entry))
    assert appt(session, "appt-a").patient.portal_id == "PORTAL-A"


def test_appointment_without_patient_or_with_two(session) -> None:
    none = appointment("appt-1")
    none["resource"]["participant"] = [
        {"actor": {"reference": "Practitioner/p"}, "status": "accepted"}
    ]
    two = appointment("appt-2")
    two["resource"]["participant"].append(
        {"actor": {"reference": "Patient/pat-b"}, "status": "accepted"}
    )
    message = _error(session, bundle(patient(), patient("pat-b", "PORTAL-B"), none, two))
    assert "entry 3 (Appointment/appt-1): has no Patient participant" in message
    assert "entry 4 (Appointment/appt-2): has more than one Patient participant" in message


def test_duplicates_in_one_bundle(session) -> None:
    message = _error(session, bundle(patient(), patient("pat-b"), appointment(), appointment()))
    assert "entry 2 (Patient/pat-b): same patient as entry 1 (Patient/pat-a)" in message
    assert "entry 4 (Appointment/appt-a): same appointment as entry 3" in message


def test_appointment_is_not_moved_to_another_patient(session) -> None:
    import_bundle(session, bundle(patient(), patient("pat-b", "PORTAL-B"), appointment()))
    session.commit()
    message = _error(
        session, bundle(patient("pat-b", "PORTAL-B"), appointment(patient_ref="Patient/pat-b"))
    )
    assert "was imported for a different patient; refusing to move it" in message


def test_partial_treatment_end_date_is_refused(session) -> None:
    pat = patient(extension=[{"url": TREATMENT_END_DATE_URL, "valueDate": "2022-03"}])
    assert "treatment end date must be a full date" in _error(session, bundle(pat))


def test_overlong_values_are_refused_before_the_database(session) -> None:
    pat = patient()
    pat["resource"]["telecom"][0]["value"] = "0" * 41
    assert "entry 1 (Patient/pat-a): phone is longer than 40 characters" in _error(
        session, bundle(pat)
    )


def test_error_messages_do_not_echo_patient_details(session) -> None:
    pat = patient(name=[{"family": "Secretname"}])
    pat["resource"]["telecom"][0]["value"] = "0" * 41
    message = _error(session, bundle(pat))
    assert "Secretname" not in message and "0" * 41 not in message


def test_load_bundle_returns_fhir_model() -> None:
    parsed = load_bundle(DEMO_BUNDLE)
    assert parsed.type == "collection"
    assert [e.resource.resource_type for e in parsed.entry] == [
        "Patient",
        "Patient",
        "Appointment",
        "Appointment",
        "Appointment",
    ]
