"""The short fault test: two faults under load through HAProxy, nothing lost or doubled.

`make chaos` runs the full one (50 conversations, 1,000 messages, four faults) and writes
docs/reliability.md; this one, inside `make test`, runs scripts/chaos.py with 10
conversations of 8 messages while one Rasa instance is killed with SIGKILL and PostgreSQL
is restarted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.servers import MODEL, ROOT

pytestmark = pytest.mark.e2e


def test_short_chaos_loses_and_doubles_nothing(tmp_path: Path) -> None:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` first")
    report_file = tmp_path / "chaos.json"
    completed = subprocess.run(
        [
            sys.executable,
            "scripts/chaos.py",
            "--conversations=10",
            "--messages=8",
            "--faults",
            "kill-rasa",
            "restart-postgres",
            "--gap=6",
            f"--workdir={tmp_path / 'cluster'}",
            f"--json={report_file}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    output = completed.stdout[-4000:] + completed.stderr[-4000:]
    assert report_file.exists(), output
    report = json.loads(report_file.read_text())
    assert report["totals"] == {"lost": 0, "doubled": 0, "reordered": 0, "no_reply": 0}, output
    assert report["outside_5xx"] == 0 and report["gave_up"] == 0, output
    assert [f["fault"] for f in report["faults"]] == ["kill-rasa", "restart-postgres"]
    for fault in report["faults"]:
        assert fault["attempts"] > 0, f"no messages during {fault['fault']}: {output}"
        assert fault["recovery_s"] <= 10, output
    assert completed.returncode == 0, output
