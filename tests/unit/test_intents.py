"""The intent model on a tiny made-up task (the real figures come from scripts/evaluate.py)."""

import zlib

import numpy as np
import pytest

from bot.understanding.intents import FALLBACK, OUT_OF_SCOPE, IntentModel, Settings


def _vectors(texts):
    # A stand-in encoder: a stable random unit vector per word, averaged (crc32, not hash():
    # Python salts str hashes per process, which made the vectors differ from run to run).
    rng = {}
    out = []
    for text in texts:
        words = text.lower().split()
        v = sum(
            rng.setdefault(w, np.random.default_rng(zlib.crc32(w.encode())).normal(size=16))
            for w in words
        )
        out.append(v / np.linalg.norm(v))
    return np.array(out, dtype=np.float32)


TRAIN = [
    ("how often are check ups", "ask_how_often"),
    ("how often will i be seen", "ask_how_often"),
    ("how frequent are appointments", "ask_how_often"),
    ("i feel anxious about clinic", "ask_coping"),
    ("scared about my check up", "ask_coping"),
    ("worried before appointments", "ask_coping"),
    ("book a flight to spain", OUT_OF_SCOPE),
    ("what is the weather", OUT_OF_SCOPE),
    ("transfer money to savings", OUT_OF_SCOPE),
    ("urgent red flag words", "urgent_symptom"),
]


@pytest.fixture
def model():
    texts = [t for t, _ in TRAIN]
    return IntentModel(Settings(min_similarity=0.0, fallback_threshold=0.0)).fit(
        texts, texts, _vectors(texts), [label for _, label in TRAIN]
    )


def test_learns_and_never_predicts_safety_intents(model):
    assert "urgent_symptom" not in model.intents
    p = model.predict(
        "how often are check ups",
        "how often are check ups",
        _vectors(["how often are check ups"])[0],
    )
    assert p.intent == "ask_how_often"


def test_far_from_everything_is_out_of_scope(model):
    # `sure` above 1: no regression is sure enough to skip the similarity check.
    model.settings = Settings(min_similarity=0.99, fallback_threshold=0.0, sure=1.01)
    text = "zebra crossing lollipop"
    p = model.predict(text, text, _vectors([text])[0])
    assert p.intent == OUT_OF_SCOPE and p.reason in {"far_from_training", "out_of_scope_class"}


def test_unsure_falls_back_with_suggestions(model):
    model.settings = Settings(min_similarity=0.0, fallback_threshold=0.99)
    text = "how often are check ups"
    p = model.predict(text, text, _vectors([text])[0])
    assert p.intent == FALLBACK and p.suggestions[0] == "ask_how_often"


def test_round_trips_through_bytes(model):
    again = IntentModel.from_bytes(model.to_bytes())
    assert again.intents == model.intents
    with pytest.raises(TypeError):
        IntentModel.from_bytes(__import__("pickle").dumps({"not": "a model"}))


@pytest.mark.parametrize(
    "texts",
    [
        ["how often are check ups", "Scared!! about my CHECK up 🙂", "how often how often"],
        ["", "   ", "<b>zzz</b>", "'; DROP TABLE x;--", "qqqq wwww"],
    ],
)
def test_features_match_scikit_learn(model, texts):
    # The serving path builds the TF-IDF rows itself; they must be scikit-learn's numbers,
    # including for text with no known n-gram (an all-zero row).
    from scipy.sparse import hstack

    expected = hstack(
        [model._words.transform(texts), model._chars.transform([t.lower() for t in texts])]
    ).tocsr()
    sparse, _ = model._features(texts, texts, _vectors(["x"] * len(texts)))
    assert sparse.shape == expected.shape
    assert abs(sparse - expected).max() < 1e-12


def test_features_survive_a_round_trip(model):
    text = "scared about my check up"
    before = model.predict(text, text, _vectors([text])[0])
    again = IntentModel.from_bytes(model.to_bytes())
    assert again.predict(text, text, _vectors([text])[0]).ranking == before.ranking


def test_similarity_is_read_only_when_the_decision_needs_it(model):
    text = "how often are check ups"
    model.settings = Settings(min_similarity=0.0, fallback_threshold=0.0, sure=0.0)
    assert model.predict(text, text, _vectors([text])[0]).similarity is None
    model.settings = Settings(min_similarity=0.0, fallback_threshold=0.0, sure=1.01)
    checked = model.predict(text, text, _vectors([text])[0])
    assert checked.similarity is not None and checked.nearest == "ask_how_often"
