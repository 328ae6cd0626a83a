"""`scripts/bench.py --smoke` runs end to end against the real servers and reports cleanly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.servers import MODEL, ROOT

pytestmark = pytest.mark.e2e

EXPECTED_ROWS = (
    "1 conversation: p50 latency",
    "20 conversations: p95 latency",
    "20 conversations: throughput",
    "error responses (all scenarios)",
    "cold start to first answer",
    "peak RSS, Rasa server",
    "peak RSS, action server",
    "full training",
)


def test_bench_smoke_runs_clean(tmp_path: Path) -> None:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` first")
    out = tmp_path / "performance.md"
    completed = subprocess.run(
        [sys.executable, "scripts/bench.py", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    table = out.read_text()
    assert "| figure | project | stock |" in table
    for row in EXPECTED_ROWS:
        assert f"| {row}" in table, row
        assert f"| {row}" in completed.stdout, row
    errors = next(line for line in table.splitlines() if "error responses" in line)
    assert "| 0 messages |" in errors and "| yes |" in errors
    assert "Machine:" in table and "Command:" in table
