"""What every action needs: who the verified patient is, and how to send an answer."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import clock
from bot.content import Answer, load_library

# The identity channel writes this key into message metadata after verifying a token, and
# drops whatever metadata the client sent, so actions can rely on it.
VERIFIED_PATIENT_KEY = "verified_patient_id"


def verified_patient(tracker: Tracker) -> str | None:
    """The portal id the channel verified for the latest message, or None if anonymous."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    patient = metadata.get(VERIFIED_PATIENT_KEY)
    return patient if isinstance(patient, str) and patient else None


def as_buttons(pairs: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Rasa button dicts from (title, payload) pairs."""
    return [{"title": title, "payload": payload} for title, payload in pairs]


def send_answer(dispatcher: CollectingDispatcher, answer: Answer, extra: str | None = None) -> None:
    """Send a reviewed answer with its source line, and the review note once it is overdue."""
    library = load_library()
    parts = [answer.text]
    if extra:
        parts.append(extra)
    parts.append(answer.source.citation())
    note = library.review_note(answer, clock.now().date())
    if note:
        parts.append(note)
    dispatcher.utter_message(text="\n\n".join(parts), buttons=as_buttons(answer.buttons))
