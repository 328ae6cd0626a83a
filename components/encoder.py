"""A Rasa dense featurizer: the MiniLM sentence vector of each message (bot.understanding.encoder).

It adds one sentence-level feature per message. The encoder lives in `bot/` with its own
cache, so the safety screen's semantic net reuses the vector instead of encoding twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.understanding import code_fingerprint
from bot.understanding.encoder import DEFAULT_DIR, OPTIMISED, get_encoder

ALIAS = "minilm"


def sentence_vector(message: Message) -> np.ndarray | None:
    """The encoder's vector for a message, if this featurizer ran on it."""
    _, sentence = message.get_dense_features(TEXT, [ALIAS])
    if sentence is None:
        return None
    return np.asarray(sentence.features, dtype=np.float32).reshape(-1)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds all-MiniLM-L6-v2 (int8 ONNX) sentence features to the text attribute."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """The alias other components look the features up by; where the weights are."""
        return {**DenseFeaturizer.get_default_config(), "alias": ALIAS, "model_dir": None}

    @staticmethod
    def required_packages() -> list[str]:
        """onnxruntime and tokenizers run the model."""
        return ["onnxruntime", "tokenizers"]

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Nothing to check beyond the base class."""

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str:
        """Retrain when the encoder's code or weights change, not only this file."""
        folder = Path(config.get("model_dir") or DEFAULT_DIR)
        return code_fingerprint(folder / OPTIMISED, folder / "tokenizer.json")

    def __init__(self, config: dict[str, Any], name: str) -> None:
        """Keep the config; the encoder loads lazily on first use."""
        super().__init__(name, config)
        self._model_dir = config.get("model_dir")

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEncoderFeaturizer:
        """Rasa's factory."""
        return cls(config, execution_context.node_name)

    def _encoder(self):
        return get_encoder(Path(self._model_dir) if self._model_dir else None)

    def _featurize(self, messages: list[Message]) -> None:
        todo = [m for m in messages if m.get(TEXT)]
        if not todo:
            return
        vectors = self._encoder().encode([m.get(TEXT) for m in todo])
        for message, vector in zip(todo, vectors, strict=True):
            self.add_features_to_message(None, vector[None, :], TEXT, message)

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurize incoming messages."""
        self._featurize(messages)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurize every training example (batched; one pass over the data)."""
        self._featurize(training_data.training_examples)
        return training_data
