"""Reviewed patient information: each answer with its source, section and review dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml

from bot.config import PROJECT_ROOT

ANSWERS_FILE = PROJECT_ROOT / "content" / "answers.yml"


@dataclass(frozen=True)
class Source:
    """A reviewed publication the answers are drawn from."""

    key: str
    title: str
    publisher: str
    last_reviewed: date
    next_review: date


@dataclass(frozen=True)
class Answer:
    """One topic's answer, ready to send."""

    topic: str
    text: str
    buttons: tuple[tuple[str, str], ...]
    source: Source
    section: str

    def is_due_for_review(self, today: date) -> bool:
        """True once the source has passed its next-review date."""
        return today > self.source.next_review


@dataclass(frozen=True)
class Library:
    """All answers, keyed by topic, the credit line after each, and the overdue-review note."""

    answers: dict[str, Answer]
    review_note_template: str
    citation_template: str

    def get(self, topic: str) -> Answer:
        """The answer for `topic` (KeyError if there is none)."""
        return self.answers[topic]

    def citation(self, answer: Answer) -> str:
        """A short credit line for the end of an answer, e.g. 'Source: ..., reviewed May 2025.'."""
        source = answer.source
        return self.citation_template.format(
            publisher=source.publisher, reviewed=f"{source.last_reviewed:%B %Y}"
        )

    def review_note(self, answer: Answer, today: date) -> str | None:
        """The due-for-review note for `answer`, or None while its source is current."""
        if not answer.is_due_for_review(today):
            return None
        next_review = f"{answer.source.next_review.day} {answer.source.next_review:%B %Y}"
        return self.review_note_template.format(next_review=next_review)


def parse_library(raw: dict) -> Library:
    """Build a Library from the parsed YAML, checking every answer names a known source."""
    sources = {
        key: Source(key, s["title"], s["publisher"], s["last_reviewed"], s["next_review"])
        for key, s in raw["sources"].items()
    }
    answers = {}
    for topic, item in raw["answers"].items():
        if item["source"] not in sources:
            raise ValueError(f"answer {topic!r} names unknown source {item['source']!r}")
        buttons = tuple((b["title"], b["payload"]) for b in item.get("buttons", []))
        answers[topic] = Answer(
            topic, item["text"].strip(), buttons, sources[item["source"]], item["section"]
        )
    return Library(answers, raw["review_due_note"].strip(), raw["citation"].strip())


@lru_cache(maxsize=1)
def load_library(path: Path = ANSWERS_FILE) -> Library:
    """Load the reviewed answers once per process."""
    with open(path, encoding="utf-8") as handle:
        return parse_library(yaml.safe_load(handle))
