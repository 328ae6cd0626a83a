"""Safety screening: spot urgent symptoms and crisis language in a patient message.

Pure Python on top of the project's spaCy pipeline (no Rasa import), so the Rasa
NLU component, the action server and offline evaluation can all share it.
The term lists live in ``content/safety_terms.yml`` where clinicians can edit them.
"""

from __future__ import annotations

import bisect
import html
import itertools
import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.care.keyed_matcher import KeyedMatcher

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Token

log = logging.getLogger(__name__)

CRISIS = "crisis"
URGENT = "urgent"
# Order is precedence: a message with both is answered as a crisis.
CATEGORIES = (CRISIS, URGENT)
READING_SIGNAL = "temperature_reading"

# The signal names are an interface (replies and analytics key on them), so a
# terms file that drops one is rejected rather than silently screening less.
REQUIRED_SIGNALS: dict[str, frozenset[str]] = {
    URGENT: frozenset(
        {
            "fever",
            READING_SIGNAL,
            "shivering",
            "suddenly_unwell",
            "bleeding",
            "bruising",
            "rash_spots",
            "breathless",
            "chest_pain",
            "confusion",
            "vomiting",
            "severe_headache",
        }
    ),
    CRISIS: frozenset({"suicidal", "self_harm"}),
}

MAX_CHARS = 50_000  # bot.care.inputs.HARD_MAX_CHARS: the screen reads whole messages
GAP_WORDS = 3
# Suffix of the matcher label that holds a section's `$` phrases.
ANCHORED = ":$"
NORMAL_READING_FLOOR_C = 34.0  # below this a number is unlikely to be a body temperature
MAX_PATTERNS_PER_PHRASE = 5_000

_SENTENCE_END_CHARS = set(".!?;…")
_CLAUSE_PUNCT_CHARS = set(",.;:!?…")


@dataclass(frozen=True)
class Screening:
    """The outcome of screening one message."""

    category: str | None  # "crisis", "urgent" or None
    signals: tuple[str, ...] = ()
    about_someone_else: bool = False
    # Signals whose words appeared but were judged negated, harmless or figurative: the
    # screen saw them and decided, so nothing downstream should overrule it.
    discounted: tuple[str, ...] = ()
    # "past", "resolved", "question" or "animal" when the words say the symptom isn't the
    # patient's now (content/safety_terms.yml `framing`); None when they don't, or a "present"
    # phrase is there.
    framing: str | None = None
    # Words that say a symptom has lasted ("for weeks", "not clearing"): a lasting new symptom
    # is one to tell the team about soon (bot/care/safety_net.py relaxes its team-soon margin).
    lasting: bool = False

    @property
    def is_flagged(self) -> bool:
        """Whether the message needs the urgent or crisis answer."""
        return self.category is not None


NOT_FLAGGED = Screening(category=None)


class TermsError(ValueError):
    """The terms file is malformed; raised at load time, never while screening."""


def load_terms(path: Path | str) -> dict[str, Any]:
    """Read and structurally check a terms YAML file."""
    with Path(path).open(encoding="utf-8") as handle:
        terms = yaml.safe_load(handle)
    _check_terms(terms)
    return terms


def _check_terms(terms: Any) -> None:
    if not isinstance(terms, Mapping):
        raise TermsError("terms file must be a mapping")
    for category, required in REQUIRED_SIGNALS.items():
        section = terms.get(category)
        if not isinstance(section, Mapping):
            raise TermsError(f"terms file has no '{category}' section")
        missing = sorted(required - set(section))
        if missing:
            raise TermsError(f"'{category}' is missing signals: {', '.join(missing)}")
    names = [name for category in CATEGORIES for name in terms[category]]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise TermsError(f"signal names used twice: {', '.join(duplicates)}")


# --------------------------------------------------------------------------
# Text clean-up
# --------------------------------------------------------------------------

_TAG_RE = re.compile(r"<[a-zA-Z!/?][^<>]{0,500}>")
_INVISIBLE_RE = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")
_QUOTES = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "`": "'",
        "\u00b4": "'",
        "\u02bc": "'",
        "\u201c": '"',
        "\u201d": '"',
    }
)
# spaCy keeps "temp:38.4" or "urine/poo" as one token; spacing these out lets
# both the phrase matcher and the number finder see the words.
_SEPARATOR_RE = re.compile(r"([:=;!?()\[\]{}<>\"*_~|/\\+#@^])")
_NEWLINE_RE = re.compile(r"\s*[\r\n]+\s*")
# Elongated words ("sooooo ill") are cut to two letters so short lists of
# spellings still match; two keeps real doubles like "ill" and "bleed".
_ELONGATED_RE = re.compile(r"([a-z])\1{2,}")
_SPACES_RE = re.compile(r"\s+")

_ONES = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
_DIGITS = {"zero": 0, "oh": 0, "nought": 0, **_ONES}
_DIGIT_WORDS = "|".join(_DIGITS)
_ONES_WORDS = "|".join(_ONES)
# Patients type readings out in words too ("thirty eight point five").
_WORD_TEMP_RE = re.compile(
    rf"\b(?:(?P<tens>thirty|forty)[\s-]?(?P<ones>{_ONES_WORDS})?"
    rf"|(?:a\s+|one\s+)?hundred(?:\s+and)?\s+(?P<hundreds>{_ONES_WORDS}))"
    rf"(?:\s+point\s+(?P<dec>{_DIGIT_WORDS}|\d))?\b"
)
_DIGIT_POINT_RE = re.compile(r"\b(\d{2,3})\s+point\s+(\d)\b")
# "38 point something" is at least 38.0 (chosen on the fourth validation set).
_POINT_SOMETHING_RE = re.compile(r"\b(\d{2,3})\s+point\s+(?:something|summat|somethin|odd)\b")
# Scots "cannae" / "canna" is "cannot", so "cannae keep a drink down" reads like "can't".
_CANNAE_RE = re.compile(r"\b(?:cannae|canna)\b")
# Scots and Northern English words that hide a phrase's own words from the matcher: "nowt's
# worth owt", "nae fever", "she winnae settle" (eighth validation set). Not "masel": the
# crisis terms name it only where they mean it; as "myself" it met "bruised masel on the table".
_DIALECT = {
    "aboot": "about",
    "withoot": "without",
    "wioot": "without",
    "wi'out": "without",
    "nowt": "nothing",
    "owt": "anything",
    "nae mair": "anymore",
    "nae more": "anymore",
    "nae": "no",
    "dinnae": "do not",
    "didnae": "did not",
    "doesnae": "does not",
    "isnae": "is not",
    "wisnae": "was not",
    "willnae": "will not",
    "winnae": "will not",
    "wouldnae": "would not",
    "couldnae": "could not",
    "shouldnae": "should not",
    "hasnae": "has not",
    "havnae": "have not",
    "havenae": "have not",
}
# "there's nae point" stays as it is: the crisis terms list it in Scots, where it is stronger.
_DIALECT_RE = re.compile(
    r"(?<![\w'])(" + "|".join(map(re.escape, _DIALECT)) + r")(?!\w)(?<!nae(?= point))"
)
# "thinkin aboot endin it", "bleedin", "shakin'": a dropped g (restored in Screener).
_DROPPED_G_RE = re.compile(r"\b([a-z]{3,}in)'?(?![\w'])")
# "38,4" is how many keyboards (and people) write 38.4; only numbers that look
# like body temperatures are rewritten so "10,000" and lists stay as they are.
_DECIMAL_COMMA_RE = re.compile(r"(?<![\d.,])(3[4-9]|4[0-4]|9[3-9]|10\d|110),(\d)(?![\d,])")


def _word_temperature(match: re.Match[str]) -> str:
    if match.group("hundreds"):
        whole = 100 + _ONES[match.group("hundreds")]
    else:
        whole = (30 if match.group("tens") == "thirty" else 40) + _ONES.get(
            match.group("ones") or "", 0
        )
    dec = match.group("dec")
    if dec is None:
        return str(whole)
    return f"{whole}.{_DIGITS.get(dec, dec)}"


def normalise(text: str) -> str:
    """Lower-case and tidy a message so chat quirks do not hide a symptom."""
    text = html.unescape(text)
    text = _TAG_RE.sub(" ", text)
    text = _INVISIBLE_RE.sub("", text).translate(_QUOTES)
    # A line break separates thoughts: stop "No fever\nNose bleeding" reading
    # as one negated clause.
    text = _NEWLINE_RE.sub(" , ", text)
    text = text.lower().replace("&", " and ")
    text = _ELONGATED_RE.sub(r"\1\1", text)
    text = _WORD_TEMP_RE.sub(_word_temperature, text)
    text = _DIGIT_POINT_RE.sub(r"\1.\2", text)
    text = _POINT_SOMETHING_RE.sub(r"\1.0", text)
    text = _CANNAE_RE.sub("cannot", text)
    text = _DIALECT_RE.sub(lambda m: _DIALECT[m.group(1)], text)
    text = _DECIMAL_COMMA_RE.sub(r"\1.\2", text)
    text = _SEPARATOR_RE.sub(r" \1 ", text)
    return _SPACES_RE.sub(" ", text).strip()


def _clip(text: str, max_chars: int) -> str:
    """Bound the work per message while still screening both ends of it."""
    if len(text) <= max_chars:
        return text
    # Most of the budget goes to the start (where people usually say what is
    # wrong); a slice of the end catches "... and now my temp is 38.5".
    tail = max_chars // 5
    return f"{text[: max_chars - tail]} . {text[-tail:]}"


# --------------------------------------------------------------------------
# Phrase compilation (the mini-syntax documented at the top of safety_terms.yml)
# --------------------------------------------------------------------------


class _PhraseCompiler:
    """Turn the clinician-facing phrase syntax into spaCy Matcher patterns."""

    def __init__(self, nlp: Language, gap_stop_words: Iterable[str]) -> None:
        self._nlp = nlp
        self._cache: dict[str, list[tuple[str, str]]] = {}
        # Gaps must not jump a clause boundary, or "no fever, but ..." style
        # sentences would stitch unrelated words into one symptom.
        self._gap = {
            "IS_PUNCT": False,
            "LOWER": {"NOT_IN": sorted(set(gap_stop_words))},
            "OP": "?",
        }

    def _tokens(self, word: str) -> list[tuple[str, str]]:
        if word not in self._cache:
            tokens = list(self._nlp(word))
            # A lone "'s" or "'ve" tokenises differently from "temp's" or
            # "I've"; attach it to a host word the tokeniser splits off again.
            if word.startswith("'"):
                for host in ("i", "you", "it"):
                    hosted = list(self._nlp(f"{host}{word}"))
                    if len(hosted) > 1 and hosted[0].text == host:
                        tokens = hosted[1:]
                        break
            self._cache[word] = [(t.lower_, t.lemma_) for t in tokens]
        return self._cache[word]

    def _alternative(self, alt: str, phrase: str) -> list[dict[str, Any]]:
        specs: list[dict[str, Any]] = []
        for word in alt.split():
            exact = word.startswith("=") and len(word) > 1
            body = word[1:] if exact else word
            for lower, lemma in self._tokens(body.lower()):
                specs.append({"LOWER": lower} if exact else {"LEMMA": lemma})
        if not specs:
            raise TermsError(f"empty alternative in phrase: {phrase!r}")
        return specs

    def _slot_variants(self, slot: str, phrase: str) -> list[list[dict[str, Any]]]:
        if slot == "...":
            return [[dict(self._gap) for _ in range(GAP_WORDS)]]
        optional = slot.startswith("[") and slot.endswith("]")
        grouped = slot.startswith("(") and slot.endswith(")")
        inner = slot[1:-1] if optional or grouped else slot
        if any(ch in inner for ch in "[]()"):
            raise TermsError(f"misplaced bracket in phrase: {phrase!r}")
        lemmas: set[str] = set()
        lowers: set[str] = set()
        variants: list[list[dict[str, Any]]] = []
        for alt in inner.split("|"):
            specs = self._alternative(alt.strip(), phrase)
            if len(specs) == 1 and "LEMMA" in specs[0]:
                lemmas.add(specs[0]["LEMMA"])
            elif len(specs) == 1:
                lowers.add(specs[0]["LOWER"])
            else:
                variants.append(specs)
        # One IN-set per slot keeps the pattern count down for long word lists.
        if lowers:
            variants.insert(0, [{"LOWER": {"IN": sorted(lowers)}}])
        if lemmas:
            variants.insert(0, [{"LEMMA": {"IN": sorted(lemmas)}}])
        if optional:
            variants.append([])
        return variants

    def compile(self, phrase: str) -> tuple[list[list[dict[str, Any]]], bool]:
        """Return (patterns, must_end_clause) for one phrase."""
        slots = _split_slots(phrase)
        anchored = bool(slots) and slots[-1] == "$"
        if anchored:
            slots = slots[:-1]
        if not slots or "$" in slots:
            raise TermsError(f"'$' may only end a phrase: {phrase!r}")
        if slots[0] == "..." or slots[-1] == "...":
            raise TermsError(f"'...' must sit between words: {phrase!r}")
        per_slot = [self._slot_variants(slot, phrase) for slot in slots]
        total = 1
        for variants in per_slot:
            total *= len(variants)
        if total > MAX_PATTERNS_PER_PHRASE:
            raise TermsError(f"phrase expands to too many patterns ({total}): {phrase!r}")
        patterns: list[list[dict[str, Any]]] = []
        seen: set[str] = set()
        for combo in itertools.product(*per_slot):
            pattern = [spec for part in combo for spec in part]
            if not any("OP" not in spec for spec in pattern):
                raise TermsError(f"phrase can match nothing but optional words: {phrase!r}")
            key = json.dumps(pattern, sort_keys=True)
            if key not in seen:
                seen.add(key)
                patterns.append(pattern)
        return patterns, anchored


def _split_slots(phrase: str) -> list[str]:
    slots: list[str] = []
    buf: list[str] = []
    depth = 0
    for ch in str(phrase).strip():
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth < 0:
                raise TermsError(f"unbalanced brackets in phrase: {phrase!r}")
        if ch.isspace() and depth == 0:
            if buf:
                slots.append("".join(buf))
                buf = []
            continue
        buf.append(ch)
    if depth:
        raise TermsError(f"unbalanced brackets in phrase: {phrase!r}")
    if buf:
        slots.append("".join(buf))
    return slots


def _as_set(values: Iterable[Any] | None) -> frozenset[str]:
    values = list(values or ())
    # YAML reads a bare no/yes/on/off as a boolean, which would quietly turn
    # the negation cue "no" into "false".
    if any(isinstance(v, bool) for v in values):
        raise TermsError('a word list holds true/false: quote words like "no" in the terms file')
    return frozenset(str(v).lower() for v in values)


# --------------------------------------------------------------------------
# The screener
# --------------------------------------------------------------------------

_READING_RE = re.compile(
    r"(?<![\w.,])(?P<num>\d{2,3}(?:\.\d{1,2})?)"
    r"(?:\s*(?P<deg>°|º|˚|degrees|degree|degs|deg)\.?)?"
    r"(?:\s*(?P<unit>celsius|centigrade|fahrenheit|farenheit|farhenheit|c|f)\b\.?)?"
    r"(?![\w°º˚])"
)
_FAHRENHEIT_UNITS = {"f", "fahrenheit", "farenheit", "farhenheit"}
_CELSIUS_UNITS = {"c", "celsius", "centigrade"}


# Verbs that turn a negation around: "haven't been able to stop the bleeding" is bleeding.
_UNNEGATING_VERBS = frozenset(
    {
        "stop",
        "stopping",
        "stopped",
        "settle",
        "settling",
        "ease",
        "easing",
        "shift",
        "shake",
        "control",
        "controlling",
        "help",
        "keep",
        "bring",
        "get",
    }
)

# "Can't shake this cough" governs the verb, but "haven't been shaking or shivery" is the
# symptom itself, negated (fifth validation set).
_SHAKING = frozenset({"shaking", "shakes", "shakin", "shaky"})
# "is it fine", "would that be normal": an all-clear word asked about is no all-clear.
_ASKING_VERBS = frozenset({"is", "are", "was", "would", "will", "should", "could", "does", "do"})
_ASKED_ABOUT = frozenset({"it", "that", "this", "they", "he", "she", "be", "i", "we", "you"})


class Screener:
    """Decide whether a message carries urgent symptoms or crisis language."""

    def __init__(
        self,
        terms: Path | str | Mapping[str, Any],
        nlp: Language,
        fever_threshold_c: float = 37.5,
        *,
        max_chars: int = MAX_CHARS,
    ) -> None:
        if isinstance(terms, Mapping):
            _check_terms(terms)
            self._terms: Mapping[str, Any] = terms
        else:
            self._terms = load_terms(terms)
        self._nlp = nlp
        self.fever_threshold_c = float(fever_threshold_c)
        self.max_chars = int(max_chars)
        # Every phrase is matched on lemmas; a pipeline without a working
        # lemmatiser would silently match almost nothing.
        probe = nlp("bleeding")
        if not len(probe) or probe[0].lemma_ != "bleed":
            raise ValueError(
                "the spaCy pipeline needs a lookup lemmatiser (see bot.understanding.nlp)"
            )

        negation = self._terms.get("negation") or {}
        self._negatable = _as_set(negation.get("applies_to", [URGENT]))
        self._cues = _as_set(negation.get("cues"))
        self._breaks = _as_set(negation.get("clause_breaks"))
        self._and_breaks = _as_set(negation.get("and_breaks_before"))
        self._max_negation_distance = int(negation.get("max_distance_words", 8))
        gap_stops = {b for b in self._breaks if any(c.isalpha() for c in b)}
        compiler = _PhraseCompiler(nlp, gap_stops)

        self._matcher = KeyedMatcher(nlp.vocab)
        self._labels: dict[int, tuple[str, str, bool]] = {}
        for category in CATEGORIES:
            for signal, spec in (self._terms.get(category) or {}).items():
                if signal == READING_SIGNAL:
                    continue
                self._add(compiler, self._matcher, signal, category, spec or {})

        self._harmless = KeyedMatcher(nlp.vocab)
        harmless = self._terms.get("harmless") or {}
        groups = harmless.values() if isinstance(harmless, Mapping) else [harmless]
        self._add_plain(compiler, self._harmless, "harmless", [p for g in groups for p in g or ()])
        self._pseudo = KeyedMatcher(nlp.vocab)
        self._add_plain(compiler, self._pseudo, "pseudo", negation.get("pseudo_negations") or [])
        self._someone_else = KeyedMatcher(nlp.vocab)
        other = self._terms.get("someone_else") or {}
        self._add_plain(compiler, self._someone_else, "someone_else", other.get("phrases") or [])
        self._framing = KeyedMatcher(nlp.vocab)
        for kind, phrases in (self._terms.get("framing") or {}).items():
            self._add_plain(compiler, self._framing, str(kind), phrases or [])

        # Words whose "-ing" form the lemmatiser knows and which are not words themselves.
        lemmas = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
        self._lemma_lookup = lemmas
        self._base_words = frozenset(lemmas.values())

        reading = self._terms[URGENT].get(READING_SIGNAL) or {}
        self._temp_words = _as_set(reading.get("temperature_words"))
        self._words_before = int(reading.get("words_before", 6))
        self._words_after = int(reading.get("words_after", 3))
        self._celsius_range = tuple(reading.get("celsius_range", (34.0, 44.0)))
        self._fahrenheit_range = tuple(reading.get("fahrenheit_range", (93.0, 111.0)))
        self._other_measurements = _as_set(reading.get("other_measurements"))
        self._not_after = _as_set(reading.get("not_after"))
        self._not_before = _as_set(reading.get("not_before"))
        self._weather = _as_set(reading.get("weather_words"))

    def _add(
        self,
        compiler: _PhraseCompiler,
        matcher: Any,
        signal: str,
        category: str,
        spec: Mapping[str, Any],
    ) -> None:
        plain: list[list[dict[str, Any]]] = list(spec.get("patterns") or [])
        anchored: list[list[dict[str, Any]]] = []
        for phrase in spec.get("phrases") or []:
            patterns, must_end = compiler.compile(str(phrase))
            (anchored if must_end else plain).extend(patterns)
        for patterns, must_end in ((plain, False), (anchored, True)):
            if not patterns:
                continue
            label = f"{category}:{signal}{':$' if must_end else ''}"
            matcher.add(label, patterns)
            self._labels[self._nlp.vocab.strings[label]] = (signal, category, must_end)

    def _add_plain(
        self, compiler: _PhraseCompiler, matcher: Any, label: str, phrases: Sequence[Any]
    ) -> None:
        plain: list[list[dict[str, Any]]] = []
        anchored: list[list[dict[str, Any]]] = []
        for phrase in phrases:
            compiled, must_end = compiler.compile(str(phrase))
            (anchored if must_end else plain).extend(compiled)
        if plain:
            matcher.add(label, plain)
        if anchored:
            # A `$` phrase must end its clause here too (it was silently ignored before).
            matcher.add(f"{label}{ANCHORED}", anchored)

    def _plain_matches(self, matcher: Any, doc: Doc) -> list[tuple[str, int, int]]:
        """(label, start, end) for a framing-style matcher, honouring `$` phrases."""
        out = []
        for match_id, start, end in matcher(doc):
            label = self._nlp.vocab.strings[match_id]
            if label.endswith(ANCHORED):
                if not self._ends_clause(doc, end):
                    continue
                label = label[: -len(ANCHORED)]
            out.append((label, start, end))
        return out

    # -- public API --------------------------------------------------------

    def screen(self, text: str) -> Screening:
        """Screen one message; never logs or stores the message text."""
        if not isinstance(text, str) or not text.strip():
            return NOT_FLAGGED
        if len(text) > self.max_chars:
            log.debug("safety screen: long message clipped to %d characters", self.max_chars)
        cleaned = _DROPPED_G_RE.sub(self._restore_g, normalise(_clip(text, self.max_chars)))
        if not cleaned:
            return NOT_FLAGGED
        doc = self._nlp(cleaned)
        # Tokens inside phrases that look negative but deny nothing ("not sure if"), read once.
        pseudo = {
            i for _, start, end in self._plain_matches(self._pseudo, doc) for i in range(start, end)
        }
        found, discounted, where = self._find_signals(doc, pseudo)
        reading_at = self._fever_reading_at(doc, cleaned, pseudo)
        if reading_at is not None:
            found[READING_SIGNAL] = URGENT
            where.append(reading_at)
        elif self._normal_reading_seen(cleaned):
            discounted.add(READING_SIGNAL)
        category = next((c for c in CATEGORIES if c in found.values()), None)
        framing, lasting = self._framing_of(doc, where, pseudo)
        result = Screening(
            category=category,
            signals=tuple(sorted(found)),
            about_someone_else=bool(self._plain_matches(self._someone_else, doc)),
            discounted=tuple(sorted(discounted - set(found))),
            # Read even with no rule signal: the net's team-soon flags use it (bot/care/triage).
            framing=framing,
            lasting=lasting,
        )
        if result.is_flagged:
            log.info(
                "safety screen flagged: category=%s signals=%s",
                result.category,
                ",".join(result.signals),
            )
        else:
            log.debug("safety screen: nothing flagged")
        return result

    def _restore_g(self, match: re.Match[str]) -> str:
        """ "endin" -> "ending" when only the "-ing" form is a word the lemmatiser knows."""
        word = match.group(1)
        full = word + "g"
        lemmas = self._lemma_lookup
        if word in lemmas or word in self._base_words or full not in lemmas:
            return match.group(0)
        return full if lemmas[full] != full else match.group(0)

    # -- matching ----------------------------------------------------------

    def _framing_of(
        self, doc: Doc, signals_at: list[int], pseudo: set[int]
    ) -> tuple[str | None, bool]:
        """The framing kind (animal, resolved, past, question or None); whether a symptom lasts.

        `signals_at` holds the first token of each rule signal the message kept.
        """
        found = self._plain_matches(self._framing, doc)
        # "Finished treatment last year" dates the treatment, not the symptom: past words
        # inside a `treatment_over` phrase don't frame the message.
        over = [(start, end) for kind, start, end in found if kind == "treatment_over"]
        # A denied all-clear is none: "he's not fine now", "not keeping fluids down".
        found = [
            (kind, start, end)
            for kind, start, end in found
            if kind not in ("resolved", "all_clear") or not self._is_negated(doc, start, pseudo)
        ]
        kinds = {
            kind
            for kind, start, end in found
            if kind != "treatment_over"
            and not (kind == "past" and any(a <= start and end <= b for a, b in over))
        }
        lasting = "lasting" in kinds
        if "animal" in kinds:
            return "animal", lasting
        if "present" in kinds and self._present_stands(doc, found, signals_at):
            return None, lasting
        kinds.discard("present")
        return next((k for k in ("resolved", "past", "question") if k in kinds), None), lasting

    def _present_stands(
        self, doc: Doc, found: list[tuple[str, int, int]], signals_at: list[int]
    ) -> bool:
        """Whether a "now" word is about a symptom, not inside an all-clear ("fine today").

        "The nosebleed stopped after five minutes, he's back playing now": the present words
        sit in a clause that says all is well, so they don't undo the all-clear. They still
        stand when nothing says the symptom itself is over, when a symptom shares that clause
        ("back at school today and feels shivery"), when a symptom sits in a clause no
        all-clear covers ("fine in himself today but covered in new bruises"), and when the
        all-clear is denied ("not fine today") or asked about ("is that normal still?").
        """
        # Only an explicit all-clear of the symptom ("stopped after", "went away") can outweigh
        # a present word: past words beside "fine today" may be a comparison ("that rash she
        # had during maintenance, she's fine today otherwise"), so they stand (review).
        framed = [start for kind, start, _ in found if kind == "resolved"]
        if not framed:
            return True
        if any(not any(self._same_clause(doc, at, f) for f in framed) for at in signals_at):
            return True
        clear = [
            start
            for kind, start, _ in found
            if kind == "all_clear"
            and not self._in_question(doc, start)
            and not any(self._same_clause(doc, start, at) for at in signals_at)
        ]
        return any(
            not any(self._same_clause(doc, start, c) for c in clear)
            for kind, start, _ in found
            if kind == "present"
        )

    def _in_question(self, doc: Doc, i: int) -> bool:
        """Whether token `i` is asked about ("is it fine to give her calpol today?")."""
        if i >= 2 and doc[i - 2].lower_ in _ASKING_VERBS and doc[i - 1].lower_ in _ASKED_ABOUT:
            return True
        end = i
        while end < len(doc) and not self._is_clause_break(doc, end):
            end += 1
        return end < len(doc) and doc[end].text == "?"

    def _same_clause(self, doc: Doc, a: int, b: int) -> bool:
        """Whether tokens `a` and `b` have no clause break between them."""
        low, high = min(a, b), max(a, b)
        return not any(self._is_clause_break(doc, i) for i in range(low + 1, high + 1))

    def _find_signals(
        self, doc: Doc, pseudo: set[int]
    ) -> tuple[dict[str, str], set[str], list[int]]:
        """Signals kept (name -> category), signals seen and discounted, where kept ones start."""
        harmless = [(start, end) for _, start, end in self._plain_matches(self._harmless, doc)]
        found: dict[str, str] = {}
        discounted: set[str] = set()
        where: list[int] = []
        for match_id, start, end in self._matcher(doc):
            signal, category, must_end = self._labels[match_id]
            if signal in found:
                where.append(start)
                continue
            if (
                (must_end and not self._ends_clause(doc, end))
                or any(h_start <= start and end <= h_end for h_start, h_end in harmless)
                or (category in self._negatable and self._is_negated(doc, start, pseudo))
            ):
                discounted.add(signal)
                continue
            found[signal] = category
            where.append(start)
        return found, discounted, where

    def _ends_clause(self, doc: Doc, end: int) -> bool:
        """Whether a match ending at token `end` ends its clause (what `$` asks for)."""
        return end >= len(doc) or self._is_clause_break(doc, end)

    def _is_clause_break(self, doc: Doc, i: int) -> bool:
        token = doc[i]
        lower = token.lower_
        if lower in self._breaks:
            return True
        if token.is_punct and lower and set(lower) <= _CLAUSE_PUNCT_CHARS:
            return True
        return lower == "and" and i + 1 < len(doc) and doc[i + 1].lower_ in self._and_breaks

    def _is_negated(self, doc: Doc, start: int, pseudo: set[int]) -> bool:
        i = start - 1
        distance = 0
        while i >= 0 and distance < self._max_negation_distance:
            if self._is_clause_break(doc, i):
                return False
            token = doc[i]
            # "can't stop the bleeding", "won't settle": the negation governs the verb
            # between it and the symptom, not the symptom, so the symptom stands.
            if token.lower_ in _UNNEGATING_VERBS or (
                token.lemma_ in _UNNEGATING_VERBS and token.lower_ not in _SHAKING
            ):
                return False
            if i not in pseudo and (token.lower_ in self._cues or token.lemma_ in self._cues):
                return True
            if not token.is_punct:
                distance += 1
            i -= 1
        return False

    # -- temperature numbers -----------------------------------------------

    def _fever_reading_at(self, doc: Doc, text: str, pseudo: set[int]) -> int | None:
        """The first token of a fever reading the message gives, if any."""
        if not len(doc):
            return None
        starts = [token.idx for token in doc]
        for match in _READING_RE.finditer(text):
            celsius = self._to_celsius(match)
            # Round so 99.5F (37.4999...) counts as the 37.5 it means.
            if celsius is None or round(celsius, 2) < self.fever_threshold_c:
                continue
            first = bisect.bisect_right(starts, match.start("num")) - 1
            last = bisect.bisect_right(starts, match.end() - 1) - 1
            if self._number_is_something_else(doc, first, last):
                continue
            measures = self._nearest_measurement(doc, first, last)
            if measures == "other":
                continue
            explicit_unit = bool(match.group("deg") or match.group("unit"))
            if measures is None and (not explicit_unit or self._weather_near(doc, first)):
                continue
            if URGENT in self._negatable and self._is_negated(doc, first, pseudo):
                continue
            return first
        return None

    def _normal_reading_seen(self, text: str) -> bool:
        # A body temperature below the threshold ("36.8 this morning") is a reading the
        # screen has judged, so a classifier's red-flag guess must not overrule it.
        for match in _READING_RE.finditer(text):
            celsius = self._to_celsius(match)
            if celsius is not None and NORMAL_READING_FLOOR_C <= celsius < self.fever_threshold_c:
                return True
        return False

    def _to_celsius(self, match: re.Match[str]) -> float | None:
        value = float(match.group("num"))
        unit = match.group("unit") or ""
        c_low, c_high = self._celsius_range
        f_low, f_high = self._fahrenheit_range
        in_c = c_low <= value <= c_high
        in_f = f_low <= value <= f_high
        if unit in _FAHRENHEIT_UNITS:
            return (value - 32) * 5 / 9 if in_f else None
        if unit in _CELSIUS_UNITS:
            return value if in_c else None
        if in_c:
            return value
        if in_f:
            return (value - 32) * 5 / 9
        return None

    def _number_is_something_else(self, doc: Doc, first: int, last: int) -> bool:
        before = [doc[i].lower_ for i in range(max(0, first - 2), first)]
        if before and (before[-1] in self._not_after or "".join(before) in self._not_after):
            return True
        return last + 1 < len(doc) and doc[last + 1].lower_ in self._not_before

    def _is_temperature_word(self, token: Token) -> bool:
        return token.lower_ in self._temp_words or token.lemma_ in self._temp_words

    def _is_other_measurement(self, token: Token) -> bool:
        return token.lower_ in self._other_measurements or token.lemma_ in self._other_measurements

    def _nearest_measurement(self, doc: Doc, first: int, last: int) -> str | None:
        """Name what the number measures: "temperature", "other" or None."""
        # Looking back we allow commas ("temperature this morning, 38.5") but
        # not a sentence end; the nearest measurement word wins, so in
        # "heart rate is 101 and temp 37" the 101 belongs to the heart rate.
        i, words = first - 1, 0
        while i >= 0 and words < self._words_before:
            token = doc[i]
            if _is_sentence_end(token):
                break
            if self._is_temperature_word(token):
                return "temperature"
            if self._is_other_measurement(token):
                return "other"
            words += 0 if token.is_punct else 1
            i -= 1
        # Looking forward is riskier ("I'm 38, temp is fine"), so any clause
        # break ends the search.
        i, words = last + 1, 0
        while i < len(doc) and words < self._words_after:
            token = doc[i]
            if self._is_clause_break(doc, i):
                break
            if self._is_temperature_word(token):
                return "temperature"
            if self._is_other_measurement(token):
                return "other"
            words += 0 if token.is_punct else 1
            i += 1
        return None

    def _weather_near(self, doc: Doc, index: int) -> bool:
        sentence_start = index
        while sentence_start > 0 and not _is_sentence_end(doc[sentence_start - 1]):
            sentence_start -= 1
        sentence_end = index
        while sentence_end < len(doc) - 1 and not _is_sentence_end(doc[sentence_end]):
            sentence_end += 1
        return any(
            t.lower_ in self._weather or t.lemma_ in self._weather
            for t in doc[sentence_start : sentence_end + 1]
        )


def _is_sentence_end(token: Token) -> bool:
    text = token.text
    return bool(text) and token.is_punct and set(text) <= _SENTENCE_END_CHARS


@lru_cache(maxsize=1)
def get_screener() -> Screener:
    """Return the process-wide screener, built on first use from the settings."""
    from bot.config import get_settings
    from bot.understanding.nlp import load_pipeline

    settings = get_settings()
    return Screener(
        settings.safety_terms_file,
        load_pipeline(),
        fever_threshold_c=settings.fever_threshold_c,
    )


# --------------------------------------------------------------------------
# Evaluation against a phrase table (used by `make evaluate` and the tests)
# --------------------------------------------------------------------------


def _entry(entry: Any) -> tuple[str, list[str]]:
    if isinstance(entry, Mapping):
        return str(entry.get("text", "")), [str(s) for s in entry.get("expect") or []]
    return str(entry), []


def evaluate_table(screener: Screener, table: Mapping[str, Any]) -> dict[str, Any]:
    """Score a screener on a phrase table.

    Returns ``urgent`` and ``crisis`` blocks (total, caught, sensitivity =
    caught / total, or None when empty), a ``lookalikes`` block (total,
    false_alarms, false_alarm_rate) and ``misses``: every urgent/crisis entry
    not caught with the right category and an expected signal, plus every
    flagged look-alike, each with what the screener returned.
    """
    report: dict[str, Any] = {}
    misses: list[dict[str, Any]] = []
    for section in (URGENT, CRISIS):
        entries = list(table.get(section) or [])
        caught = 0
        for entry in entries:
            text, expect = _entry(entry)
            result = screener.screen(text)
            hit = result.category == section and (
                not expect or bool(set(expect) & set(result.signals))
            )
            if hit:
                caught += 1
            else:
                misses.append(_miss(section, text, expect, result))
        report[section] = {
            "total": len(entries),
            "caught": caught,
            "sensitivity": caught / len(entries) if entries else None,
        }
    lookalikes = list(table.get("lookalikes") or [])
    false_alarms = 0
    for entry in lookalikes:
        text, _ = _entry(entry)
        result = screener.screen(text)
        if result.is_flagged:
            false_alarms += 1
            misses.append(_miss("lookalikes", text, [], result))
    report["lookalikes"] = {
        "total": len(lookalikes),
        "false_alarms": false_alarms,
        "false_alarm_rate": false_alarms / len(lookalikes) if lookalikes else None,
    }
    report["misses"] = misses
    return report


def _miss(section: str, text: str, expect: list[str], result: Screening) -> dict[str, Any]:
    return {
        "section": section,
        "text": text,
        "expected": expect,
        "category": result.category,
        "signals": list(result.signals),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Print the evaluation of a phrase table as JSON; exit 1 on any miss."""
    from bot.config import PROJECT_ROOT

    args = list(sys.argv[1:] if argv is None else argv)
    path = Path(args[0]) if args else PROJECT_ROOT / "tests" / "safety" / "phrases.yml"
    with path.open(encoding="utf-8") as handle:
        table = yaml.safe_load(handle)
    report = evaluate_table(get_screener(), table)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 1 if report["misses"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
