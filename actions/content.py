"""One action per reviewed topic (content/answers.yml) and per conversational reply
(content/conversation.yml: greeting, goodbye, limits)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import patient_record, send_answer, send_reply
from bot.care.appointments import Reply
from bot.care.content import load_library
from bot.care.signposting import call_phrase
from bot.care.suggestions import did_you_mean
from bot.care.wording import buttons, say


class AnswerTopic(Action, ABC):
    """Send the reviewed answer for `topic` (subclasses name the topic)."""

    topic: ClassVar[str]

    @abstractmethod
    def name(self) -> str:
        """Rasa's action name: action_answer_<topic>."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Send the answer; no events."""
        send_answer(dispatcher, load_library().get(self.topic), tracker=tracker)
        return []


def _named_action(base: type[Action], action_name: str, **attrs: Any) -> type:
    # A concrete subclass per name, so the action server registers each one.
    class_name = "".join(part.title() for part in action_name.split("_"))
    namespace = {
        **attrs,
        "name": lambda self: action_name,
        "__doc__": f"{base.__doc__} ({action_name})",
        "__module__": __name__,
    }
    return type(class_name, (base,), namespace)


CONTENT_TOPICS = (
    "why_follow_up",
    "how_often",
    "who_see",
    "appointment_types",
    "face_to_face",
    "remote_prepare",
    "remote_feelings",
    "during_appointment",
    "coping",
    "peer_support",
    "symptoms_to_watch",
)

TOPIC_ACTIONS = {
    topic: _named_action(AnswerTopic, f"action_answer_{topic}", topic=topic)
    for topic in CONTENT_TOPICS
}


class SayConversation(Action, ABC):
    """Send the reply `key` of content/conversation.yml with its quick replies."""

    key: ClassVar[str]

    @abstractmethod
    def name(self) -> str:
        """Rasa's action name: action_<key>."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Send the reply; no events."""
        reply = Reply(say("conversation", self.key), buttons("conversation", self.key))
        send_reply(dispatcher, reply)
        return []


# Each was a domain.yml response (utter_<key>) before the wording moved to content/.
CONVERSATION_KEYS = (
    "greet",
    "goodbye",
    "thank",
    "bot_challenge",
    "capabilities",
    "out_of_scope",
    "medical_advice",
)

CONVERSATION_ACTIONS = {
    key: _named_action(SayConversation, f"action_{key}", key=key)
    for key in CONVERSATION_KEYS
    if key != "out_of_scope"  # its own class below: it adds whom to call
}


class ActionOutOfScope(SayConversation):
    """Decline kindly, and say whom to call about a symptom (the patient's own line if known)."""

    key = "out_of_scope"

    def name(self) -> str:
        """Rasa's action name."""
        return "action_out_of_scope"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The decline, then the signposting line; no events."""
        patient = patient_record(tracker)
        call = call_phrase(
            patient.hospital_advice_line if patient else None,
            patient.hospital_name if patient else None,
        )
        text = (
            f"{say('conversation', 'out_of_scope')}\n\n{say('conversation', 'worried', call=call)}"
        )
        send_reply(dispatcher, Reply(text, buttons("conversation", "out_of_scope")))
        return []


CONVERSATION_ACTIONS["out_of_scope"] = ActionOutOfScope


class ActionDidYouMean(Action):
    """Unsure what was meant: offer the closest topics as buttons, with whom to call."""

    def name(self) -> str:
        """Rasa's action name."""
        return "action_did_you_mean"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The classifier's ranking, best first, minus the fallback itself."""
        ranking = (tracker.latest_message or {}).get("intent_ranking") or []
        send_reply(dispatcher, did_you_mean(ranking))
        return []
