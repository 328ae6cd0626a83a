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


def _topic_action(topic: str) -> type[AnswerTopic]:
    # A concrete subclass per topic, so the action server registers each by name.
    class_name = "ActionAnswer" + "".join(part.title() for part in topic.split("_"))
    namespace = {
        "topic": topic,
        "name": lambda self: f"action_answer_{self.topic}",
        "__doc__": f"Answer the reviewed topic '{topic}'.",
        "__module__": __name__,
    }
    return type(class_name, (AnswerTopic,), namespace)


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

TOPIC_ACTIONS = {topic: _topic_action(topic) for topic in CONTENT_TOPICS}


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


def _conversation_action(key: str) -> type[SayConversation]:
    # As for the topics: a concrete subclass per reply, registered by name.
    class_name = "Action" + "".join(part.title() for part in key.split("_"))
    namespace = {
        "key": key,
        "name": lambda self: f"action_{self.key}",
        "__doc__": f"Send the conversational reply '{key}'.",
        "__module__": __name__,
    }
    return type(class_name, (SayConversation,), namespace)


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

CONVERSATION_ACTIONS = {key: _conversation_action(key) for key in CONVERSATION_KEYS}


class ActionOutOfScope(CONVERSATION_ACTIONS["out_of_scope"]):
    """Decline kindly, and say whom to call about a symptom (the patient's own line if known)."""

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
