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
from bot.care.appointments import Reply, kind_word, nothing_booked_reply
from bot.care.smalltalk import no_problem, what_next
from bot.care.wording import buttons, say
from bot.storage import records

SLOT = CHECKLIST_SLOT
# The words are in content/checklist.yml.
WORDING = "checklist"
ANSWER_BUTTONS = ("done_button", "not_yet_button")
# The quick reply each item adds after done / not yet / help.
EXTRA_BUTTONS = {
    "number": "number_changed_button",
    "questions": "add_question_button",
    "face_to_face": "come_in_button",
}


def _reply(key: str, **fields: object) -> Reply:
    return Reply(say(WORDING, key, **fields), buttons(WORDING, key))


def _item_buttons(item: str, *answers: str) -> tuple[tuple[str, str], ...]:
    extra = (EXTRA_BUTTONS[item],) if item in EXTRA_BUTTONS else ()
    return buttons(WORDING, *answers, *extra)


def item_reply(state: dict[str, Any], masked: str | None, link: str | None) -> Reply:
    """The current item's question with its quick replies."""
    item = checklist.current_item(state)
    text = say(
        WORDING,
        "item",
        number=state["index"] + 1,
        total=len(state["items"]),
        prompt=checklist.prompt_for(item, masked_number=masked, video_link=link),
    )
    return Reply(text, _item_buttons(item, *ANSWER_BUTTONS, "help_button"))


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
            send_reply(dispatcher, _reply("resume"))
            return next_step(tracker, dispatcher, state)
        portal_id = verified_patient(tracker)
        if portal_id is not None:
            with db_session() as session:
                patient = records.get_patient(session, portal_id)
                appointment = records.next_appointment(session, portal_id, clock.now())
            if patient is None or appointment is None:
                send_reply(
                    dispatcher, nothing_booked_reply(patient) if patient else _reply("no_record")
                )
                return []
            if appointment.kind == "face_to_face":
                send_reply(dispatcher, _reply("next_is_face_to_face"))
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
                send_reply(dispatcher, _reply("face_to_face_no_call"))
                return []
            if kind not in ("telephone", "video"):
                send_reply(dispatcher, _reply("ask_kind"))
                return []
            state = checklist.new_state(kind, None)
        send_reply(dispatcher, _reply("start", kind=kind_word(state["kind"])))
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
                send_reply(dispatcher, _reply("offer"))
            else:
                send_reply(dispatcher, what_next() if intent == "affirm" else no_problem())
            return []
        item = checklist.current_item(state)
        if intent == "checklist_help":
            help_text = checklist.load_checklist_content()[item]["help"]
            send_reply(dispatcher, Reply(help_text, _item_buttons(item, *ANSWER_BUTTONS)))
            return []
        reply = "done" if intent == "affirm" else "not_yet"
        return next_step(tracker, dispatcher, checklist.answer(state, reply))
