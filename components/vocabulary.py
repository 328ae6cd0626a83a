"""An NLU component that declines messages made only of words the assistant was never taught.

A linear classifier always picks some intent, even for "giraffe" or "mnbvcxz"; when none of a
message's content words (or a close typo of one) appears in the in-scope training examples,
and the classifier is not confident (`max_confidence`), the message is marked `out_of_scope`
instead. Confident guesses stand, so "heyyy" or "thnx" still get their small talk. The
safety screen runs after this and still overrules it.
"""

from __future__ import annotations

import json
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.understanding.vocabulary import Vocabulary, content_words

OUT_OF_SCOPE = "out_of_scope"
FILE = "vocabulary.json"


def _lemmas(message: Message) -> list[str]:
    tokens = message.get(TOKENS_NAMES[TEXT]) or []
    return [token.lemma or token.text for token in tokens]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class VocabularyGate(GraphComponent):
    """Marks messages with no familiar content word as out of scope."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Above this confidence the classifier's guess stands even with unfamiliar words."""
        return {"max_confidence": 0.6}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        vocabulary: Vocabulary | None,
    ) -> None:
        """Keep the config, where to persist, and the vocabulary once trained or loaded."""
        self._max_confidence = float(config.get("max_confidence", 0.6))
        self._model_storage = model_storage
        self._resource = resource
        self._vocabulary = vocabulary

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> VocabularyGate:
        """An untrained gate."""
        return cls({**cls.get_default_config(), **config}, model_storage, resource, None)

    def train(self, training_data: TrainingData) -> Resource:
        """Collect the content words of every in-scope training example."""
        words: set[str] = set()
        for example in training_data.intent_examples:
            if example.get(INTENT) != OUT_OF_SCOPE:
                words.update(content_words(_lemmas(example)))
        self._vocabulary = Vocabulary(words)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / FILE).write_text(json.dumps(self._vocabulary.words), encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> VocabularyGate:
        """Load the trained vocabulary."""
        with model_storage.read_from(resource) as directory:
            words = json.loads((directory / FILE).read_text(encoding="utf-8"))
        return cls(
            {**cls.get_default_config(), **config}, model_storage, resource, Vocabulary(words)
        )

    def process(self, messages: list[Message]) -> list[Message]:
        """Mark unfamiliar messages out of scope (button payloads pass through)."""
        if self._vocabulary is None:
            return messages
        for message in messages:
            if (message.get(TEXT) or "").startswith("/"):
                continue
            confidence = (message.get(INTENT) or {}).get("confidence") or 0.0
            if confidence < self._max_confidence and self._vocabulary.is_unfamiliar(
                _lemmas(message)
            ):
                decided = {"name": OUT_OF_SCOPE, "confidence": 1.0}
                ranking = [
                    r
                    for r in message.get(INTENT_RANKING_KEY) or []
                    if r.get("name") != OUT_OF_SCOPE
                ]
                message.set(INTENT, decided, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [decided, *ranking], add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Training data passes through untouched."""
        return training_data
