import json
from pathlib import Path

import pytest

from bot.cli import main
from bot.identity import verify_token

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
    assert "JWT_SECRET must be set in production" in capsys.readouterr().err


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
