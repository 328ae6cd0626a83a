"""An NLU component that screens every message for red flags after the classifier has run.

Two nets (bot/care/triage.py): the reviewable rules (bot/care/safety.py) and the semantic net
(bot/care/safety_net.py, sentence vectors against curated phrasings). A flag from either sets
the intent to `urgent_symptom` (tier act_now or team_soon) or `crisis`, whatever the
classifier thought; a past, resolved or how-to mention becomes `symptom_info`. It runs last in
the pipeline, so nothing after it can undo a red flag.
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
from bot.care.safety_net import get_net, is_short
from bot.care.triage import Triage, decide

logger = logging.getLogger(__name__)

SAFETY_INTENTS = {"urgent": "urgent_symptom", "crisis": "crisis"}
# Both symptom tiers share one intent; the tier travels in the message's "safety" data.
TIER_INTENTS = {"act_now": "urgent_symptom", "team_soon": "urgent_symptom", "crisis": "crisis"}
# A past or resolved symptom, or a how-to question: information that still says what to do
# if it happens now.
INFO_INTENT = "symptom_info"
SAFETY_KEY = "safety"
FALLBACK_INTENT = "nlu_fallback"
FALLBACK_THRESHOLD = 0.2
SKIPPED = {FALLBACK_INTENT, "out_of_scope"}


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


def apply_triage(message: Message, screening: Screening, triage: Triage) -> str:
    """Set the message's intent from the triage; return who decided (for the log)."""
    intent = message.get(INTENT) or {}
    ranking = list(message.get(INTENT_RANKING_KEY) or [])
    classifier_intent = next(
        (r.get("name") for r in ranking if r.get("name") not in SKIPPED), intent.get("name")
    )
    if triage.tier is not None or triage.found_by == "set_aside":
        name = TIER_INTENTS.get(triage.tier, INFO_INTENT)
        forced = {"name": name, "confidence": 1.0}
        others = [r for r in ranking if r.get("name") != name]
        message.set(INTENT, forced, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [forced, *others], add_to_output=True)
    elif classifier_intent in SAFETY_INTENTS.values():
        # Only the screen sets these; a stray guess becomes the next-best intent.
        rest = _without_safety(ranking, FALLBACK_THRESHOLD)
        message.set(INTENT, rest[0], add_to_output=True)
        message.set(INTENT_RANKING_KEY, rest, add_to_output=True)
    message.set(
        SAFETY_KEY,
        {
            "category": screening.category if triage.found_by == "rules" else triage.tier,
            "tier": triage.tier,
            "reason": triage.reason,
            "found_by": triage.found_by,
            "also": triage.also,
            "signals": list(screening.signals),
            "about_someone_else": screening.about_someone_else,
            "classifier_intent": classifier_intent,
        },
        add_to_output=True,
    )
    return triage.found_by


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SafetyScreen(GraphComponent):
    """Screens each message for urgent symptoms and crisis language: rules plus the net."""

    @classmethod
    def required_components(cls) -> list[type]:
        """It runs after an intent classifier, so it can overrule it."""
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Whether the semantic net runs (the rules always do)."""
        return {"semantic_net": True}

    def __init__(self, config: dict[str, Any]) -> None:
        """Keep the component's config."""
        self._use_net = bool(config.get("semantic_net", True))

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SafetyScreen:
        """Build the component and load the screen now, not on the first patient's message."""
        component = cls({**cls.get_default_config(), **config})
        get_screener()
        if component._use_net:
            get_net()
        return component

    def process(self, messages: list[Message]) -> list[Message]:
        """Screen each message (the whole text, never a trimmed copy) and set its intent."""
        screener = get_screener()
        net = get_net() if self._use_net else None
        for message in messages:
            text = message.get(TEXT) or ""
            screening = screener.screen(text)
            result = net.check(text, screening.lasting) if net is not None else None
            triage = decide(
                screening,
                result,
                net.suppress if net is not None else 9.0,
                is_short(text),
                net.framed if net is not None else -9.0,
            )
            decided = apply_triage(message, screening, triage)
            # Only the decision is logged, never the text.
            intent = (message.get(INTENT) or {}).get("name")
            logger.info("safety screen: %s (decided by %s)", intent, decided)
        return messages

    def process_training_data(self, training_data: Any) -> Any:
        """Training data passes through untouched."""
        return training_data
