"""What every action needs: who the verified patient is, a database session, how to reply."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session, sessionmaker

from bot import clock
from bot.care import checklist
from bot.care.appointments import Reply
from bot.care.content import Answer, load_library
from bot.care.wording import buttons as wording_buttons
from bot.identity.claims import CLAIM_KEY, verify_claim
from bot.identity.tokens import AUTH_KEY, VERIFIED_PATIENT_KEY
from bot.storage import records
from bot.storage.db import make_engine, make_session_factory, session_scope

logger = logging.getLogger(__name__)


def verified_patient(tracker: Tracker) -> str | None:
    """The portal id the channel verified for the latest message, or None if anonymous.

    Anyone who can reach the action server can write any metadata, so the patient is taken
    only from the channel's signed identity claim, checked for this very conversation and
    message and not expired (bot/identity/claims.py). No valid claim: anonymous.
    """
    latest = tracker.latest_message or {}
    metadata = latest.get("metadata") or {}
    if not isinstance(metadata, dict):
        return None
    patient = verify_claim(metadata.get(CLAIM_KEY), tracker.sender_id, latest.get("message_id"))
    if patient is None or metadata.get(VERIFIED_PATIENT_KEY) not in (None, patient):
        return None
    return patient


def auth_state(tracker: Tracker) -> str | None:
    """'verified', 'anonymous' or 'rejected' as the channel saw the latest message.

    "verified" is believed only with a valid claim; without one the message is anonymous.
    """
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    state = metadata.get(AUTH_KEY) if isinstance(metadata, dict) else None
    if state == "verified" and verified_patient(tracker) is None:
        return "anonymous"
    return state if state in ("verified", "anonymous", "rejected") else None


@lru_cache(maxsize=1)
def _sessions() -> sessionmaker:
    # Built on first use, not at import, so importing actions never connects anywhere.
    return make_session_factory(make_engine())


@contextmanager
def db_session() -> Iterator[Session]:
    """A session on the configured database, committed on success."""
    with session_scope(_sessions()) as session:
        yield session


def patient_record(tracker: Tracker) -> Any | None:
    """The verified patient's record, or None if anonymous or the records can't be read."""
    portal_id = verified_patient(tracker)
    if not portal_id:
        return None
    try:
        with db_session() as session:
            return records.get_patient(session, portal_id)
    except Exception:
        # Signposting must go out even if the records database is down.
        logger.exception("patient record lookup failed")
        return None


def as_buttons(pairs: tuple[tuple[str, str], ...] | list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Rasa button dicts from (title, payload) pairs."""
    return [{"title": title, "payload": payload} for title, payload in pairs]


def send_reply(dispatcher: CollectingDispatcher, reply: Reply) -> None:
    """Send a Reply built by `bot`."""
    dispatcher.utter_message(text=reply.text, buttons=as_buttons(reply.buttons))
    if reply.custom:
        dispatcher.utter_message(json_message=reply.custom)


CHECKLIST_SLOT = "checklist"


def back_to_checklist() -> tuple[tuple[str, str], ...]:
    """The quick reply that leads back to a checklist in progress."""
    return wording_buttons("checklist", "back_to_checklist_button")


def active_checklist(tracker: Tracker) -> dict[str, Any] | None:
    """The pre-call checklist in progress in this conversation, if any."""
    state = tracker.get_slot(CHECKLIST_SLOT)
    if isinstance(state, dict) and state.get("items") and not checklist.is_finished(state):
        return state
    return None


def send_answer(
    dispatcher: CollectingDispatcher,
    answer: Answer,
    extra: str | None = None,
    tracker: Tracker | None = None,
) -> None:
    """Send a reviewed answer with its source line, and the review note once it is overdue.

    With a checklist in progress, a quick reply leads back to it.
    """
    library = load_library()
    parts = [answer.text]
    if extra:
        parts.append(extra)
    parts.append(library.citation(answer))
    note = library.review_note(answer, clock.now().date())
    if note:
        parts.append(note)
    buttons = list(answer.buttons)
    if tracker is not None and active_checklist(tracker):
        buttons += back_to_checklist()
    dispatcher.utter_message(text="\n\n".join(parts), buttons=as_buttons(buttons))
