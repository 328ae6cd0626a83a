"""Does a message use any word the assistant was taught? Unknown words mean out of scope."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from spacy.lang.en.stop_words import STOP_WORDS

MIN_FUZZY_LENGTH = 5  # shorter words are too easily "close" to something


def content_words(lemmas: Iterable[str]) -> list[str]:
    """The lower-cased lemmas that carry meaning (letters only, not stop words)."""
    words = []
    for lemma in lemmas:
        word = lemma.lower().strip("'’-")
        if len(word) > 1 and word.isalpha() and word not in STOP_WORDS:
            words.append(word)
    return words


class Vocabulary:
    """The content words of the in-scope training examples, with typo-tolerant look-up."""

    def __init__(self, words: Iterable[str]) -> None:
        """Keep the words, sorted for stable persistence."""
        self.words = sorted(set(words))
        self._set = set(self.words)
        self._by_initial: dict[str, list[str]] = {}
        for word in self.words:
            self._by_initial.setdefault(word[0], []).append(word)

    def knows(self, word: str) -> bool:
        """True for a taught word, or a likely typo of one ("apointment")."""
        if word in self._set:
            return True
        if len(word) < MIN_FUZZY_LENGTH:
            return False
        candidates = self._by_initial.get(word[0], [])
        return bool(difflib.get_close_matches(word, candidates, n=1, cutoff=0.85))

    def is_unfamiliar(self, lemmas: Iterable[str]) -> bool:
        """True when the message has content words and none of them is known."""
        words = content_words(lemmas)
        return bool(words) and not any(self.knows(w) for w in words)
