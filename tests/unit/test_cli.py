import json
from pathlib import Path

import pytest

from bot.apps.cli import main
from bot.identity.tokens import verify_token

ROOT = Path(__file__).resolve().parents[2]
DEMO_BUNDLE = ROOT / "examples" / "fhir" / "demo-bundle.json"
SECRET = "cli-test-secret-" + "z" * 40


@pytest.fixture
def settings(env_settings) -> None:
    env_settings(jwt_secret=SECRET, environment="test")


def test_token_prints_only_a_valid_token(settings, capsys) -> None:
    assert main(["token", "demo-video", "--minutes", "5"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert verify_token(out.strip()) == "demo-video"


def test_token_refuses_bad_minutes(settings, capsys) -> None:
    assert main(["token", "demo-video", "--minutes", "0"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "minutes must be positive" in captured.err


def test_token_refuses_dev_secret_in_production(env_settings, capsys) -> None:
    from bot.config import DEV_SECRET

    env_settings(environment="production", jwt_secret=DEV_SECRET)
    assert main(["token", "demo-video"]) == 1
    assert "published development secret" in capsys.readouterr().err


def test_db_upgrade(db_url: str, capsys) -> None:
    assert main(["--database-url", db_url, "db-upgrade"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_seed_demo(db_url: str, capsys) -> None:
    assert main(["--database-url", db_url, "seed-demo"]) == 0
    out = capsys.readouterr().out
    assert out.count("created") == 5 and "demo-nothing" in out
    assert main(["--database-url", db_url, "seed-demo"]) == 0
    assert capsys.readouterr().out.count("refreshed") == 5


def test_import_fhir(db_url: str, capsys) -> None:
    assert main(["--database-url", db_url, "import-fhir", str(DEMO_BUNDLE)]) == 0
    out = capsys.readouterr().out
    assert "patients: 2 created, 0 updated, 0 unchanged" in out
    assert "appointments: 3 created, 0 updated, 0 unchanged" in out
    assert main(["--database-url", db_url, "import-fhir", str(DEMO_BUNDLE)]) == 0
    assert "appointments: 0 created, 0 updated, 3 unchanged" in capsys.readouterr().out


def test_import_fhir_malformed_json(db_url: str, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceType": "Bundle", ')
    assert main(["--database-url", db_url, "import-fhir", str(bad)]) == 1
    captured = capsys.readouterr()
    assert "not valid JSON" in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_import_fhir_bad_resource_names_it(db_url: str, tmp_path: Path, capsys) -> None:
    data = json.loads(DEMO_BUNDLE.read_text())
    data["entry"][3]["resource"]["status"] = "xyz"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    assert main(["--database-url", db_url, "import-fhir", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "entry 4 (Appointment/appt-2): status 'xyz' is not a valid Appointment status" in err
    # Nothing was written: the good bundle then imports from scratch.
    assert main(["--database-url", db_url, "import-fhir", str(DEMO_BUNDLE)]) == 0
    assert "patients: 2 created" in capsys.readouterr().out


def test_import_fhir_not_a_bundle(db_url: str, tmp_path: Path, capsys) -> None:
    other = tmp_path / "patient.json"
    other.write_text(json.dumps({"resourceType": "Patient", "id": "x"}))
    assert main(["--database-url", db_url, "import-fhir", str(other)]) == 1
    assert "expected a FHIR Bundle, got resourceType 'Patient'" in capsys.readouterr().err


def test_import_fhir_missing_file(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    assert main(["--database-url", url, "import-fhir", str(tmp_path / "absent.json")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_unreachable_database_is_a_clear_error(capsys) -> None:
    url = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"
    assert main(["--database-url", url, "db-upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: database unavailable")
    assert "Traceback" not in err


def test_a_command_is_required(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


# --- staff tools: pending requests and a patient's printable questions ---


def _seeded(db_url: str, capsys) -> None:
    assert main(["--database-url", db_url, "seed-demo"]) == 0
    capsys.readouterr()


def _with_session(db_url: str, work) -> object:
    from bot.storage.db import make_engine, make_session_factory, session_scope

    engine = make_engine(db_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            return work(session)
    finally:
        engine.dispose()


def _make_requests(db_url: str) -> tuple[str, str]:
    from bot import clock
    from bot.care.requests import pending_requests, record_number_correction
    from bot.storage import records

    def work(session) -> tuple[str, str]:
        appt = records.next_appointment(session, "demo-telephone", clock.now())
        assert records.request_face_to_face(
            session, "demo-telephone", appt.id, "I can't hear well\x1b[2J on the phone"
        )
        assert record_number_correction(session, "demo-video", "07700 900999")
        refs = [v.reference for v in pending_requests(session)]
        return next(r for r in refs if r.startswith("f2f-")), next(
            r for r in refs if r.startswith("phone-")
        )

    return _with_session(db_url, work)


def test_requests_lists_pending(db_url: str, capsys) -> None:
    _seeded(db_url, capsys)
    assert main(["--database-url", db_url, "requests"]) == 0
    assert capsys.readouterr().out.strip() == "no pending requests"
    f2f_ref, phone_ref = _make_requests(db_url)
    assert main(["--database-url", db_url, "requests"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == [
        "REF",
        "TYPE",
        "PATIENT",
        "APPOINTMENT",
        "CREATED",
        "(UK)",
        "DETAIL",
    ]
    assert len(lines) == 3
    f2f_line = next(line for line in lines if line.startswith(f2f_ref))
    assert "demo-telephone" in f2f_line and "telephone" in f2f_line
    # Patient text is shown to staff, but never with terminal control characters.
    assert "I can't hear well [2J on the phone" in f2f_line and "\x1b" not in out
    phone_line = next(line for line in lines if line.startswith(phone_ref))
    assert "demo-video" in phone_line and "07700 900999" in phone_line


def test_requests_done_and_all(db_url: str, capsys) -> None:
    _seeded(db_url, capsys)
    f2f_ref, phone_ref = _make_requests(db_url)
    assert main(["--database-url", db_url, "requests", "done", f2f_ref.upper()]) == 0
    assert capsys.readouterr().out.strip() == f"{f2f_ref} marked done"
    assert main(["--database-url", db_url, "requests", "done", f2f_ref]) == 0
    assert capsys.readouterr().out.strip() == f"{f2f_ref} was already done"
    assert main(["--database-url", db_url, "requests"]) == 0
    out = capsys.readouterr().out
    assert phone_ref in out and f2f_ref not in out
    assert main(["--database-url", db_url, "requests", "--all"]) == 0
    out = capsys.readouterr().out
    assert "STATUS" in out.splitlines()[0]
    assert any(line.startswith(f2f_ref) and " done " in line for line in out.splitlines())
    assert any(line.startswith(phone_ref) and " pending " in line for line in out.splitlines())


def test_requests_done_unknown_refs_change_nothing(db_url: str, capsys) -> None:
    _seeded(db_url, capsys)
    f2f_ref, phone_ref = _make_requests(db_url)
    assert main(["--database-url", db_url, "requests", "done", f2f_ref, "phone-9999"]) == 1
    captured = capsys.readouterr()
    assert "error: unknown request phone-9999" in captured.err
    assert "nothing was marked done" in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert main(["--database-url", db_url, "requests", "done", "banana"]) == 1
    assert "'banana' is not a request reference" in capsys.readouterr().err
    # The valid reference in the failed batch is still pending.
    assert main(["--database-url", db_url, "requests"]) == 0
    out = capsys.readouterr().out
    assert f2f_ref in out and phone_ref in out


def test_requests_done_needs_a_reference(db_url: str, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--database-url", db_url, "requests", "done"])
    assert info.value.code == 2


def test_export_questions(db_url: str, capsys) -> None:
    from bot import clock
    from bot.care.questions import add_question
    from bot.storage import records

    _seeded(db_url, capsys)

    def work(session) -> None:
        appt = records.next_appointment(session, "demo-telephone", clock.now())
        add_question(session, "demo-telephone", "Can I go back to work?", "question", appt.id)
        add_question(session, "demo-telephone", "Tired after lunch", "symptom", appt.id)

    _with_session(db_url, work)
    assert main(["--database-url", db_url, "export-questions", "demo-telephone"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Questions for my follow-up appointment\n")
    assert "Telephone appointment: " in out and "10:30am" in out
    assert "1. Can I go back to work?" in out
    assert "2. Tired after lunch (symptom to mention)" in out
    # Nothing else personal: not the name or the phone number.
    assert "Jamie" not in out and "Fenwick" not in out and "900123" not in out


def test_export_questions_unknown_patient(db_url: str, capsys) -> None:
    assert main(["--database-url", db_url, "export-questions", "nobody"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "error: no patient with portal id 'nobody'" in captured.err
    assert "Traceback" not in captured.err
