"""A spaCy Matcher that only tries the patterns whose first word is in the message.

spaCy's Matcher tries every pattern at every token. The safety screen has about 2,000
patterns, so most of its time went on patterns whose first word the message does not
contain. This wrapper files each pattern under its first token's lemma or lowercase form
and, for each message, runs only the sub-matchers for words the message has. The matches
are the same as one Matcher's (tests/unit/test_keyed_matcher.py compares them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # spaCy loads when a screener is built, not when this module is imported
    from spacy.matcher import Matcher
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

# Token attributes a first word can be filed under; the doc gives each token one value.
_KEYED_ATTRS = ("LEMMA", "LOWER")


def _first_key(pattern: Sequence[dict[str, Any]]) -> tuple[str, list[str]] | None:
    """(attribute, values) the pattern's first token must have, or None if it is not fixed."""
    if not pattern:
        return None
    first = pattern[0]
    if "OP" in first:
        return None
    for attr in _KEYED_ATTRS:
        value = first.get(attr)
        if isinstance(value, str):
            return attr, [value]
        if isinstance(value, dict) and set(value) == {"IN"}:
            return attr, [str(v) for v in value["IN"]]
    return None


class KeyedMatcher:
    """Same matches as `spacy.matcher.Matcher`, trying only patterns that can start."""

    def __init__(self, vocab: Vocab) -> None:
        from spacy.matcher import Matcher

        self._matcher_class = Matcher
        self._vocab = vocab
        self._always = Matcher(vocab)
        self._keyed: dict[tuple[str, str], Matcher] = {}
        self._labels: set[str] = set()

    def __len__(self) -> int:
        return len(self._labels)

    def add(self, label: str, patterns: Sequence[Sequence[dict[str, Any]]]) -> None:
        """Add patterns under a label, as `Matcher.add` does."""
        self._labels.add(label)
        loose: list[list[dict[str, Any]]] = []
        by_key: dict[tuple[str, str], list[list[dict[str, Any]]]] = {}
        for pattern in patterns:
            key = _first_key(pattern)
            if key is None:
                loose.append(list(pattern))
                continue
            attr, values = key
            # One copy per first word: a token has one lemma, so at most one copy can match
            # at a position and no match is reported twice.
            for value in dict.fromkeys(values):
                first = {**pattern[0], attr: value}
                by_key.setdefault((attr, value), []).append([first, *pattern[1:]])
        if loose:
            self._always.add(label, loose)
        for key, keyed in by_key.items():
            if key not in self._keyed:
                self._keyed[key] = self._matcher_class(self._vocab)
            self._keyed[key].add(label, keyed)

    def __call__(self, doc: Doc) -> list[tuple[int, int, int]]:
        """(match_id, start, end) for every match, ordered by start then end."""
        keys = {("LEMMA", token.lemma_) for token in doc}
        keys.update(("LOWER", token.lower_) for token in doc)
        matches = list(self._always(doc)) if len(self._always) else []
        for key in keys:
            matcher = self._keyed.get(key)
            if matcher is not None:
                matches.extend(matcher(doc))
        matches.sort(key=lambda match: (match[1], match[2], match[0]))
        return matches
