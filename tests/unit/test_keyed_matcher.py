"""The keyed matcher finds exactly what one spaCy Matcher finds, only faster."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from spacy.matcher import Matcher

import bot.care.safety
from bot.care.keyed_matcher import KeyedMatcher
from bot.care.safety import Screener, load_terms

ROOT = Path(__file__).resolve().parents[2]
TERMS_PATH = ROOT / "content" / "safety_terms.yml"


PATTERNS = {
    "one_lemma": [[{"LEMMA": "bleed"}, {"LOWER": "gums"}]],
    "lemma_set": [[{"LEMMA": {"IN": ["cough", "spit", "bring"]}}, {"LEMMA": "up", "OP": "?"}]],
    "lower_set": [[{"LOWER": {"IN": ["can't", "cannot", "ca"]}}, {"LOWER": "breathe"}]],
    # Not filed under a word: an optional first token, a regex, an attribute other than
    # lemma or lowercase. They must still match.
    "optional_first": [[{"LOWER": "very", "OP": "?"}, {"LEMMA": "hot"}]],
    "regex_first": [[{"LOWER": {"REGEX": "^temp"}}, {"IS_DIGIT": True}]],
    "shape_first": [[{"IS_DIGIT": True}, {"LOWER": "degrees"}]],
    "same_label_twice": [[{"LEMMA": "spot"}], [{"LEMMA": "dot"}], [{"IS_PUNCT": True}]],
}

SENTENCES = [
    "my gums are bleeding and bleeding gums again",
    "coughing up blood, spitting it up",
    "I can't breathe, cannot breathe at all",
    "very hot today and hot again",
    "temp 39 and 39 degrees",
    "tiny red spots and dots everywhere!",
    "",
    "🙂🙂 nothing here at all",
]


def _plain(nlp, patterns) -> Matcher:
    matcher = Matcher(nlp.vocab)
    for label, pattern in patterns.items():
        matcher.add(label, pattern)
    return matcher


def test_same_matches_as_spacy_matcher(nlp) -> None:
    keyed = KeyedMatcher(nlp.vocab)
    for label, pattern in PATTERNS.items():
        keyed.add(label, pattern)
    plain = _plain(nlp, PATTERNS)
    assert len(keyed) == len(PATTERNS)
    for sentence in SENTENCES:
        doc = nlp(sentence)
        assert keyed(doc) == sorted(plain(doc), key=lambda m: (m[1], m[2], m[0])), sentence


def test_no_match_is_reported_twice(nlp) -> None:
    """A first-word set that names a word twice, or two adds of one label, as spaCy does."""
    keyed = KeyedMatcher(nlp.vocab)
    plain = Matcher(nlp.vocab)
    for pattern in ([[{"LEMMA": {"IN": ["bleed", "bleed", "cut"]}}]], [[{"LEMMA": "bleed"}]]):
        keyed.add("dup", pattern)
        plain.add("dup", pattern)
    doc = nlp("bleeding and a cut")
    assert keyed(doc) == sorted(plain(doc), key=lambda m: (m[1], m[2], m[0]))


def test_screener_decides_as_with_one_matcher(nlp, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real terms file: the safety table and a validation set screen the same either way."""
    terms = load_terms(TERMS_PATH)
    keyed = Screener(terms, nlp)
    monkeypatch.setattr(bot.care.safety, "KeyedMatcher", Matcher)
    plain = Screener(terms, nlp)
    texts = []
    for name in ("phrases.yml", "validation_6.yml"):
        for section in yaml.safe_load((ROOT / "tests" / "safety" / name).read_text()).values():
            for entry in section if isinstance(section, list) else []:
                texts.append(entry["text"] if isinstance(entry, dict) else str(entry))
    assert len(texts) > 1000
    for text in texts:
        assert keyed.screen(text) == plain.screen(text), text
