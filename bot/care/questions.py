"""The patient's "my questions" notebook: things to raise at their next follow-up appointment.

Pure helpers (`extract_question`, `classify_kind`, `parse_removal`, `apply_removal`) work
on plain text, so the assistant can keep a list in the conversation for anonymous users.
Signed-in patients get the same behaviour backed by the database: questions belong to the
patient, are linked to the appointment that was next when they were added, and removing
one only stamps `removed_at`, so nothing the patient wrote is destroyed.

Text is stored exactly as the patient typed it (after trimming), never interpreted:
HTML, SQL or emoji are just characters here. Whoever displays it must escape it for
their medium; `export_questions` returns plain text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import clock
from bot.care.timefmt import uk_datetime
from bot.care.wording import say
from bot.storage.models import QUESTION_KINDS, Appointment, Patient, PatientQuestion, to_utc
from bot.storage.records import AppointmentView, next_appointment

MAX_CHARS = 500
# The printable page's words are in content/questions.yml.
WORDING = "questions"
_APPOINTMENT_KINDS = ("telephone", "video", "face_to_face")

_FLAGS = re.IGNORECASE
_SEP = r"\b\s*[:;,.\-–—]*\s*"  # optional punctuation after a lead-in ("add:", "new question -")
_COLON = r"\s*[:\-–—]+\s*"  # required punctuation, for lead-ins that are also ordinary words
_POLITE = r"(?:(?:please|pls|ok|okay|hi|hey|oh|and|also)\b[\s,!.]*)*"
_ASKING = r"(?:(?:can|could|would|will)\s+you\s+(?:please\s+)?|please\s+)"
_WHO = r"(?:the|my|our)\s+(?:doctors?|nurses?|consultants?|team|specialists?|haematologists?)"
_LIST = r"(?:to|on|onto)\s+(?:my|the)\s+(?:list|questions|notebook)"

# Lead-ins, tried repeatedly at the start of the message (more specific ones first).
_LEAD_INS = [
    rf"add\s+(?:(?:a|another|one\s+more|this|the|my)\s+)?(?:new\s+)?questions?"
    rf"(?:\s+{_LIST})?{_SEP}",
    rf"add\s+(?:(?:this|that|it)\s+)?{_LIST}{_SEP}",
    rf"add{_COLON}",
    rf"(?:a\s+)?new\s+question{_SEP}",
    rf"remind\s+me\s+to\s+(?:ask|mention|bring\s+up|raise)"
    rf"(?:\s+(?:{_WHO}|them|her|him))?(?:\s+about)?{_SEP}",
    rf"(?:i\s+(?:want|need|would\s+like|wanna)|i['’]d\s+like)\s+to\s+(?:ask|mention)"
    rf"(?:\s+(?:{_WHO}|them|her|him))?(?:\s+about)?{_SEP}",
    rf"{_ASKING}(?:note|jot|write|save|add|put|remember|keep)(?:\s+(?:this|it|that))?"
    rf"(?:\s+down)?(?:\s+that)?{_SEP}",
    rf"(?:note|jot|write|put)(?:\s+(?:this|it))?\s+down(?:\s+that)?{_SEP}",
    rf"note(?:\s+(?:this|it))?\s+that{_SEP}",
    rf"(?:note|save)(?:\s+(?:this|it|that))?{_COLON}",
]
_LEAD_IN = re.compile(rf"^{_POLITE}(?:{'|'.join(_LEAD_INS)})", _FLAGS)
# A bare "add" only counts as a lead-in when the message also ends "to my list".
_BARE_ADD = re.compile(rf"^{_POLITE}{_ASKING}?add\s+", _FLAGS)
_TO_MY_LIST = re.compile(rf"\s*[,.]?\s*{_LIST}[\s.!,]*$", _FLAGS)
_TRAILERS = [
    re.compile(r"[\s,;:\-–—]*\b(?:please|pls|thanks|thank\s+you|cheers)\b[\s.!,]*$", _FLAGS),
    re.compile(r"[\s,;:\-–—]+(?:and\s+)?save\s+(?:it|this|that)\b[\s.!,]*$", _FLAGS),
]
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»"}
# What can be left after "add a question" or "save it" with nothing to add.
_FILLER = {
    "it",
    "this",
    "that",
    "something",
    "question",
    "a question",
    "questions",
    "one",
    "add",
    "save it",
    "save this",
    "note this",
    "note it",
}

_SIDE_EFFECT = re.compile(r"\b(?:side|late)[\s-]*effects?\b", _FLAGS)
_SYMPTOM = re.compile(
    r"\b(?:symptoms?|remind\s+me\s+to\s+mention|tired\w*|fatigue\w*|exhaust\w*|pains?|painful"
    r"|aches?|aching|achy|\w+aches?|sore|soreness|sleep\w*|insomnia|appetite|hair|numb|numbness"
    r"|tingl\w*|bruis\w*|bleed\w*|breathless\w*|nause\w*|dizz\w*|rash\w*|sweats?|sweating"
    r"|fevers?|temperature|cough\w*|swelling|swollen|lumps?|feel(?:ing)?\s+sick)\b",
    _FLAGS,
)


def _collapse(text: str) -> str:
    """Drop control characters and collapse runs of whitespace to one space."""
    return " ".join(_CONTROL.sub(" ", text).split())


def _clean(text: str) -> str:
    """Collapse whitespace and cap the length at MAX_CHARS."""
    return _collapse(text)[:MAX_CHARS].rstrip()


def _unquote(text: str) -> str:
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1]:
        return text[1:-1].strip()
    return text


def extract_question(text: str) -> str | None:
    """Return what the patient wants to raise, without "add a question:"-style wrapping, or None."""
    if not isinstance(text, str):
        return None
    # Long input is only cut after the lead-in is gone, so the limit applies to what is kept.
    rest = _collapse(text)
    # Trailers and lead-ins can nest ("please add: ... to my list, thanks"), so peel until stable.
    for _ in range(4):
        before = rest
        listed = _TO_MY_LIST.search(rest)
        if listed:
            rest = rest[: listed.start()]
            rest = _BARE_ADD.sub("", rest, count=1)
        for trailer in _TRAILERS:
            rest = trailer.sub("", rest)
        rest = _LEAD_IN.sub("", rest, count=1).strip()
        rest = _unquote(rest.strip())
        if rest == before:
            break
    rest = rest[:MAX_CHARS].strip()
    if not re.search(r"\w", rest) or rest.lower().rstrip(".!?") in _FILLER:
        return None
    return rest[0].upper() + rest[1:]


def classify_kind(text: str) -> str:
    """Return "side_effect", "symptom" or "question" for a message (best given the raw message)."""
    if _SIDE_EFFECT.search(text):
        return "side_effect"
    if _SYMPTOM.search(text):
        return "symptom"
    return "question"


@dataclass(frozen=True)
class Removal:
    """What to remove: everything, the n-th item (1-based), the last one, or a keyword match."""

    all: bool = False
    number: int | None = None
    # The patient's own words, so kept out of repr.
    keyword: str | None = field(default=None, repr=False)
    last: bool = False

    @property
    def is_empty(self) -> bool:
        """True when the message did not say which item(s) to remove."""
        return not (self.all or self.last or self.number is not None or self.keyword)


_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
}
_CARDINALS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_ABOUT = re.compile(
    r"\b(?:one|question|item|thing|bit|entry|that|those|ones|questions)\s+"
    r"(?:about|on|re|regarding|mentioning|saying)\s+(?P<kw>.+)$",
    _FLAGS,
)
_DIGIT = re.compile(r"(?:#\s*|\b)(?P<n>\d{1,3})(?:st|nd|rd|th)?\b", _FLAGS)
_ORDINAL = re.compile(rf"\b(?P<w>{'|'.join(_ORDINALS)})\b", _FLAGS)
_CARDINAL = re.compile(
    rf"\b(?:question|number|no\.?|item)\s+(?P<w>{'|'.join(_CARDINALS)})\b", _FLAGS
)
_LAST = re.compile(r"\b(?:the\s+)?(?:last|latest|final|most\s+recent)\b", _FLAGS)
_ALL = re.compile(
    r"\b(?:clear|empty|wipe|reset|start\s+(?:again|over)|all|everything|every\s+(?:one|question)"
    r"|the\s+lot|whole\s+list)\b",
    _FLAGS,
)
_VERB_OBJECT = re.compile(
    r"\b(?:remove|delete|take|drop|cross|scratch|strike|get\s+rid\s+of|forget(?:\s+about)?"
    r"|rub|don'?t\s+need)\s+(?:out\s+|off\s+)?(?P<kw>.+)$",
    _FLAGS,
)
_KEYWORD_TAIL = re.compile(
    r"(?:[\s,;:\-–—]*\b(?:please|pls|thanks|thank\s+you)\b"
    r"|\s+(?:off|out\s+of|from)\s+(?:my|the)\s+(?:list|questions|notebook)"
    r"|\s+(?:off|out|one|ones|question|questions|bit|item)|\s+(?:any\s*more|now))[\s.!?]*$",
    _FLAGS,
)
_KEYWORD_NOISE = re.compile(
    r"^(?:(?:the|my|a|an|that|this|question|questions|one|bit|about|on)\b\s*)+", _FLAGS
)


def _keyword(raw: str) -> str | None:
    raw = _clean(raw).strip(" \t.,!?;:")
    for _ in range(3):
        raw = _KEYWORD_TAIL.sub("", raw).strip(" \t.,!?;:")
    raw = _unquote(_KEYWORD_NOISE.sub("", _unquote(raw)).strip(" \t.,!?;:"))
    if not re.search(r"\w", raw) or raw.lower() in _FILLER | {"list", "my list", "them"}:
        return None
    return raw


def parse_removal(text: str) -> Removal:
    """Work out what to remove from "remove question 2", "take tiredness off my list", etc."""
    text = _clean(text or "")
    about = _ABOUT.search(text)
    if about:
        keyword = _keyword(about.group("kw"))
        if keyword:
            return Removal(keyword=keyword)
    digit = _DIGIT.search(text)
    if digit and int(digit.group("n")) > 0:
        return Removal(number=int(digit.group("n")))
    word = _ORDINAL.search(text) or _CARDINAL.search(text)
    if word:
        key = word.group("w").lower()
        return Removal(number=_ORDINALS.get(key) or _CARDINALS[key])
    if _LAST.search(text):
        return Removal(last=True)
    if _ALL.search(text):
        return Removal(all=True)
    verb = _VERB_OBJECT.search(text)
    if verb:
        keyword = _keyword(verb.group("kw"))
        if keyword:
            return Removal(keyword=keyword)
    return Removal()


def _matches(removal: Removal, position: int, count: int, text: str) -> bool:
    if removal.all:
        return True
    if removal.number is not None:
        return position == removal.number
    if removal.last:
        return position == count
    if removal.keyword:
        return removal.keyword.casefold() in text.casefold()
    return False


def apply_removal(items: list[str], removal: Removal) -> tuple[list[str], list[str]]:
    """Split a conversation-held list into (kept, removed); the input list is left unchanged."""
    kept: list[str] = []
    removed: list[str] = []
    for position, item in enumerate(items, start=1):
        target = removed if _matches(removal, position, len(items), item) else kept
        target.append(item)
    return kept, removed


@dataclass(frozen=True)
class QuestionView:
    """One item on the patient's list; `number` is its 1-based place among current items."""

    number: int
    id: int
    # The patient's own words: never in logs.
    text: str = field(repr=False)
    kind: str
    appointment_id: int | None


def _patient_id(session: Session, portal_id: str) -> int | None:
    return session.execute(
        select(Patient.id).where(Patient.portal_id == portal_id)
    ).scalar_one_or_none()


def _current(session: Session, patient_id: int) -> list[PatientQuestion]:
    return list(
        session.execute(
            select(PatientQuestion)
            .where(PatientQuestion.patient_id == patient_id, PatientQuestion.removed_at.is_(None))
            .order_by(PatientQuestion.created, PatientQuestion.id)
        ).scalars()
    )


def _views(rows: Sequence[PatientQuestion]) -> list[QuestionView]:
    return [
        QuestionView(n, row.id, row.text, row.kind, row.appointment_id)
        for n, row in enumerate(rows, start=1)
    ]


def add_question(
    session: Session,
    portal_id: str,
    text: str,
    kind: str = "question",
    appointment_id: int | None = None,
) -> QuestionView:
    """Add an item to the patient's list, linked to `appointment_id` (their next one, if any).

    Raises ValueError for empty text or an unknown kind, LookupError for an unknown patient
    or an appointment that is not theirs.
    """
    if kind not in QUESTION_KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(QUESTION_KINDS)}")
    cleaned = _clean(text or "")
    if not cleaned:
        raise ValueError("question text is empty")
    patient_id = _patient_id(session, portal_id)
    if patient_id is None:
        raise LookupError("no such patient")
    if appointment_id is not None:
        appt = session.get(Appointment, appointment_id)
        if appt is None or appt.patient_id != patient_id:
            raise LookupError("no such appointment for this patient")
    row = PatientQuestion(
        patient_id=patient_id,
        appointment_id=appointment_id,
        text=cleaned,
        kind=kind,
        created=clock.now(),
    )
    session.add(row)
    session.flush()
    return next(v for v in _views(_current(session, patient_id)) if v.id == row.id)


def list_questions(session: Session, portal_id: str) -> list[QuestionView]:
    """Return the patient's current (not removed) items, oldest first, numbered from 1."""
    patient_id = _patient_id(session, portal_id)
    if patient_id is None:
        return []
    return _views(_current(session, patient_id))


def remove_questions(session: Session, portal_id: str, removal: Removal) -> list[QuestionView]:
    """Soft-delete the items `removal` picks out and return them (empty if nothing matched)."""
    patient_id = _patient_id(session, portal_id)
    if patient_id is None or removal.is_empty:
        return []
    rows = _current(session, patient_id)
    views = _views(rows)
    when = clock.now()
    removed = []
    for row, view in zip(rows, views, strict=True):
        if _matches(removal, view.number, len(rows), row.text):
            row.removed_at = when
            removed.append(view)
    session.flush()
    return removed


def _appointment_line(appointment: AppointmentView) -> str:
    kind = appointment.kind if appointment.kind in _APPOINTMENT_KINDS else "other"
    return say(WORDING, f"export_appointment_{kind}", when=uk_datetime(appointment.start))


def _item_line(view: QuestionView) -> str:
    kind = view.kind if view.kind in ("symptom", "side_effect") else "question"
    # Stored text is already clean; re-clean in case rows came from elsewhere.
    return say(WORDING, f"export_item_{kind}", number=view.number, question=_clean(view.text))


def render_export(
    questions: Sequence[QuestionView], appointment: AppointmentView | None = None
) -> str:
    """Lay out a printable plain-text page of questions (pure; used by `export_questions`)."""
    heading = say(WORDING, "list_title")
    lines = [heading, "=" * len(heading), ""]
    if appointment is not None:
        lines += [_appointment_line(appointment), ""]
    if not questions:
        lines.append(say(WORDING, "export_empty"))
    lines += [_item_line(view) for view in questions]
    lines += ["", say(WORDING, "export_notes"), "", ""]
    return "\n".join(lines)


def export_questions(session: Session, portal_id: str, now: datetime | None = None) -> str:
    """Return the patient's list as a printable page, with their next appointment if any.

    Raises LookupError for an unknown patient.
    """
    if _patient_id(session, portal_id) is None:
        raise LookupError("no such patient")
    moment = to_utc(now) if now is not None else clock.now()
    appointment = next_appointment(session, portal_id, moment)
    return render_export(list_questions(session, portal_id), appointment)
