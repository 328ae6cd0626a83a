"""The "my questions" notebook: add, list (printable) and remove things to raise."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    active_checklist,
    back_to_checklist,
    db_session,
    send_reply,
    verified_patient,
)
from bot import clock
from bot.care import questions
from bot.care.appointments import Reply
from bot.care.wording import buttons, say
from bot.storage import records

ANON_SLOT = "anon_questions"
# The words are in content/questions.yml.
WORDING = "questions"


def _text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def _anon_items(tracker: Tracker) -> list[str]:
    items = tracker.get_slot(ANON_SLOT)
    return [i for i in items if isinstance(i, str)] if isinstance(items, list) else []


def _listing(items: list[str]) -> str:
    return "\n".join(f"{n}. {item}" for n, item in enumerate(items, start=1))


def _printable(items: list[str]) -> dict[str, Any]:
    return {"type": "printable", "title": say(WORDING, "list_title"), "items": items}


def _buttons(tracker: Tracker, *extra: str) -> tuple[tuple[str, str], ...]:
    offered = buttons(WORDING, *extra)
    return (*offered, *back_to_checklist()) if active_checklist(tracker) else offered


class ActionAddQuestion(Action):
    """Add a question, symptom or side effect to raise at the next appointment."""

    def name(self) -> str:
        """Rasa's action name."""
        return "action_add_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Store it against the patient and their next appointment, or in the conversation."""
        text = questions.extract_question(_text(tracker))
        if text is None:
            send_reply(dispatcher, Reply(say(WORDING, "ask_what")))
            return []
        kind = questions.classify_kind(_text(tracker))
        portal_id = verified_patient(tracker)
        if portal_id is None:
            items = [*_anon_items(tracker), text]
            added = say(
                WORDING,
                "added_not_saved",
                question=text,
                count=len(items),
                not_saved=say(WORDING, "not_saved"),
            )
            send_reply(dispatcher, Reply(added, _buttons(tracker, "show_list_button")))
            return [SlotSet(ANON_SLOT, items)]
        with db_session() as session:
            appointment = records.next_appointment(session, portal_id, clock.now())
            questions.add_question(
                session, portal_id, text, kind, appointment.id if appointment else None
            )
            count = len(questions.list_questions(session, portal_id))
        key = "added_for_next" if appointment else "added_once_booked"
        added = say(WORDING, key, question=text, count=count)
        send_reply(dispatcher, Reply(added, _buttons(tracker, "show_list_button")))
        return []


class ActionListQuestions(Action):
    """Show the list, with a printable version for the widget."""

    def name(self) -> str:
        """Rasa's action name."""
        return "action_list_questions"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """List what the patient wants to raise."""
        portal_id = verified_patient(tracker)
        if portal_id is None:
            items = _anon_items(tracker)
        else:
            with db_session() as session:
                items = [q.text for q in questions.list_questions(session, portal_id)]
        if not items:
            send_reply(dispatcher, Reply(say(WORDING, "list_empty"), _buttons(tracker)))
            return []
        if portal_id is None:
            text = say(
                WORDING,
                "list_not_saved",
                items=_listing(items),
                not_saved=say(WORDING, "not_saved"),
            )
        else:
            text = say(WORDING, "list", items=_listing(items))
        send_reply(dispatcher, Reply(text, _buttons(tracker), custom=_printable(items)))
        return []


class ActionRemoveQuestion(Action):
    """Remove one item (by number or words) or clear the list."""

    def name(self) -> str:
        """Rasa's action name."""
        return "action_remove_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Remove what the patient asked for and say what is left."""
        removal = questions.parse_removal(_text(tracker))
        portal_id = verified_patient(tracker)
        events: list[dict[str, Any]] = []
        if portal_id is None:
            kept, removed = questions.apply_removal(_anon_items(tracker), removal)
            events.append(SlotSet(ANON_SLOT, kept))
        else:
            with db_session() as session:
                removed = [q.text for q in questions.remove_questions(session, portal_id, removal)]
                kept = [q.text for q in questions.list_questions(session, portal_id)]
        if not removed:
            text = (
                say(WORDING, "remove_unclear_with_list", items=_listing(kept))
                if kept
                else say(WORDING, "remove_unclear")
            )
            send_reply(dispatcher, Reply(text, _buttons(tracker)))
            return events
        gone = "; ".join(f'"{r}"' for r in removed)
        text = (
            say(WORDING, "removed", removed=gone, items=_listing(kept))
            if kept
            else say(WORDING, "removed_all", removed=gone)
        )
        send_reply(dispatcher, Reply(text, _buttons(tracker)))
        return events
