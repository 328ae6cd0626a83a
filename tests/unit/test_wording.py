"""The wording files: every entry loads, has its provenance, and formats with its fields."""

import copy
import re
import subprocess
import sys
from datetime import date

import pytest
import yaml

from bot.care import wording
from bot.care.wording import (
    CONCERNS,
    CONTENT_DIR,
    NOT_WORDING,
    WordingError,
    all_wording,
    buttons,
    entry,
    parse_wording,
    say,
)
from bot.config import PROJECT_ROOT

ALL = [(w.concern, key) for w in all_wording() for key in w.entries]


def _raw(concern: str) -> dict:
    return yaml.safe_load((CONTENT_DIR / f"{concern}.yml").read_text(encoding="utf-8"))


def test_every_content_file_is_wording_or_says_why_not() -> None:
    files = {p.stem for p in CONTENT_DIR.glob("*.yml")}
    assert files == set(CONCERNS) | set(NOT_WORDING)
    assert not set(CONCERNS) & set(NOT_WORDING)


@pytest.mark.parametrize(("concern", "key"), ALL, ids=[f"{c}.{k}" for c, k in ALL])
def test_every_entry_formats_with_dummy_fields(concern: str, key: str) -> None:
    found = entry(concern, key)
    text = say(concern, key, **{name: f"<{name}>" for name in found.placeholders})
    assert text.strip() == text and text
    assert not re.search(r"[{}]", text), "a placeholder was left unfilled"
    for name in found.placeholders:
        assert f"<{name}>" in text
    assert found.source and found.reviewer
    assert isinstance(found.review_date, date)
    for title, payload in buttons(concern, key):
        assert title.strip() and payload.startswith("/")


def test_every_entry_has_a_reviewer_and_review_date() -> None:
    for file in all_wording():
        for found in file.entries.values():
            assert found.reviewer == "pending: project clinical safety officer", found.key
            assert found.review_date == date(2026, 12, 2), found.key


def test_source_page_wording_cites_it() -> None:
    assert entry("answers", "how_often").source == (
        "Cancer Research UK: Follow up for acute lymphoblastic leukaemia (ALL), "
        "reviewed 17 Jan 2025"
    )
    assert entry("answers", "how_often").section == "How often are check ups?"
    assert entry("checklist", "quiet.help").section == "Telephone or video appointments"
    assert entry("callbacks", "helpline_sentence").source.startswith("Cancer Research UK")
    assert entry("checklist", "summary.all_done").source.startswith("Project wording")


def test_say_fills_in_exactly_the_placeholders() -> None:
    assert say("appointments", "at_location", location="Level 2") == "It's at Level 2."
    with pytest.raises(KeyError, match="location"):
        say("appointments", "at_location")
    with pytest.raises(KeyError, match="extra"):
        say("appointments", "at_location", location="x", extra="y")
    # A patient's or record's braces are values, never read as placeholders.
    assert say("appointments", "at_location", location="{when}") == "It's at {when}."


def test_unknown_keys_and_concerns_are_key_errors() -> None:
    with pytest.raises(KeyError, match=r"appointments\.nope"):
        say("appointments", "nope")
    with pytest.raises(KeyError, match="nowhere"):
        say("nowhere", "greet")
    with pytest.raises(KeyError):
        buttons("conversation", "nope")


def test_buttons_come_from_an_entry_or_are_the_entry() -> None:
    assert buttons("conversation", "out_of_scope") == (
        ("What can you help with?", "/ask_capabilities"),
    )
    assert buttons("appointments", "clinic_button", "calendar_button") == (
        ("What happens at clinic", "/ask_face_to_face"),
        ("Add to my calendar", "/add_to_calendar"),
    )
    assert buttons("conversation", "goodbye") == ()
    assert buttons("topics", "titles.ask_coping") == (("Feeling anxious", "/ask_coping"),)


def test_files_with_their_own_layout_are_read_as_entries() -> None:
    checklist = wording.load_wording("checklist").entries
    assert {"call_time.prompt", "number.prompt_with_number", "summary.still_to_do"} <= set(
        checklist
    )
    assert "act_now" in wording.load_wording("safety_replies").entries
    assert {"why_follow_up", "citation", "review_due_note"} <= set(
        wording.load_wording("answers").entries
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw.pop("reviewer"), "no reviewer"),
        (lambda raw: raw.update(review_date="soon"), "review_date"),
        (lambda raw: raw.pop("used_in"), "used_in"),
        (lambda raw: raw["entries"]["goodbye"].pop("text"), "text is missing"),
        (lambda raw: raw["entries"]["goodbye"].update(text="Bye {0}"), "placeholder"),
        (lambda raw: raw["entries"]["goodbye"].update(text="Bye {name!r}"), "placeholder"),
        (lambda raw: raw["entries"]["goodbye"].update(text="Bye {name"), "goodbye"),
        (lambda raw: raw["entries"]["goodbye"].update(reveiwer="x"), "unknown fields"),
        (lambda raw: raw["entries"]["greet"]["buttons"][0].pop("payload"), "button 1"),
        (
            lambda raw: raw["entries"]["greet"]["buttons"][0].update(payload="ask"),
            "payload must",
        ),
        (lambda raw: raw.update(greeting="Hi"), "unknown top-level"),
        (lambda raw: raw.update(entries={}), "no entries"),
    ],
)
def test_gaps_are_refused(change, message: str) -> None:
    raw = copy.deepcopy(_raw("conversation"))
    change(raw)
    with pytest.raises(WordingError, match=message):
        parse_wording("conversation", raw)


def test_an_entry_may_override_the_file_provenance() -> None:
    raw = copy.deepcopy(_raw("conversation"))
    raw["entries"]["goodbye"]["reviewer"] = "Dr A Reviewer"
    raw["entries"]["goodbye"]["review_date"] = date(2027, 1, 5)
    parsed = parse_wording("conversation", raw).entries
    assert parsed["goodbye"].reviewer == "Dr A Reviewer"
    assert parsed["goodbye"].review_date == date(2027, 1, 5)
    assert parsed["thank"].reviewer == "pending: project clinical safety officer"


def test_nothing_is_read_at_import() -> None:
    """Importing the code that speaks opens no content file; the first `say` does."""
    script = """
import builtins, sys
opened = []
real_open = builtins.open
def spy(file, *args, **kwargs):
    opened.append(str(file))
    return real_open(file, *args, **kwargs)
builtins.open = spy
import actions.appointments, actions.checklist, actions.content, actions.questions
import actions.requests, actions.safety, components.dedupe
import bot.care.callbacks, bot.care.inputs, bot.care.smalltalk
assert not [f for f in opened if "/content/" in f], opened
from bot.care.wording import say
say("conversation", "goodbye")
assert [f for f in opened if f.endswith("content/conversation.yml")], opened
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    assert done.returncode == 0, done.stderr
