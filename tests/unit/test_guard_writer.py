"""The guard that keeps copies of evaluation texts out of new writers' data."""

import numpy as np
import yaml

from scripts.guard_writer import filtered, keep, normalise, texts_in


def fake_encode(texts):
    """Bag-of-letters vectors: near copies are close, different texts are not."""
    out = np.zeros((len(texts), 26))
    for row, text in enumerate(texts):
        for ch in text.lower():
            if "a" <= ch <= "z":
                out[row, ord(ch) - 97] += 1
    return out + 1e-6


def test_copies_near_copies_and_repeats_are_dropped():
    evaluation = ["How often are my check ups?"]
    known = ["when is my next appointment"]
    candidates = [
        "how often are my check-ups",  # exact after normalising
        "how often are my check ups??!",  # exact too
        "how often r my checkups",  # a near copy
        "When is my next appointment",  # already training data
        "can my mum join the video call",
        "can my mum join the video call",  # repeats itself
    ]
    flags, copies, repeats = keep(candidates, evaluation, known, fake_encode, near=0.95)
    assert flags == [False, False, False, False, True, False]
    assert (copies, repeats) == (3, 2)


def test_both_shapes_keep_their_labels():
    nlu = yaml.safe_load(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n    - hello\n'
    )
    assert texts_in(nlu) == ["hi", "hello"]
    assert filtered(nlu, {"hello"}) == {
        "version": "3.1",
        "nlu": [{"intent": "greet", "examples": "- hello\n"}],
    }
    anchors = {"categories": {"fever": ["hot", "38.5"]}, "lookalikes": {"past": ["had a temp"]}}
    assert texts_in(anchors) == ["hot", "38.5", "had a temp"]
    assert filtered(anchors, {"hot", "had a temp"}) == {
        "categories": {"fever": ["hot"]},
        "lookalikes": {"past": ["had a temp"]},
    }
    assert normalise("  Hi,   THERE! ") == "hi there"
