"""The intent model: sparse word and character features beside dense sentence vectors.

Rasa-free, so it can be trained, cross-validated and tuned from a script in seconds; the
Rasa component (components/intents.py) wraps it. Three signals decide:

* a logistic regression over TF-IDF word n-grams (lemmas), character n-grams (typos) and
  the MiniLM sentence vector (paraphrases nobody here wrote);
* ``out_of_scope`` is a class like any other, taught with broad unrelated requests;
* a similarity check: a message whose sentence vector is far from every in-scope training
  example is out of scope, whatever the regression says ("far from everything we know").

Thresholds are chosen on the validation set (tests/nlu/validation.yml), never on the test
set; see docs/understanding.md.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.understanding.regression import SoftmaxRegression

OUT_OF_SCOPE = "out_of_scope"
FALLBACK = "nlu_fallback"
# Intents the classifier never predicts: the safety screen sets them from its own rules.
NEVER_PREDICTED = frozenset({"urgent_symptom", "crisis", "symptom_info"})


@dataclass
class Settings:
    """The model's knobs (config.yml passes them through; defaults chosen on validation)."""

    dense_weight: float = 2.0
    c: float = 10.0
    min_similarity: float = 0.45
    fallback_threshold: float = 0.3
    # out_of_scope is the largest class; scaling its probability down keeps badly typed
    # in-scope questions in scope, while the similarity check still declines far-off text.
    oos_scale: float = 1.0
    # A regression this sure of an in-scope intent is not overruled by the similarity
    # check: heavy typos ("hw many yrs left") move the sentence vector, not the n-grams.
    sure: float = 0.85
    suggestions: int = 3
    # Intents whose examples are so short that similarity says little (greetings, yes/no).
    similarity_exempt: tuple[str, ...] = ("greet", "goodbye", "thank", "affirm", "deny")


@dataclass
class Prediction:
    """What the model thinks of one message."""

    intent: str
    confidence: float
    ranking: list[tuple[str, float]]
    # None when the decision did not need it (the regression was sure, or said out of scope):
    # the check reads every in-scope training vector, about 0.5 ms a message.
    similarity: float | None
    nearest: str | None
    reason: str = "classifier"
    suggestions: list[str] = field(default_factory=list)


class _Tfidf:
    """A fitted `TfidfVectorizer`'s transform of one document, without its per-call checks.

    scikit-learn's `transform` validates the fitted state on every call (summing the whole
    idf matrix to do so) and builds a matrix per block: about 1 ms of the 25 ms a message may
    take on a slow machine. This gives the same numbers to within rounding (1e-16: the
    norm sums the squares in another order; tests/unit/test_intents.py) from the same
    analyzer, vocabulary and idf weights.
    """

    def __init__(self, vectorizer: TfidfVectorizer, offset: int) -> None:
        self._analyze = vectorizer.build_analyzer()
        self._vocabulary = vectorizer.vocabulary_
        self._idf = np.asarray(vectorizer.idf_, dtype=np.float64)
        self._sublinear = vectorizer.sublinear_tf
        self._offset = offset
        if vectorizer.norm != "l2" or not vectorizer.use_idf or vectorizer.binary:
            raise ValueError("only l2-normalised idf weighting is supported")

    def row(self, document: str) -> tuple[np.ndarray, np.ndarray]:
        """The document's column indices (sorted, offset) and weights."""
        counts: dict[int, int] = {}
        vocabulary = self._vocabulary
        for feature in self._analyze(document):
            column = vocabulary.get(feature)
            if column is not None:
                counts[column] = counts.get(column, 0) + 1
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        columns = np.fromiter(sorted(counts), dtype=np.int64, count=len(counts))
        values = np.fromiter((counts[c] for c in columns), dtype=np.float64, count=len(counts))
        if self._sublinear:
            values = np.log(values) + 1.0
        values *= self._idf[columns]
        norm = np.sqrt(np.dot(values, values))
        if norm > 0:
            values /= norm
        return columns + self._offset, values


class IntentModel:
    """Train with `fit`, then `predict` one message at a time."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        # Word n-grams seen only once (13,000 of 22,000, mostly one writer's bigrams) are
        # dropped: validation 98.2 -> 98.4% and 97.6 -> 97.9% in scope, unrelated declined
        # the same or better, and training is a third quicker (docs/understanding.md).
        self._words = TfidfVectorizer(
            ngram_range=(1, 2),
            sublinear_tf=True,
            min_df=2,
            token_pattern=r"(?u)\b\w+\b",  # noqa: S106
        )
        self._chars = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2
        )
        self._classifier: SoftmaxRegression | None = None
        self._bank: np.ndarray = np.zeros((0, 0), dtype=np.float32)
        self._bank_labels: list[str] = []
        self._transforms: tuple[_Tfidf, _Tfidf] | None = None

    def __getstate__(self) -> dict:
        # The transforms are rebuilt from the vectorizers on first use after loading.
        return {**self.__dict__, "_transforms": None}

    def _features(
        self, lemmas: Sequence[str], texts: Sequence[str], vectors: np.ndarray
    ) -> tuple[csr_matrix, np.ndarray]:
        """The sparse n-gram block and the dense sentence-vector block, kept apart."""
        if getattr(self, "_transforms", None) is None:  # absent in models pickled before it
            self._transforms = (
                _Tfidf(self._words, 0),
                _Tfidf(self._chars, len(self._words.vocabulary_)),
            )
        words, chars = self._transforms
        indices: list[np.ndarray] = []
        data: list[np.ndarray] = []
        indptr = [0]
        for lemma, text in zip(lemmas, texts, strict=True):
            word_columns, word_values = words.row(lemma)
            char_columns, char_values = chars.row(text.lower())
            indices += [word_columns, char_columns]
            data += [word_values, char_values]
            indptr.append(indptr[-1] + len(word_columns) + len(char_columns))
        width = len(self._words.vocabulary_) + len(self._chars.vocabulary_)
        sparse = csr_matrix(
            (
                np.concatenate(data) if data else np.zeros(0),
                np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64),
                np.asarray(indptr),
            ),
            shape=(len(indptr) - 1, width),
        )
        return sparse, vectors * self.settings.dense_weight

    def fit(
        self,
        texts: Sequence[str],
        lemmas: Sequence[str],
        vectors: np.ndarray,
        labels: Sequence[str],
    ) -> IntentModel:
        """Learn from examples; `vectors` are the encoder's sentence vectors."""
        keep = [i for i, label in enumerate(labels) if label not in NEVER_PREDICTED]
        texts = [texts[i] for i in keep]
        lemmas = [lemmas[i] for i in keep]
        labels = [labels[i] for i in keep]
        vectors = vectors[keep]
        self._words.fit(lemmas)
        self._chars.fit([t.lower() for t in texts])
        self._transforms = None
        self._classifier = SoftmaxRegression(c=self.settings.c, max_iter=2000)
        self._classifier.fit(*self._features(lemmas, texts, vectors), labels)
        in_scope = [i for i, label in enumerate(labels) if label != OUT_OF_SCOPE]
        self._bank = vectors[in_scope].astype(np.float32)
        self._bank_labels = [labels[i] for i in in_scope]
        return self

    @property
    def intents(self) -> list[str]:
        """The labels the classifier knows."""
        return list(self._classifier.classes_) if self._classifier is not None else []

    def similarity(self, vector: np.ndarray) -> tuple[float, str | None]:
        """Cosine similarity to the closest in-scope training example, and its intent."""
        if not len(self._bank):
            return 0.0, None
        scores = self._bank @ vector
        best = int(np.argmax(scores))
        return float(scores[best]), self._bank_labels[best]

    def predict(self, text: str, lemmas: str, vector: np.ndarray) -> Prediction:
        """Rank the intents for one message and apply the out-of-scope and fallback rules."""
        return self.predict_many([text], [lemmas], vector[None, :])[0]

    def predict_many(
        self, texts: Sequence[str], lemmas: Sequence[str], vectors: np.ndarray
    ) -> list[Prediction]:
        """`predict` for many messages at once (evaluation and cross-validation)."""
        if self._classifier is None:
            raise RuntimeError("the intent model has not been trained")
        probabilities = self._classifier.probabilities(*self._features(lemmas, texts, vectors))
        classes = self._classifier.classes_
        if OUT_OF_SCOPE in classes and self.settings.oos_scale != 1.0:
            probabilities = probabilities.copy()
            probabilities[:, list(classes).index(OUT_OF_SCOPE)] *= self.settings.oos_scale
            probabilities /= probabilities.sum(axis=1, keepdims=True)
        out = []
        for row, vector in zip(probabilities, vectors, strict=True):
            order = np.argsort(-row)
            ranking = [(str(classes[i]), float(row[i])) for i in order]
            out.append(self._decide(ranking, vector))
        return out

    def _decide(self, ranking: list[tuple[str, float]], vector: np.ndarray) -> Prediction:
        s = self.settings
        intent, confidence = ranking[0]
        checked = (
            intent != OUT_OF_SCOPE and confidence < s.sure and intent not in s.similarity_exempt
        )
        similarity, nearest = self.similarity(vector) if checked else (None, None)
        suggestions = [
            name for name, _ in ranking if name not in {OUT_OF_SCOPE} | set(s.similarity_exempt)
        ][: s.suggestions]
        prediction = Prediction(intent, confidence, ranking, similarity, nearest)
        if intent == OUT_OF_SCOPE:
            prediction.reason = "out_of_scope_class"
        elif checked and similarity < s.min_similarity:
            prediction.intent, prediction.reason = OUT_OF_SCOPE, "far_from_training"
        elif confidence < s.fallback_threshold:
            prediction.intent, prediction.reason = FALLBACK, "unsure"
            prediction.suggestions = suggestions
        return prediction

    def to_bytes(self) -> bytes:
        """Serialise for Rasa's model storage."""
        buffer = io.BytesIO()
        pickle.dump(self, buffer, protocol=pickle.HIGHEST_PROTOCOL)
        return buffer.getvalue()

    @staticmethod
    def from_bytes(data: bytes) -> IntentModel:
        """Load what `to_bytes` wrote."""
        model = pickle.loads(data)  # noqa: S301 - our own file from `rasa train`
        if not isinstance(model, IntentModel):
            raise TypeError("not an intent model")
        return model
