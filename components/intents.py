"""The intent classifier as a Rasa component, over bot.understanding.intents.IntentModel.

It reads the spaCy lemmas (SpacyTokenizer) and the sentence vector (components.encoder), and
sets `intent` and `intent_ranking`. Unsure messages become `nlu_fallback` with the closest
topics kept in the ranking, so the fallback action can ask "Did you mean ...?"; messages far
from every in-scope example, or most like the unrelated ones, become `out_of_scope`. The
safety screen runs after this component and overrules it.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.care.inputs import MAX_CHARS
from bot.understanding import code_fingerprint
from bot.understanding.intents import IntentModel, Settings
from components.encoder import SentenceEncoderFeaturizer, sentence_vector

FILE = "intent_model.pkl"
RANKING_LENGTH = 10
# Where the model's reasoning is kept on the message (for evaluation and the logs' counts).
DETAILS_KEY = "understanding"


def lemma_text(message: Message) -> str:
    """The message as lower-cased lemmas, as the model was trained on."""
    tokens = message.get(TOKENS_NAMES[TEXT]) or []
    if not tokens:
        return (message.get(TEXT) or "").lower()
    return " ".join((token.lemma or token.text).lower() for token in tokens)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SentenceIntentClassifier(GraphComponent, IntentClassifier):
    """Sparse + dense logistic regression with an out-of-scope class and a similarity check."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The model's settings (bot.understanding.intents.Settings), overridable in config.yml."""
        return {f.name: f.default for f in fields(Settings)}

    @staticmethod
    def required_components() -> list[type]:
        """The sentence vectors come from the encoder featurizer."""
        return [SentenceEncoderFeaturizer]

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str:
        """Retrain when the intent model's code changes, not only this file."""
        return code_fingerprint()

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: IntentModel | None = None,
    ) -> None:
        """Keep the settings, where to persist, and the trained model if there is one."""
        names = {f.name for f in fields(Settings)}
        values = {k: v for k, v in config.items() if k in names}
        if "similarity_exempt" in values:
            values["similarity_exempt"] = tuple(values["similarity_exempt"])
        self._settings = Settings(**values)
        self._model_storage = model_storage
        self._resource = resource
        self._model = model
        if model is not None:
            # config.yml's thresholds win over the ones saved with the model.
            model.settings = self._settings

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceIntentClassifier:
        """Rasa's factory for training."""
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        """Fit on every intent example that has text and a sentence vector."""
        examples = [
            m
            for m in training_data.intent_examples
            if m.get(TEXT) and sentence_vector(m) is not None
        ]
        model = IntentModel(self._settings)
        model.fit(
            [m.get(TEXT) for m in examples],
            [lemma_text(m) for m in examples],
            np.stack([sentence_vector(m) for m in examples]),
            [m.get(INTENT) for m in examples],
        )
        self._model = model
        with self._model_storage.write_to(self._resource) as directory:
            (directory / FILE).write_bytes(model.to_bytes())
        return self._resource

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SentenceIntentClassifier:
        """Load the trained model (none yet: every message falls back)."""
        try:
            with model_storage.read_from(resource) as directory:
                model = IntentModel.from_bytes((directory / FILE).read_bytes())
        except (ValueError, FileNotFoundError):
            model = None
        return cls(config, model_storage, resource, model)

    def process(self, messages: list[Message]) -> list[Message]:
        """Set intent, ranking and the model's reasoning on each message."""
        for message in messages:
            vector = sentence_vector(message)
            if self._model is None or vector is None or not message.get(TEXT):
                continue
            # The classifier reads the first MAX_CHARS (the safety screen reads everything).
            text = message.get(TEXT)[:MAX_CHARS]
            prediction = self._model.predict(text, lemma_text(message)[:MAX_CHARS], vector)
            ranking = [
                {"name": name, "confidence": confidence}
                for name, confidence in prediction.ranking[:RANKING_LENGTH]
            ]
            if prediction.intent != prediction.ranking[0][0]:
                # Rasa's FallbackClassifier does the same: the decision heads the ranking.
                ranking.insert(0, {"name": prediction.intent, "confidence": 1.0})
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            message.set(
                DETAILS_KEY,
                {
                    "reason": prediction.reason,
                    "similarity": None
                    if prediction.similarity is None
                    else round(prediction.similarity, 3),
                    "suggestions": prediction.suggestions,
                },
                add_to_output=True,
            )
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to add to the training data."""
        return training_data
