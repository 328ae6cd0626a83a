"""An NLU component that screens every message for red flags after the classifiers have run.

The screen (bot/safety.py) is rule-based and reviewable. If it finds urgent symptoms or crisis
language, the intent becomes `urgent_symptom` or `crisis` whatever the classifier thought.

If it finds none, the classifier's own guess of a safety intent stands only as a second net:
when it is confident (`classifier_min_confidence`) and the screen did not see and discount the
words itself (negated or harmless, as in "no fever, when is clinic?"). Otherwise the guess is
replaced by the next-best intent, so look-alikes get their normal answer.
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


def apply_screening(message: Message, screening: Screening, min_confidence: float) -> str:
    """Set the message's intent from a screening result; return who decided (for the log)."""
    intent = message.get(INTENT) or {}
    ranking = list(message.get(INTENT_RANKING_KEY) or [])
    classifier_intent = intent.get("name")
    decided = "screen" if screening.category else "none"
    if screening.category:
        forced = {"name": SAFETY_INTENTS[screening.category], "confidence": 1.0}
        message.set(INTENT, forced, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [forced, *ranking], add_to_output=True)
    elif classifier_intent in SAFETY_INTENTS.values() and (
        screening.discounted or (intent.get("confidence") or 0.0) < min_confidence
    ):
        rest = [r for r in ranking if r.get("name") not in SAFETY_INTENTS.values()]
        fallback = rest[0] if rest else {"name": "nlu_fallback", "confidence": 1.0}
        message.set(INTENT, fallback, add_to_output=True)
        message.set(INTENT_RANKING_KEY, rest, add_to_output=True)
    elif classifier_intent in SAFETY_INTENTS.values():
        decided = "classifier"
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
    return decided


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SafetyScreen(GraphComponent):
    """Screens each message for urgent symptoms and crisis language."""

    @classmethod
    def required_components(cls) -> list[type]:
        """It runs after an intent classifier, so it can overrule it."""
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """How sure the classifier must be for its own red-flag guess to stand."""
        return {"classifier_min_confidence": 0.8}

    def __init__(self, config: dict[str, Any]) -> None:
        """Keep the component's config."""
        self._min_confidence = float(config["classifier_min_confidence"])

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
        return cls({**cls.get_default_config(), **config})

    def process(self, messages: list[Message]) -> list[Message]:
        """Screen each message and set its intent accordingly."""
        screener = get_screener()
        for message in messages:
            screening = screener.screen(message.get(TEXT) or "")
            decided = apply_screening(message, screening, self._min_confidence)
            # Only the decision is logged, never the text.
            intent = (message.get(INTENT) or {}).get("name")
            logger.info("safety screen: %s (decided by %s)", intent, decided)
        return messages

    def process_training_data(self, training_data: Any) -> Any:
        """Training data passes through untouched."""
        return training_data
