"""The signed-in patient's own appointments: next one, stage of follow-up, calendar file."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.checklist import next_step
from actions.common import (
    active_checklist,
    auth_state,
    db_session,
    send_answer,
    send_reply,
    verified_patient,
)
from bot import clock
from bot.care import checklist, questions
from bot.care.appointments import (
    Reply,
    calendar_reply,
    next_appointment_reply,
    no_appointment_heard_reply,
    no_record_reply,
    sign_in_offer,
    sign_in_reply,
    stage_reply,
)
from bot.care.content import load_library
from bot.care.wording import buttons, say
from bot.storage import records
from bot.storage.records import PatientView


class PatientAction(Action, ABC):
    """An action about the verified patient's own record; anonymous users are asked to sign in.

    An action that settles a pre-call checklist item names it in `checklist_item`; when that
    item is the one the patient is on, it is ticked and the checklist moves on.
    """

    checklist_item: ClassVar[str | None] = None
    # A general question behind the personal one gets the general answer first, then what
    # signing in would add; only actions with nothing general to say ask for sign-in alone.
    general_topic: ClassVar[str | None] = None
    # What signing in would add: (concern, key) of its wording in content/.
    signed_in_offer: ClassVar[tuple[str, str]] = ("appointments", "offer_own_appointments")

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Look the patient up and reply; never reveal anything without a verified identity."""
        portal_id = verified_patient(tracker)
        if portal_id is None:
            self.anonymous(dispatcher, auth_state(tracker))
            return []
        with db_session() as session:
            patient = records.get_patient(session, portal_id)
            reply = no_record_reply() if patient is None else self.reply(session, patient, tracker)
        send_reply(dispatcher, reply)
        state = active_checklist(tracker)
        if (
            patient is not None
            and state is not None
            and self.checklist_item is not None
            and checklist.current_item(state) == self.checklist_item
            and self.settles_item(tracker)
        ):
            return next_step(tracker, dispatcher, checklist.answer(state, "done"))
        return []

    def settles_item(self, tracker: Tracker) -> bool:
        """Whether this message settles `checklist_item` (by default, it always does)."""
        return True

    def anonymous(self, dispatcher: CollectingDispatcher, auth: str | None) -> None:
        """What an unverified user gets: the general answer and what signing in adds."""
        if self.general_topic is None:
            send_reply(dispatcher, sign_in_reply(auth))
            return
        answer = load_library().get(self.general_topic)
        offer = say(*self.signed_in_offer)
        send_answer(dispatcher, answer, extra=sign_in_offer(auth, offer))

    @abstractmethod
    def reply(self, session: Session, patient: PatientView, tracker: Tracker) -> Reply:
        """The reply for a verified patient with a record."""


class ActionNextAppointment(PatientAction):
    """When is my next appointment, and what kind is it."""

    def name(self) -> str:
        """Rasa's action name."""
        return "action_next_appointment"

    general_topic = "next_appointment_general"
    signed_in_offer = ("appointments", "offer_next_appointment")

    def reply(self, session: Session, patient: PatientView, tracker: Tracker) -> Reply:
        """Describe the next booked appointment."""
        now = clock.now()
        appointment = records.next_appointment(session, patient.portal_id, now)
        reply = next_appointment_reply(patient, appointment, now)
        noted = len(questions.list_questions(session, patient.portal_id))
        if appointment is None or not noted:
            return reply
        # Offer back what they wanted to raise at this appointment.
        listed = (
            say("appointments", "questions_noted", count=noted)
            if noted != 1
            else say("appointments", "questions_noted_one")
        )
        return Reply(
            f"{reply.text} {listed}",
            (*buttons("appointments", "show_questions_button"), *reply.buttons),
        )


class ActionFollowUpStage(PatientAction):
    """Where am I in follow-up (the typical schedule, flagged as typical)."""

    def name(self) -> str:
        """Rasa's action name."""
        return "action_follow_up_stage"

    general_topic = "how_often"
    signed_in_offer = ("appointments", "offer_follow_up_stage")

    def reply(self, session: Session, patient: PatientView, tracker: Tracker) -> Reply:
        """Place the patient in the typical schedule."""
        now = clock.now()
        booked = records.next_appointment(session, patient.portal_id, now) is not None
        last = records.last_attended(session, patient.portal_id, now)
        return stage_reply(patient, booked, last, now.date())


class ActionAddToCalendar(PatientAction):
    """An .ics file for the next appointment."""

    def name(self) -> str:
        """Rasa's action name."""
        return "action_add_to_calendar"

    def reply(self, session: Session, patient: PatientView, tracker: Tracker) -> Reply:
        """Build the calendar file."""
        now = clock.now()
        return calendar_reply(
            records.next_appointment(session, patient.portal_id, now), patient, now
        )


class ActionNoAppointmentHeard(PatientAction):
    """Expecting an appointment but heard nothing: the reviewed answer, personalised."""

    def name(self) -> str:
        """Rasa's action name."""
        return "action_no_appointment_heard"

    def anonymous(self, dispatcher: CollectingDispatcher, auth: str | None) -> None:
        """The general answer: contact your specialist nurse."""
        send_answer(dispatcher, load_library().get("no_appointment_heard"))

    def reply(self, session: Session, patient: PatientView, tracker: Tracker) -> Reply:
        """Show what is booked, or name their nurse."""
        appointment = records.next_appointment(session, patient.portal_id, clock.now())
        return no_appointment_heard_reply(patient, appointment)
