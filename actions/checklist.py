"""The pre-call checklist: one item at a time, with done / not yet / help, resumable."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    CHECKLIST_SLOT,
    active_checklist,
    db_session,
    send_reply,
    verified_patient,
)
from bot import clock
from bot.care import checklist
from bot.care.appointments import Reply, nothing_booked_reply
from bot.care.smalltalk import NO_PROBLEM, WHAT_NEXT
from bot.storage import records

SLOT = CHECKLIST_SLOT
ITEM_BUTTONS = (("Done", "/affirm"), ("Not yet", "/deny"), ("Help", "/checklist_help"))
EXTRA_BUTTONS = {
    "number": (("It's changed", "/update_phone_number"),),
    "questions": (("Add a question", "/add_question"),),
    "face_to_face": (("I'd rather come in", "/request_face_to_face"),),
}
KIND_BUTTONS = (
    ("Telephone", '/start_checklist{"checklist_kind":"telephone"}'),
    ("Video", '/start_checklist{"checklist_kind":"video"}'),
)

FACE_TO_FACE_NO_CALL = Reply(
    "For a face-to-face appointment there's no call to get ready for. It can still help to "
    "write down any questions, side effects or symptoms you want to mention beforehand.",
    (("What happens at clinic", "/ask_face_to_face"), ("Add a question", "/add_question")),
)


def item_reply(state: dict[str, Any], masked: str | None, link: str | None) -> Reply:
    """The current item's question with its quick replies."""
    item = checklist.current_item(state)
    position = f"({state['index'] + 1} of {len(state['items'])}) "
    text = position + checklist.prompt_for(item, masked_number=masked, video_link=link)
    return Reply(text, ITEM_BUTTONS + EXTRA_BUTTONS.get(item, ()))


def _details(tracker: Tracker, state: dict[str, Any]) -> tuple[str | None, str | None]:
    # The masked number and video link are shown only to the verified patient.
    portal_id = verified_patient(tracker)
    if portal_id is None:
        return None, None
    with db_session() as session:
        patient = records.get_patient(session, portal_id)
        appointment = records.next_appointment(session, portal_id, clock.now())
    masked = patient.phone_masked if patient else None
    link = (
        appointment.video_link
        if appointment and appointment.id == state.get("appointment_id")
        else None
    )
    return masked, link


def next_step(tracker: Tracker, dispatcher: CollectingDispatcher, state: dict[str, Any]) -> list:
    """Ask the next item, or give the summary and close the checklist."""
    if checklist.is_finished(state):
        send_reply(dispatcher, Reply(checklist.summary(state)))
        return [SlotSet(SLOT, None)]
    send_reply(dispatcher, item_reply(state, *_details(tracker, state)))
    return [SlotSet(SLOT, state)]


class ActionChecklistStart(Action):
    """Start (or resume) the checklist for the next phone or video appointment."""

    def name(self) -> str:
        """Rasa's action name."""
        return "action_checklist_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Resume, tailor to the signed-in patient's appointment, or ask which kind."""
        state = active_checklist(tracker)
        if state is not None:
            send_reply(dispatcher, Reply("Let's pick up where we left off."))
            return next_step(tracker, dispatcher, state)
        portal_id = verified_patient(tracker)
        if portal_id is not None:
            with db_session() as session:
                patient = records.get_patient(session, portal_id)
                appointment = records.next_appointment(session, portal_id, clock.now())
            if patient is None or appointment is None:
                send_reply(
                    dispatcher,
                    nothing_booked_reply(patient)
                    if patient
                    else Reply(
                        "I couldn't find your follow-up record, so here are general tips instead."
                    ),
                )
                return []
            if appointment.kind == "face_to_face":
                send_reply(
                    dispatcher,
                    Reply(
                        "Your next appointment is face to face, so there's no call to get ready "
                        "for. Would you like to know what happens at clinic?",
                        (("What happens at clinic", "/ask_face_to_face"),),
                    ),
                )
                return []
            state = checklist.new_state(appointment.kind, appointment.id)
        else:
            kind = next(
                (
                    e.get("value")
                    for e in tracker.latest_message.get("entities", [])
                    if e.get("entity") == "checklist_kind"
                ),
                None,
            ) or checklist.kind_from_text(tracker.latest_message.get("text") or "")
            if kind == "face_to_face":
                send_reply(dispatcher, FACE_TO_FACE_NO_CALL)
                return []
            if kind not in ("telephone", "video"):
                send_reply(
                    dispatcher,
                    Reply(
                        "Happy to go through it with you. Is your appointment by telephone or by "
                        "video? (If you sign in to your patient portal, I can tailor it to your "
                        "own appointment.)",
                        KIND_BUTTONS,
                    ),
                )
                return []
            state = checklist.new_state(kind, None)
        send_reply(
            dispatcher,
            Reply(
                f"Let's get you ready for your {state['kind']} appointment. You can stop at any "
                'point to ask something else, and come back by saying "back to my checklist".'
            ),
        )
        return next_step(tracker, dispatcher, state)


class ActionYesNo(Action):
    """A yes, no or help: answers the checklist item if one is open, else plain small talk."""

    def name(self) -> str:
        """Rasa's action name."""
        return "action_yes_no"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Record done / not yet, explain the item, or reply to a bare yes or no."""
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        state = active_checklist(tracker)
        if state is None:
            if intent == "checklist_help":
                send_reply(
                    dispatcher,
                    Reply(
                        "I can go through a short checklist to get you ready for a phone or video "
                        "appointment.",
                        (("Start the checklist", "/start_checklist"),),
                    ),
                )
            else:
                send_reply(dispatcher, WHAT_NEXT if intent == "affirm" else NO_PROBLEM)
            return []
        item = checklist.current_item(state)
        if intent == "checklist_help":
            help_text = checklist.load_checklist_content()[item]["help"]
            send_reply(dispatcher, Reply(help_text, ITEM_BUTTONS[:2] + EXTRA_BUTTONS.get(item, ())))
            return []
        reply = "done" if intent == "affirm" else "not_yet"
        return next_step(tracker, dispatcher, checklist.answer(state, reply))
