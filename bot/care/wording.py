"""Every patient-facing string, from content/<concern>.yml, with who reviewed it and when.

Code never holds wording a patient reads: it asks for it by concern (the file's name, the
same as the module that uses it) and key, and fills in the parts that come from records::

    say("appointments", "at_location", location="Level 2")    # "It's at Level 2."
    buttons("appointments", "calendar_button")                # (("Add to my calendar", ...),)

A wording file has a file-level `source`, `reviewer` and `review_date`, which any entry may
override, and the modules that use it (`used_in`). Its entries are under `entries`; each has
`text` (a str.format template: `{when}` is filled in by the code) and either `buttons` (quick
replies sent with the text, each a title and a /payload) or a `payload` (then the entry is a
quick reply on its own and `text` is its title). Optional: `section` (of the source) and
`note` (for reviewers; never shown to patients).

Four older files keep their own layout and loaders (answers.yml: bot/care/content.py,
checklist.yml: bot/care/checklist.py, topics.yml: bot/care/suggestions.py,
safety_replies.yml: bot/care/signposting.py); here they are read as entries too, so they are
validated the same way and `bot content-report` lists them with the rest.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bot.config import PROJECT_ROOT

CONTENT_DIR = PROJECT_ROOT / "content"
# Every file of patient-facing wording, in the order content-report prints them.
CONCERNS = (
    "conversation",
    "answers",
    "topics",
    "appointments",
    "schedule",
    "timefmt",
    "helpline",
    "callbacks",
    "requests",
    "checklist",
    "questions",
    "smalltalk",
    "safety_replies",
    "inputs",
    "errors",
    "widget",
)
# content/ files that hold no wording a patient reads, and why.
NOT_WORDING = {
    "safety_terms": "terms the safety screen matches in patients' messages; never shown",
    "safety_anchors": "phrasings the safety net compares messages with; never shown",
}
PROVENANCE = ("source", "reviewer", "review_date")
_ENTRY_FIELDS = {"text", "buttons", "payload", "section", "note", *PROVENANCE}
_FILE_FIELDS = {"used_in", "entries", *PROVENANCE}


class WordingError(ValueError):
    """A content file breaks the rules: a missing field, a bad placeholder or button."""


@dataclass(frozen=True)
class Entry:
    """One patient-facing string with its provenance; a quick reply when `payload` is set."""

    concern: str
    key: str
    text: str
    buttons: tuple[tuple[str, str], ...]
    payload: str | None
    source: str
    section: str | None
    reviewer: str
    review_date: date
    note: str | None = None

    @property
    def placeholders(self) -> frozenset[str]:
        """The names in `text` the code fills in, e.g. {"when", "kind"}."""
        return frozenset(name for _, name, _, _ in string.Formatter().parse(self.text) if name)


@dataclass(frozen=True)
class WordingFile:
    """A content file's entries, keyed, in file order, and the modules that use them."""

    concern: str
    path: Path
    used_in: tuple[str, ...]
    entries: dict[str, Entry]


def _check_template(where: str, text: str) -> None:
    try:
        fields = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise WordingError(f"{where}: {exc} in {text!r}") from None
    for _, name, spec, conversion in fields:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise WordingError(f"{where}: placeholder {{{name}}} must be a plain {{name}}")


def _payload(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise WordingError(f"{where}: a payload must be text starting with /, not {value!r}")
    return value


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise WordingError(f"{where}: text is missing or empty")
    return value.strip()


def _entry(concern: str, key: str, raw: Any, defaults: dict[str, Any]) -> Entry:
    where = f"{concern}.{key}"
    if not isinstance(raw, dict):
        raise WordingError(f"{where}: an entry must be a mapping with text")
    unknown = set(raw) - _ENTRY_FIELDS
    if unknown:
        raise WordingError(f"{where}: unknown fields {', '.join(sorted(unknown))}")
    text = _text(where, raw.get("text"))
    _check_template(where, text)
    merged = {name: raw.get(name, defaults.get(name)) for name in PROVENANCE}
    for name in ("source", "reviewer"):
        if not isinstance(merged[name], str) or not merged[name].strip():
            raise WordingError(f"{where}: no {name}")
    if not isinstance(merged["review_date"], date):
        raise WordingError(f"{where}: review_date must be a date (YYYY-MM-DD)")
    pairs = []
    for n, button in enumerate(raw.get("buttons") or [], start=1):
        if not isinstance(button, dict) or set(button) != {"title", "payload"}:
            raise WordingError(f"{where}: button {n} needs a title and a payload")
        pairs.append(
            (_text(f"{where} button {n}", button["title"]), _payload(where, button["payload"]))
        )
    payload = raw.get("payload")
    if payload is not None:
        payload = _payload(where, payload)
        if pairs:
            raise WordingError(f"{where}: a quick reply (payload) cannot have buttons")
    return Entry(
        concern=concern,
        key=key,
        text=text,
        buttons=tuple(pairs),
        payload=payload,
        source=merged["source"].strip(),
        section=raw.get("section", defaults.get("section")),
        reviewer=merged["reviewer"].strip(),
        review_date=merged["review_date"],
        note=raw.get("note"),
    )


# Readers for the four files with their own layout: (key, raw entry) pairs.
RawEntries = Iterator[tuple[str, dict[str, Any]]]


def _provenance(group: dict[str, Any]) -> dict[str, Any]:
    return {name: group[name] for name in PROVENANCE if name in group}


def _answers(raw: dict[str, Any]) -> RawEntries:
    sources = raw.get("sources") or {}
    for topic, answer in (raw.get("answers") or {}).items():
        cited = sources.get(answer.get("source"))
        if cited is None:
            raise WordingError(f"answers.{topic}: unknown source {answer.get('source')!r}")
        reviewed = cited["last_reviewed"]
        yield (
            topic,
            {
                "text": answer.get("text"),
                "buttons": answer.get("buttons"),
                "source": f"{cited['publisher']}: {cited['title']}, "
                f"reviewed {reviewed.day} {reviewed:%b %Y}",
                "section": answer.get("section"),
                **{k: answer[k] for k in ("reviewer", "review_date") if k in answer},
            },
        )
    for key in ("citation", "review_due_note"):
        yield key, {"text": raw.get(key)}


def _topics(raw: dict[str, Any]) -> RawEntries:
    for key in ("did_you_mean", "none_of_these"):
        yield key, {"text": raw.get(key)}
    for intent, title in (raw.get("titles") or {}).items():
        # Each title is a quick reply that sends its intent.
        yield f"titles.{intent}", {"text": title, "payload": f"/{intent}"}


def _checklist(raw: dict[str, Any]) -> RawEntries:
    for item, group in raw.items():
        if item in _FILE_FIELDS or not isinstance(group, dict):
            continue
        extra = _provenance(group)
        if "source_section" in group:
            extra["section"] = group["source_section"]
        for name, text in group.items():
            if name not in (*PROVENANCE, "source_section"):
                yield f"{item}.{name}", {"text": text, **extra}


def _safety_replies(raw: dict[str, Any]) -> RawEntries:
    for tier, text in (raw.get("replies") or {}).items():
        yield tier, {"text": text}


_OWN_LAYOUT: dict[str, Callable[[dict[str, Any]], RawEntries]] = {
    "answers": _answers,
    "topics": _topics,
    "checklist": _checklist,
    "safety_replies": _safety_replies,
}


def parse_wording(concern: str, raw: Any, path: Path | None = None) -> WordingFile:
    """Check a parsed content file and return its entries (WordingError on any gap)."""
    if not isinstance(raw, dict):
        raise WordingError(f"{concern}: a content file must be a mapping")
    defaults = _provenance(raw)
    used_in = raw.get("used_in")
    if not isinstance(used_in, list) or not all(isinstance(m, str) for m in used_in):
        raise WordingError(f"{concern}: used_in must list the modules that use this file")
    pairs: list[tuple[str, Any]] = []
    if concern in _OWN_LAYOUT:
        pairs += list(_OWN_LAYOUT[concern](raw))
    elif set(raw) - _FILE_FIELDS:
        unknown = ", ".join(sorted(set(raw) - _FILE_FIELDS))
        raise WordingError(f"{concern}: unknown top-level fields {unknown}")
    pairs += list((raw.get("entries") or {}).items())
    entries: dict[str, Entry] = {}
    for key, item in pairs:
        if key in entries:
            raise WordingError(f"{concern}.{key}: defined twice")
        entries[key] = _entry(concern, key, item, defaults)
    if not entries:
        raise WordingError(f"{concern}: no entries")
    return WordingFile(concern, path or CONTENT_DIR / f"{concern}.yml", tuple(used_in), entries)


@cache
def load_wording(concern: str) -> WordingFile:
    """Read and check content/<concern>.yml, once per process."""
    if concern not in CONCERNS:
        raise KeyError(f"no wording file for concern {concern!r}")
    path = CONTENT_DIR / f"{concern}.yml"
    with open(path, encoding="utf-8") as handle:
        return parse_wording(concern, yaml.safe_load(handle), path)


def all_wording() -> list[WordingFile]:
    """Every wording file, in report order."""
    return [load_wording(concern) for concern in CONCERNS]


def entry(concern: str, key: str) -> Entry:
    """One entry (KeyError naming it if there is none)."""
    entries = load_wording(concern).entries
    if key not in entries:
        raise KeyError(f"no wording {concern}.{key} in content/{concern}.yml")
    return entries[key]


def say(concern: str, key: str, **fields: object) -> str:
    """The text of `concern`.`key`, with exactly its placeholders filled in from `fields`."""
    found = entry(concern, key)
    if set(fields) != found.placeholders:
        raise KeyError(
            f"{concern}.{key} fills in {sorted(found.placeholders)}, was given {sorted(fields)}"
        )
    return found.text.format(**fields)


def buttons(concern: str, *keys: str) -> tuple[tuple[str, str], ...]:
    """The quick replies of each key in turn: an entry's buttons, or the entry itself."""
    pairs: list[tuple[str, str]] = []
    for key in keys:
        found = entry(concern, key)
        pairs += [(found.text, found.payload)] if found.payload else found.buttons
    return tuple(pairs)
