from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError, StatementError

from bot.storage.db import make_engine, make_session_factory, session_scope, upgrade
from bot.storage.models import (
    Appointment,
    FaceToFaceRequest,
    Patient,
    PatientQuestion,
    as_utc,
    map_fhir_status,
    metadata,
)

ROOT = Path(__file__).resolve().parents[2]
LONDON = ZoneInfo("Europe/London")


def _diffs(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def test_migrated_schema_matches_models(db_url: str) -> None:
    upgrade(db_url)
    assert _diffs(db_url) == []


def test_comparison_is_not_vacuous(db_url: str) -> None:
    # On an empty database the same comparison must see the missing tables.
    tables = {d[1].name for d in _diffs(db_url) if d[0] == "add_table"}
    assert {"patients", "appointments", "face_to_face_requests"} <= tables


def test_upgrade_is_repeatable(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == "0002"
    finally:
        engine.dispose()


def test_alembic_ini_runs_the_same_migrations(db_url: str, env_settings) -> None:
    env_settings(database_url=db_url)
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["configure_logging"] = False
    command.upgrade(cfg, "head")
    assert _diffs(db_url) == []


def test_make_engine_creates_sqlite_folder_without_connecting(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "records.db"
    engine = make_engine(f"sqlite:///{target}")
    assert target.parent.is_dir()
    assert not target.exists()
    engine.dispose()


def _patient(portal_id: str = "p-1") -> Patient:
    return Patient(portal_id=portal_id, given_name="Test")


def test_foreign_keys_are_enforced(session) -> None:
    session.add(
        Appointment(
            patient_id=999,
            external_id="x:1",
            start=datetime(2030, 1, 1, tzinfo=timezone.utc),
            kind="telephone",
            status="booked",
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()


def test_session_scope_commits_and_rolls_back(session_factory) -> None:
    with session_scope(session_factory) as s:
        s.add(_patient("kept"))
    with pytest.raises(RuntimeError), session_scope(session_factory) as s:
        s.add(_patient("dropped"))
        s.flush()
        raise RuntimeError("boom")
    with session_scope(session_factory) as s:
        ids = set(s.execute(select(Patient.portal_id)).scalars())
    assert ids == {"kept"}


def test_datetimes_round_trip_as_aware_utc(session_factory) -> None:
    start = datetime(2030, 7, 1, 10, 30, tzinfo=LONDON)  # BST, 09:30 UTC
    with session_scope(session_factory) as s:
        patient = _patient()
        s.add(patient)
        s.flush()
        appt = Appointment(
            patient_id=patient.id,
            external_id="x:1",
            start=start,
            end=start + timedelta(minutes=30),
            kind="video",
            status="booked",
        )
        s.add(appt)
        # Normalised on assignment too, not only after a round trip.
        assert appt.start.tzinfo == timezone.utc
    with session_scope(session_factory) as s:
        stored = s.execute(select(Appointment)).scalar_one()
        assert stored.start == start
        assert stored.start.utcoffset() == timedelta(0)
        assert stored.start.hour == 9
        assert stored.created.tzinfo is not None
        # Comparisons in SQL work on UTC as well.
        later = datetime(2030, 7, 1, 9, 31, tzinfo=timezone.utc)
        count = s.execute(select(func.count()).where(Appointment.start < later)).scalar_one()
        assert count == 1


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        Appointment(start=datetime(2030, 1, 1))


def test_naive_datetimes_are_refused_in_sql_too(session) -> None:
    session.add(_patient())
    session.flush()
    with pytest.raises(StatementError, match="naive"):
        session.execute(Patient.__table__.update().values(updated=datetime(2030, 1, 1)))


def test_as_utc_helper() -> None:
    assert as_utc(None) is None
    assert as_utc(datetime(2030, 1, 1, 12)) == datetime(2030, 1, 1, 12, tzinfo=timezone.utc)
    assert as_utc(datetime(2030, 7, 1, 12, tzinfo=LONDON)).hour == 11


def test_kind_and_status_are_checked() -> None:
    with pytest.raises(ValueError, match="kind"):
        Appointment(kind="carrier pigeon")
    with pytest.raises(ValueError, match="status"):
        Appointment(status="fulfilled")


@pytest.mark.parametrize(
    ("fhir", "ours"),
    [
        ("proposed", "booked"),
        ("pending", "booked"),
        ("booked", "booked"),
        ("arrived", "booked"),
        ("checked-in", "booked"),
        ("fulfilled", "attended"),
        ("cancelled", "cancelled"),
        ("noshow", "cancelled"),
        ("entered-in-error", "cancelled"),
        ("waitlist", "cancelled"),
    ],
)
def test_fhir_status_map(fhir: str, ours: str) -> None:
    assert map_fhir_status(fhir) == ours


def test_unknown_fhir_status() -> None:
    with pytest.raises(ValueError, match="'xyz' is not a valid Appointment status"):
        map_fhir_status("xyz")


def test_one_pending_face_to_face_request_per_appointment(session) -> None:
    patient = _patient()
    session.add(patient)
    session.flush()
    appt = Appointment(
        patient_id=patient.id,
        external_id="x:1",
        start=datetime(2030, 1, 1, tzinfo=timezone.utc),
        kind="telephone",
        status="booked",
    )
    session.add(appt)
    session.flush()
    session.add(FaceToFaceRequest(patient_id=patient.id, appointment_id=appt.id))
    session.flush()
    # Done requests do not block; a second pending one does.
    session.add(
        FaceToFaceRequest(
            patient_id=patient.id,
            appointment_id=appt.id,
            status="done",
            done_at=datetime(2029, 1, 1, tzinfo=timezone.utc),
        )
    )
    session.flush()
    with session.begin_nested():
        session.add(FaceToFaceRequest(patient_id=patient.id, appointment_id=appt.id))
        with pytest.raises(IntegrityError):
            session.flush()


def test_deleting_a_patient_removes_their_records(session) -> None:
    patient = _patient()
    session.add(patient)
    session.flush()
    appt = Appointment(
        patient_id=patient.id,
        external_id="x:1",
        start=datetime(2030, 1, 1, tzinfo=timezone.utc),
        kind="telephone",
        status="booked",
    )
    session.add(appt)
    session.flush()
    session.add(PatientQuestion(patient_id=patient.id, appointment_id=appt.id, text="q"))
    session.flush()
    session.execute(Patient.__table__.delete())
    assert session.execute(select(func.count()).select_from(PatientQuestion)).scalar_one() == 0
    assert session.execute(select(func.count()).select_from(Appointment)).scalar_one() == 0


def test_tables_exist_after_upgrade(engine) -> None:
    names = set(inspect(engine).get_table_names())
    assert {
        "patients",
        "appointments",
        "patient_questions",
        "face_to_face_requests",
        "number_corrections",
        "callback_requests",
        "staff",
        "audit_log",
        "alembic_version",
    } <= names


def test_reprs_hold_no_personal_data() -> None:
    patient = Patient(portal_id="secret-id", given_name="Ada", phone="07700 900123")
    assert "Ada" not in repr(patient) and "0123" not in repr(patient)
    question = PatientQuestion(text="my private worry", kind="question")
    assert "worry" not in repr(question)


def test_factory_objects_survive_commit(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    with session_scope(factory) as s:
        patient = _patient()
        s.add(patient)
    assert patient.portal_id == "p-1"
    engine.dispose()
