"""Rasa's training cache must notice changes to the code and weights the NLU components use."""

import os

from bot.understanding import code_fingerprint
from components.encoder import SentenceEncoderFeaturizer
from components.intents import SentenceIntentClassifier


def test_the_package_source_is_part_of_the_key():
    # Rasa alone keys on components/*.py; bot/understanding/ holds the model itself.
    assert code_fingerprint() == code_fingerprint()
    assert SentenceIntentClassifier.fingerprint_addon({}) == code_fingerprint()


def test_new_weights_change_the_encoder_key(tmp_path):
    weights = tmp_path / "model.int8.onnx"
    weights.write_bytes(b"old weights")
    before = SentenceEncoderFeaturizer.fingerprint_addon({"model_dir": str(tmp_path)})
    weights.write_bytes(b"new weights, longer")
    os.utime(weights, ns=(1, 1))
    after = SentenceEncoderFeaturizer.fingerprint_addon({"model_dir": str(tmp_path)})
    assert before != after != code_fingerprint()
