"""`bot content-report`: every patient-facing string, grouped by file, with its provenance."""

import csv
import io
import re

import pytest

from bot.apps.cli import main
from bot.care.wording import all_wording

ENTRIES = [entry for file in all_wording() for entry in file.entries.values()]


@pytest.fixture
def settings(env_settings) -> None:
    env_settings(jwt_secret="report-test-secret-" + "r" * 40, environment="test")


def test_text_report_lists_every_entry_once_with_its_provenance(settings, capsys) -> None:
    assert main(["content-report"]) == 0
    out = capsys.readouterr().out
    headline = out.splitlines()[0]
    assert re.search(rf"\b{len(ENTRIES)} entries\b", headline)
    headers = re.findall(r"^(\w+\.[\w.]+)(?:  \[quick reply -> \S+\])?$", out, re.MULTILINE)
    assert headers == [f"{e.concern}.{e.key}" for e in ENTRIES]
    assert len(re.findall(r"^  source: ", out, re.MULTILINE)) == len(ENTRIES)
    assert len(re.findall(r"^  reviewed by: .+, \d{4}-\d\d-\d\d$", out, re.MULTILINE)) == len(
        ENTRIES
    )
    for entry in ENTRIES:
        for line in entry.text.splitlines():
            assert f"    {line}" in out
        for title, payload in entry.buttons:
            assert f"    [button] {title} -> {payload}" in out
    for file in all_wording():
        assert (
            f"== {file.concern}: content/{file.concern}.yml, {len(file.entries)} entries ==" in out
        )


def test_csv_report_has_one_row_per_entry(settings, capsys) -> None:
    assert main(["content-report", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == len(ENTRIES)
    assert [(r["concern"], r["key"]) for r in rows] == [(e.concern, e.key) for e in ENTRIES]
    for row, entry in zip(rows, ENTRIES, strict=True):
        assert row["text"] == entry.text
        assert row["source"] == entry.source and row["reviewer"] == entry.reviewer
        assert row["review_date"] == entry.review_date.isoformat()
        assert row["file"] == f"content/{entry.concern}.yml"
    greet = next(r for r in rows if r["key"] == "greet")
    assert greet["buttons"].startswith("How often are check-ups? -> /ask_how_often | ")
    calendar = next(r for r in rows if r["key"] == "calendar_button")
    assert (calendar["kind"], calendar["payload"]) == ("quick reply", "/add_to_calendar")


def test_report_covers_the_old_domain_responses_and_the_channel_errors(settings, capsys) -> None:
    assert main(["content-report", "--format", "csv"]) == 0
    keys = {(r["concern"], r["key"]) for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert ("conversation", "greet") in keys and ("errors", "sorry") in keys
    assert ("answers", "how_often") in keys and ("checklist", "quiet.help") in keys
