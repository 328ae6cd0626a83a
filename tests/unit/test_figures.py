"""Service figures from a conversation store laid out as Rasa's, and the request tables."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text

from bot import clock
from bot.care.requests import file_callback, mark_done
from bot.storage.demo import seed_demo
from bot.storage.figures import mask, service_figures, week_of

# Wednesday 2 December 2026, 11:00 UTC (UK time too).
NOW = datetime(2026, 12, 2, 11, 0, tzinfo=timezone.utc)


def events_table(session) -> Table:
    """The columns of Rasa 3.6's SQLTrackerStore events table that the figures read."""
    table = Table(
        "events",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("sender_id", String(255)),
        Column("type_name", String(255)),
        Column("timestamp", Float),
        Column("intent_name", String(255)),
        Column("action_name", String(255)),
        Column("data", Text),
    )
    table.create(session.connection())
    return table


def add(session, table, sender, type_name, when, intent=None, data=None) -> None:
    session.execute(
        table.insert().values(
            sender_id=sender,
            type_name=type_name,
            timestamp=when.timestamp(),
            intent_name=intent,
            data=json.dumps(data or {}),
        )
    )


def test_counts_per_week_masked_fallbacks_checklists_and_requests(session, monkeypatch) -> None:
    # Requests are stamped by the clock: pin it, or the test fails once the wall clock passes NOW.
    monkeypatch.setattr(clock, "now", lambda: NOW)
    seed_demo(session, NOW)
    table = events_table(session)
    last_week = NOW - timedelta(days=7)
    add(session, table, "a", "user", NOW, "ask_how_often", {"text": "how often"})
    add(session, table, "a", "user", NOW, "ask_how_often", {"text": "how often again"})
    add(session, table, "b", "user", last_week, "ask_how_often", {"text": "how often"})
    add(session, table, "b", "user", NOW, "crisis", {"text": "..."})
    add(session, table, "b", "user", NOW, "urgent_symptom", {"text": "..."})
    add(session, table, "c", "user", NOW, "nlu_fallback", {"text": "Robin on 07700 900123?"})
    telephone = {"kind": "telephone", "items": ["a", "b"], "answers": {}}

    def checklist(sender: str, value: dict | None) -> None:
        add(session, table, sender, "slot", NOW, None, {"name": "checklist", "value": value})

    # c finishes its checklist (the slot is cleared after the last item); d stops half way.
    checklist("c", {**telephone, "index": 0})
    checklist("c", {**telephone, "index": 1})
    checklist("c", None)
    checklist("d", {**telephone, "index": 0})
    # Outside the range: not counted.
    add(session, table, "e", "user", NOW - timedelta(days=60), "ask_coping", {"text": "x"})
    reference = file_callback(session, "demo-video", "morning")
    mark_done(session, reference)
    found = service_figures(session, date(2026, 11, 20), date(2026, 12, 2))
    this_week, previous = week_of(NOW.date()), week_of(last_week.date())
    assert found.questions == {(this_week, "ask_how_often"): 2, (previous, "ask_how_often"): 1}
    assert found.safety == {(this_week, "crisis"): 1, (this_week, "urgent_symptom"): 1}
    assert found.unanswered == [(NOW.date(), "[name] on [number]?")]
    assert (found.checklists_started, found.checklists_completed) == (2, 1)
    assert found.requests["callback"]["opened"] == 1
    assert found.requests["callback"]["closed"] == 1
    assert found.requests["face_to_face"] == {
        "opened": 0,
        "closed": 0,
        "median hours to close": None,
    }
    assert found.weeks == [date(2026, 11, 16), date(2026, 11, 23), date(2026, 11, 30)]
    rows = found.rows()
    assert ("questions per topic", this_week.isoformat(), "ask_how_often", "2") in rows
    assert not any("Robin" in cell or "0123" in cell for row in rows for cell in row)


def test_no_conversation_store_yet_means_empty_conversation_figures(session) -> None:
    found = service_figures(session, date(2026, 11, 1), date(2026, 12, 1))
    assert not found.questions and not found.unanswered and found.checklists_started == 0


def test_mask() -> None:
    assert mask("ring me on +44 7700 900123 or a@b.org", set()) == "ring me on [number] or [email]"
    assert mask("ROBIN here", {"Robin"}) == "[name] here"
