"""Requests for the care team: face to face instead, a corrected number, a callback.

Each request filed is saved first; then the team's mailbox is told (bot/care/notifications.py),
after the database commit, so an email never points at a request that was rolled back, and a
failed email never loses a request.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.appointments import PatientAction
from actions.common import db_session, send_reply, verified_patient
from bot import clock
from bot.care.appointments import Reply, extract_reason, face_to_face_reply
from bot.care.callbacks import (
    WINDOWS,
    callback_filed_reply,
    offer_callback,
    talk_to_person_anonymous,
    window_from_text,
)
from bot.care.notifications import notify_request
from bot.care.requests import (
    file_callback,
    normalise_uk_phone,
    pending_reference,
    record_number_correction,
)
from bot.care.wording import say
from bot.storage import records
from bot.storage.records import PatientView

# References filed during this action run (one asyncio task per request, so per message).
_filed: ContextVar[list[str] | None] = ContextVar("filed_requests", default=None)
# The words are in content/requests.yml.
WORDING = "requests"


def _text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def _filed_now(reference: str | None) -> None:
    filed = _filed.get()
    if reference is not None and filed is not None:
        filed.append(reference)


class NotifyingAction(PatientAction):
    """A PatientAction whose requests are emailed to the team once they are committed."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Run the action, then notify for each request it filed."""
        filed: list[str] = []
        token = _filed.set(filed)
        try:
            events = await super().run(dispatcher, tracker, domain)
        finally:
            _filed.reset(token)
        for reference in filed:
            # smtplib blocks; a thread keeps the action server answering meanwhile.
            await asyncio.to_thread(notify_request, reference)
        return events


class ActionRequestFaceToFace(NotifyingAction):
    """Record "I'd rather come in" against the next appointment, once."""

    checklist_item = "face_to_face"

    def name(self) -> str:
        """Rasa's action name."""
        return "action_request_face_to_face"

    general_topic = "face_to_face_request_general"
    signed_in_offer = (WORDING, "offer_face_to_face")

    def reply(self, session: Session, patient: PatientView, tracker: Tracker) -> Reply:
        """Record the request (with any reason given) and say what happens next."""
        appointment = records.next_appointment(session, patient.portal_id, clock.now())
        recorded = False
        if appointment is not None and appointment.kind != "face_to_face":
            recorded = records.request_face_to_face(
                session, patient.portal_id, appointment.id, extract_reason(_text(tracker))
            )
            if recorded:
                _filed_now(pending_reference(session, "f2f", patient.portal_id))
        return face_to_face_reply(appointment, recorded, patient)


class ActionUpdatePhone(NotifyingAction):
    """Pass a corrected phone number to the team as pending (never overwrite it silently)."""

    checklist_item = "number"

    def name(self) -> str:
        """Rasa's action name."""
        return "action_update_phone"

    general_topic = "phone_number_general"
    signed_in_offer = (WORDING, "offer_new_number")

    def settles_item(self, tracker: Tracker) -> bool:
        """Only a message with a number in it settles the checklist's number item."""
        return normalise_uk_phone(_text(tracker)) is not None

    def reply(self, session: Session, patient: PatientView, tracker: Tracker) -> Reply:
        """Record the new number if one was typed; otherwise ask for it."""
        number = normalise_uk_phone(_text(tracker))
        if number is None:
            return Reply(say(WORDING, "ask_number"))
        recorded = record_number_correction(session, patient.portal_id, number)
        ending = "".join(c for c in number if c.isdigit())[-4:]
        if not recorded:
            return Reply(say(WORDING, "number_already_passed", ending=ending))
        _filed_now(pending_reference(session, "phone", patient.portal_id))
        return Reply(say(WORDING, "number_passed", ending=ending))


def _window(tracker: Tracker) -> str | None:
    """The window from the offer's button, else from typed words ("mornings suit me")."""
    entities = (tracker.latest_message or {}).get("entities") or []
    for entity in entities:
        if entity.get("entity") == "callback_window" and entity.get("value") in WINDOWS:
            return entity["value"]
    return window_from_text(_text(tracker))


class ActionTalkToPerson(Action):
    """Someone wants a person: the helpline (open now or not), their team, and for a signed-in
    patient the offer of a callback. Never a sign-in wall."""

    def name(self) -> str:
        """Rasa's action name."""
        return "action_talk_to_person"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Answer anyone; offer a callback only to a verified patient with a record."""
        now = clock.now()
        portal_id = verified_patient(tracker)
        patient = None
        if portal_id is not None:
            with db_session() as session:
                patient = records.get_patient(session, portal_id)
        reply = talk_to_person_anonymous(now) if patient is None else offer_callback(patient, now)
        send_reply(dispatcher, reply)
        return []


class ActionRequestCallback(NotifyingAction):
    """File a callback once the patient has chosen a window for the number shown to them."""

    def name(self) -> str:
        """Rasa's action name."""
        return "action_request_callback"

    def anonymous(self, dispatcher: CollectingDispatcher, auth: str | None) -> None:
        """No record to call back on: the helpline and their team instead, without a wall."""
        send_reply(dispatcher, talk_to_person_anonymous(clock.now()))

    def reply(self, session: Session, patient: PatientView, tracker: Tracker) -> Reply:
        """Without a chosen window (or a number), offer the choice; with one, file it."""
        now = clock.now()
        window = _window(tracker)
        if window is None or not patient.phone_masked:
            return offer_callback(patient, now)
        reference = file_callback(session, patient.portal_id, window)
        _filed_now(reference)
        return callback_filed_reply(patient, window, reference, now)
