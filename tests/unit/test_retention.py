"""`bot erase` and `bot purge` on SQLite and PostgreSQL, checked against a full dump (issue 12).

On the old code there was no way to erase a patient, removing a question only stamped it,
and conversations (with the portal id in every message's metadata) were kept for ever.
"""

from __future__ import annotations

import secrets
import sqlite3
import subprocess
import time
from datetime import date, datetime, timedelta, timezone

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from bot.apps.cli import main
from bot.storage.db import make_engine, make_session_factory, session_scope, upgrade
from bot.storage.models import (
    Appointment,
    FaceToFaceRequest,
    NumberCorrection,
    Patient,
    PatientQuestion,
)
from bot.storage.retention import parse_period
from components.tracker_store import SettingsSQLTrackerStore

SENTINEL = "Quillon" + secrets.token_hex(4)
PHONE = "07700900" + str(secrets.randbelow(900) + 100)
NOW = datetime.now(timezone.utc)


def dump(db_url: str) -> str:
    """Every row of every table, as the database itself would export it."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(url.database) as conn:
            return "\n".join(conn.iterdump())
    schema = url.query["options"].split("search_path=")[1]
    base = url.set(query={}).render_as_string(hide_password=False)
    result = subprocess.run(
        ["pg_dump", "--data-only", "--schema", schema, base],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def add_patient(session, portal_id: str, marker: str, phone: str) -> None:
    patient = Patient(
        portal_id=portal_id,
        given_name=f"{marker}given",
        family_name=f"{marker}family",
        phone=phone,
        treatment_end_date=date(2022, 1, 1),
        nurse_name="Nurse Ada",
    )
    session.add(patient)
    session.flush()
    appointment = Appointment(
        patient_id=patient.id,
        external_id=f"fhir:Appointment/{marker}",
        start=NOW + timedelta(days=5),
        kind="video",
        clinician=f"Dr {marker}",
        video_link=f"https://video.example/{marker}",
    )
    session.add(appointment)
    session.flush()
    session.add_all(
        [
            PatientQuestion(patient_id=patient.id, text=f"can I swim, {marker}?"),
            PatientQuestion(patient_id=patient.id, text=f"old one {marker}", removed_at=NOW),
            FaceToFaceRequest(
                patient_id=patient.id, appointment_id=appointment.id, reason=f"{marker} reason"
            ),
            NumberCorrection(patient_id=patient.id, new_phone=phone[:-1] + "9"),
        ]
    )


async def save_conversation(
    store: SettingsSQLTrackerStore,
    sender: str,
    patient: str | None,
    words: str,
    when: float | None = None,
) -> None:
    when = time.time() if when is None else when
    metadata = {"verified_patient": patient, "auth": "verified" if patient else "anonymous"}
    tracker = DialogueStateTracker.from_events(
        sender,
        [
            UserUttered(words, metadata=metadata, timestamp=when),
            BotUttered(f"you said {words}", timestamp=when + 1),
        ],
    )
    await store.save(tracker)


@pytest.fixture
def stored(db_url: str, env_settings) -> str:
    env_settings(DATABASE_URL=db_url)
    upgrade(db_url)
    engine = make_engine(db_url)
    with session_scope(make_session_factory(engine)) as session:
        add_patient(session, f"P-{SENTINEL}", SENTINEL, PHONE)
        add_patient(session, "keep-me", "Keeper", "07700900001")
    engine.dispose()
    return db_url


async def test_erase_leaves_no_trace_and_keeps_others(stored: str, capsys) -> None:
    store = SettingsSQLTrackerStore(Domain.empty())
    await save_conversation(store, "conv-a", f"P-{SENTINEL}", f"hi I'm {SENTINEL} {PHONE}")
    await save_conversation(store, "conv-b", f"P-{SENTINEL}", f"{SENTINEL} again")
    await save_conversation(store, "conv-keep", "keep-me", "Keeper's words")
    await save_conversation(store, "conv-anon", None, "anonymous words")
    store.engine.dispose()
    before = dump(stored)
    assert SENTINEL in before and PHONE in before

    assert main(["--database-url", stored, "erase", f"P-{SENTINEL}"]) == 0
    out = capsys.readouterr().out
    for line in (
        "patient records: 1",
        "appointments: 1",
        "questions: 2",
        "face-to-face requests: 1",
        "number corrections: 1",
        "conversations: 2",
        "conversation events: 4",
    ):
        assert line in out, out

    after = dump(stored)
    assert SENTINEL not in after and PHONE not in after and PHONE[:-1] not in after
    for kept in ("Keeper", "keep-me", "07700900001", "anonymous words"):
        assert kept in after, kept
    # Nothing left to erase the second time.
    assert main(["--database-url", stored, "erase", f"P-{SENTINEL}"]) == 1


async def test_erase_finds_conversations_without_a_record(stored: str, capsys) -> None:
    store = SettingsSQLTrackerStore(Domain.empty())
    await save_conversation(store, "conv-ghost", f"ghost_%{SENTINEL}", f"{SENTINEL} ghost")
    await save_conversation(store, "conv-near", f"ghostX%{SENTINEL}", "near miss")
    store.engine.dispose()
    assert main(["--database-url", stored, "erase", f"ghost_%{SENTINEL}"]) == 0
    after = dump(stored)
    assert f"{SENTINEL} ghost" not in after and "near miss" in after  # LIKE wildcards escaped


async def test_purge_removes_only_what_is_past_retention(stored: str, capsys) -> None:
    store = SettingsSQLTrackerStore(Domain.empty())
    old = time.time() - 40 * 86400
    await save_conversation(store, "conv-old", None, f"old {SENTINEL}", when=old)
    await save_conversation(store, "conv-new", None, "fresh words")
    await save_conversation(store, "conv-mixed", None, "older start", when=old)
    store.engine.dispose()
    # A conversation still in use is kept whole, however old its first message.
    store = SettingsSQLTrackerStore(Domain.empty())
    tracker = await store.retrieve("conv-mixed")
    tracker.update(UserUttered("recent turn", timestamp=time.time()))
    await store.save(tracker)
    store.engine.dispose()

    assert main(["--database-url", stored, "purge", "--older-than", "30d"]) == 0
    out = capsys.readouterr().out
    assert "conversations: 1" in out and "conversation events: 2" in out
    after = dump(stored)
    assert f"old {SENTINEL}" not in after
    assert "fresh words" in after and "older start" in after
    # Questions removed 30+ days ago go; ones removed just now stay for now.
    assert f"old one {SENTINEL}" in after
    assert main(["--database-url", stored, "purge", "--older-than", "1h"]) == 0
    assert "removed questions: 0" in capsys.readouterr().out


def test_purge_removes_questions_removed_long_ago(stored: str, capsys) -> None:
    engine = make_engine(stored)
    with session_scope(make_session_factory(engine)) as session:
        for question in session.query(PatientQuestion).filter(
            PatientQuestion.removed_at.is_not(None)
        ):
            question.removed_at = NOW - timedelta(days=31)
    engine.dispose()
    assert main(["--database-url", stored, "purge"]) == 0  # RETENTION_DAYS, 30 by default
    assert "removed questions: 2" in capsys.readouterr().out
    assert f"old one {SENTINEL}" not in dump(stored)


@pytest.mark.parametrize("bad", ["30", "d", "0h", "30m", "-3d", ""])
def test_bad_periods_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_period(bad)
    assert parse_period("2w") == timedelta(days=14)
