"""Requests for the care team: come in face to face instead, and a corrected phone number."""

from __future__ import annotations

from rasa_sdk import Tracker
from sqlalchemy.orm import Session

from actions.appointments import PatientAction
from bot import clock
from bot.care.appointments import Reply, extract_reason, face_to_face_reply
from bot.care.requests import normalise_uk_phone, record_number_correction
from bot.storage import records
from bot.storage.records import PatientView

ASK_NUMBER = "What number should the team call you on? Please type it, for example 07700 900123."


def _text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


class ActionRequestFaceToFace(PatientAction):
    """Record "I'd rather come in" against the next appointment, once."""

    checklist_item = "face_to_face"

    def name(self) -> str:
        """Rasa's action name."""
        return "action_request_face_to_face"

    general_topic = "face_to_face_request_general"
    signed_in_offer = "pass your request for a face-to-face appointment to your team"

    def reply(self, session: Session, patient: PatientView, tracker: Tracker) -> Reply:
        """Record the request (with any reason given) and say what happens next."""
        appointment = records.next_appointment(session, patient.portal_id, clock.now())
        recorded = False
        if appointment is not None and appointment.kind != "face_to_face":
            recorded = records.request_face_to_face(
                session, patient.portal_id, appointment.id, extract_reason(_text(tracker))
            )
        return face_to_face_reply(appointment, recorded, patient)


class ActionUpdatePhone(PatientAction):
    """Pass a corrected phone number to the team as pending (never overwrite it silently)."""

    checklist_item = "number"

    def name(self) -> str:
        """Rasa's action name."""
        return "action_update_phone"

    general_topic = "phone_number_general"
    signed_in_offer = "pass your new number to your team"

    def settles_item(self, tracker: Tracker) -> bool:
        """Only a message with a number in it settles the checklist's number item."""
        return normalise_uk_phone(_text(tracker)) is not None

    def reply(self, session: Session, patient: PatientView, tracker: Tracker) -> Reply:
        """Record the new number if one was typed; otherwise ask for it."""
        number = normalise_uk_phone(_text(tracker))
        if number is None:
            return Reply(ASK_NUMBER)
        recorded = record_number_correction(session, patient.portal_id, number)
        ending = "".join(c for c in number if c.isdigit())[-4:]
        if not recorded:
            return Reply(f"Your team already has the number ending {ending} to update.")
        return Reply(
            f"Thank you. I've passed the number ending {ending} to your team to update "
            "your record. Until they confirm, they may still have the old one, so if you're "
            "expecting a call soon it's worth ringing them too."
        )
