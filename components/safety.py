"""An NLU component that screens every message for red flags after the classifiers have run.

The screen (bot/safety.py) is rule-based and reviewable; it decides alone. If it finds urgent
symptoms or crisis language, the intent becomes `urgent_symptom` or `crisis` whatever the
classifier thought. If it finds none, a classifier guess of those intents is replaced by the
next-best intent, so negated look-alikes ("no fever, when is clinic?") get their normal answer.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.safety import Screening, get_screener

logger = logging.getLogger(__name__)

SAFETY_INTENTS = {"urgent": "urgent_symptom", "crisis": "crisis"}
SAFETY_KEY = "safety"


def apply_screening(message: Message, screening: Screening) -> None:
    """Set the message's intent from a screening result (see the module docstring)."""
    intent = message.get(INTENT) or {}
    ranking = list(message.get(INTENT_RANKING_KEY) or [])
    classifier_intent = intent.get("name")
    if screening.category:
        forced = {"name": SAFETY_INTENTS[screening.category], "confidence": 1.0}
        message.set(INTENT, forced, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [forced, *ranking], add_to_output=True)
    elif classifier_intent in SAFETY_INTENTS.values():
        rest = [r for r in ranking if r.get("name") not in SAFETY_INTENTS.values()]
        fallback = rest[0] if rest else {"name": "nlu_fallback", "confidence": 1.0}
        message.set(INTENT, fallback, add_to_output=True)
        message.set(INTENT_RANKING_KEY, rest, add_to_output=True)
    message.set(
        SAFETY_KEY,
        {
            "category": screening.category,
            "signals": list(screening.signals),
            "about_someone_else": screening.about_someone_else,
            "classifier_intent": classifier_intent,
        },
        add_to_output=True,
    )


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SafetyScreen(GraphComponent):
    """Screens each message for urgent symptoms and crisis language."""

    @classmethod
    def required_components(cls) -> list[type]:
        """It runs after an intent classifier, so it can overrule it."""
        return [IntentClassifier]

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SafetyScreen:
        """Build the component and load the screen now, not on the first patient's message."""
        get_screener()
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        """Screen each message and set its intent accordingly."""
        screener = get_screener()
        for message in messages:
            screening = screener.screen(message.get(TEXT) or "")
            apply_screening(message, screening)
            # Only the decision is logged, never the text.
            logger.info("safety screen: %s", screening.category or "clear")
        return messages

    def process_training_data(self, training_data: Any) -> Any:
        """Training data passes through untouched."""
        return training_data
