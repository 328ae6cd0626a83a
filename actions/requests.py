"""Requests for the care team: come in face to face instead, and a corrected phone number."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.checklist import next_step
from actions.common import active_checklist, auth_state, db_session, send_reply, verified_patient
from bot import checklist, clock, records
from bot.appointments import NO_RECORD, Reply, extract_reason, face_to_face_reply, sign_in_reply
from bot.requests import normalise_uk_phone, record_number_correction


class ActionRequestFaceToFace(Action):
    """Record "I'd rather come in" against the next appointment, once."""

    def name(self) -> str:
        """Rasa's action name."""
        return "action_request_face_to_face"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Record the request (with any reason given) and say what happens next."""
        portal_id = verified_patient(tracker)
        if portal_id is None:
            send_reply(dispatcher, sign_in_reply(auth_state(tracker)))
            return []
        reason = extract_reason((tracker.latest_message or {}).get("text") or "")
        with db_session() as session:
            patient = records.get_patient(session, portal_id)
            if patient is None:
                send_reply(dispatcher, Reply(NO_RECORD))
                return []
            appointment = records.next_appointment(session, portal_id, clock.now())
            recorded = False
            if appointment is not None and appointment.kind != "face_to_face":
                recorded = records.request_face_to_face(session, portal_id, appointment.id, reason)
        send_reply(dispatcher, face_to_face_reply(appointment, recorded, patient))
        state = active_checklist(tracker)
        if state and checklist.current_item(state) == "face_to_face":
            return next_step(tracker, dispatcher, checklist.answer(state, "done"))
        return []


class ActionUpdatePhone(Action):
    """Pass a corrected phone number to the team as pending (never overwrite it silently)."""

    def name(self) -> str:
        """Rasa's action name."""
        return "action_update_phone"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Record the new number if one was typed; otherwise ask for it."""
        portal_id = verified_patient(tracker)
        if portal_id is None:
            send_reply(dispatcher, sign_in_reply(auth_state(tracker)))
            return []
        number = normalise_uk_phone((tracker.latest_message or {}).get("text") or "")
        if number is None:
            send_reply(
                dispatcher,
                Reply(
                    "What number should the team call you on? Please type it, for example "
                    "07700 900123."
                ),
            )
            return []
        with db_session() as session:
            if records.get_patient(session, portal_id) is None:
                send_reply(dispatcher, Reply(NO_RECORD))
                return []
            recorded = record_number_correction(session, portal_id, number)
        digits = "".join(c for c in number if c.isdigit())
        text = (
            f"Thank you. I've passed the number ending {digits[-4:]} to your team to update "
            "your record. Until they confirm, they may still have the old one, so if you're "
            "expecting a call soon it's worth ringing them too."
            if recorded
            else f"Your team already has the number ending {digits[-4:]} to update."
        )
        send_reply(dispatcher, Reply(text))
        state = active_checklist(tracker)
        if state and checklist.current_item(state) == "number":
            return next_step(tracker, dispatcher, checklist.answer(state, "done"))
        return []
