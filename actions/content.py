"""One action per reviewed topic; the words live in content/answers.yml."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import send_answer, send_reply
from bot.care.content import load_library
from bot.care.suggestions import did_you_mean


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
