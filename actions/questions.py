"""The "my questions" notebook: add, list (printable) and remove things to raise."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    BACK_TO_CHECKLIST,
    active_checklist,
    db_session,
    send_reply,
    verified_patient,
)
from bot import clock
from bot.care import questions
from bot.care.appointments import Reply
from bot.storage import records

ANON_SLOT = "anon_questions"
NOT_SAVED = (
    "This list is only kept for this conversation and isn't saved. Sign in to your patient "
    "portal to keep it for your appointment."
)
ASK_WHAT = (
    'What would you like to add? Type it starting with "add", for example: '
    "add: can I go back to work?"
)


def _text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def _anon_items(tracker: Tracker) -> list[str]:
    items = tracker.get_slot(ANON_SLOT)
    return [i for i in items if isinstance(i, str)] if isinstance(items, list) else []


def _listing(items: list[str]) -> str:
    return "\n".join(f"{n}. {item}" for n, item in enumerate(items, start=1))


def _printable(items: list[str]) -> dict[str, Any]:
    return {"type": "printable", "title": "Questions for my follow-up appointment", "items": items}


def _buttons(tracker: Tracker, *extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return (*extra, BACK_TO_CHECKLIST) if active_checklist(tracker) else tuple(extra)


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
            send_reply(dispatcher, Reply(ASK_WHAT))
            return []
        kind = questions.classify_kind(_text(tracker))
        portal_id = verified_patient(tracker)
        if portal_id is None:
            items = [*_anon_items(tracker), text]
            send_reply(
                dispatcher,
                Reply(
                    f'Added: "{text}". You have {len(items)} on your list.\n\n{NOT_SAVED}',
                    _buttons(tracker, ("Show my list", "/list_questions")),
                ),
            )
            return [SlotSet(ANON_SLOT, items)]
        with db_session() as session:
            appointment = records.next_appointment(session, portal_id, clock.now())
            questions.add_question(
                session, portal_id, text, kind, appointment.id if appointment else None
            )
            count = len(questions.list_questions(session, portal_id))
        where = (
            "for your next appointment"
            if appointment
            else "for your next appointment once it's booked"
        )
        send_reply(
            dispatcher,
            Reply(
                f'Added {where}: "{text}". You have {count} on your list.',
                _buttons(tracker, ("Show my list", "/list_questions")),
            ),
        )
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
            send_reply(
                dispatcher,
                Reply(
                    "Your list is empty. You can add something by typing, for example: "
                    "add: can I go back to work?",
                    _buttons(tracker),
                ),
            )
            return []
        note = f"\n\n{NOT_SAVED}" if portal_id is None else ""
        send_reply(
            dispatcher,
            Reply(
                f"Here's your list:\n{_listing(items)}{note}",
                _buttons(tracker),
                custom=_printable(items),
            ),
        )
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
            text = 'I couldn\'t tell which one to remove. Say, for example, "remove question 2".'
            if kept:
                text += f"\n\nYour list:\n{_listing(kept)}"
            send_reply(dispatcher, Reply(text, _buttons(tracker)))
            return events
        gone = "; ".join(f'"{r}"' for r in removed)
        left = f"\n\nStill on your list:\n{_listing(kept)}" if kept else " Your list is now empty."
        send_reply(dispatcher, Reply(f"Removed {gone}.{left}", _buttons(tracker)))
        return events
