"""An NLU component that screens every message for red flags after the classifiers have run.

The screen (bot/care/safety.py) is rule-based and reviewable. If it finds urgent symptoms or crisis
language, the intent becomes `urgent_symptom` or `crisis` whatever the classifier thought.

It runs last in the pipeline, so nothing after it can undo a red flag. If it finds none, the
classifier's own guess of a safety intent stands only as a second net:
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

from bot.care.safety import Screening, get_screener

logger = logging.getLogger(__name__)

SAFETY_INTENTS = {"urgent": "urgent_symptom", "crisis": "crisis"}
SAFETY_KEY = "safety"
FALLBACK_INTENT = "nlu_fallback"


def _without_safety(ranking: list[dict[str, Any]], fallback_threshold: float) -> list[dict]:
    """The ranking without the safety intents, renormalised; nlu_fallback first if unsure."""
    rest = [r for r in ranking if r.get("name") not in SAFETY_INTENTS.values()]
    total = sum(r.get("confidence") or 0.0 for r in rest)
    rest = (
        [{**r, "confidence": (r.get("confidence") or 0.0) / total} for r in rest] if total else []
    )
    if not rest or rest[0]["confidence"] < fallback_threshold:
        return [{"name": FALLBACK_INTENT, "confidence": 1.0}, *rest]
    return rest


def apply_screening(
    message: Message, screening: Screening, min_confidence: float, fallback_threshold: float
) -> str:
    """Set the message's intent from a screening result; return who decided (for the log)."""
    intent = message.get(INTENT) or {}
    ranking = list(message.get(INTENT_RANKING_KEY) or [])
    # The classifier's own guess, before the fallback classifier may have replaced it.
    classifier_intent = next(
        (r.get("name") for r in ranking if r.get("name") != FALLBACK_INTENT), intent.get("name")
    )
    classifier_confidence = next(
        (r.get("confidence") or 0.0 for r in ranking if r.get("name") == classifier_intent), 0.0
    )
    decided = "screen" if screening.category else "none"
    if screening.category:
        forced = {"name": SAFETY_INTENTS[screening.category], "confidence": 1.0}
        others = [r for r in ranking if r.get("name") != forced["name"]]
        message.set(INTENT, forced, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [forced, *others], add_to_output=True)
    elif classifier_intent in SAFETY_INTENTS.values() and (
        screening.discounted or classifier_confidence < min_confidence
    ):
        rest = _without_safety(ranking, fallback_threshold)
        message.set(INTENT, rest[0], add_to_output=True)
        message.set(INTENT_RANKING_KEY, rest, add_to_output=True)
    elif classifier_intent in SAFETY_INTENTS.values():
        forced = {"name": classifier_intent, "confidence": 1.0}
        message.set(INTENT, forced, add_to_output=True)
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
        """How sure the classifier must be for its own red-flag guess to stand, and the
        fallback threshold to re-apply when a red-flag guess is set aside (keep it equal to
        the FallbackClassifier's)."""
        return {"classifier_min_confidence": 0.8, "fallback_threshold": 0.35}

    def __init__(self, config: dict[str, Any]) -> None:
        """Keep the component's config."""
        self._min_confidence = float(config["classifier_min_confidence"])
        self._fallback_threshold = float(config["fallback_threshold"])

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
            decided = apply_screening(
                message, screening, self._min_confidence, self._fallback_threshold
            )
            # Only the decision is logged, never the text.
            intent = (message.get(INTENT) or {}).get("name")
            logger.info("safety screen: %s (decided by %s)", intent, decided)
        return messages

    def process_training_data(self, training_data: Any) -> Any:
        """Training data passes through untouched."""
        return training_data
