"""Service figures for the care team, from the conversation store and the request tables.

Counts only, per ISO week (Monday, UK date): no patient names or ids. The one free text,
what the assistant could not answer, is masked first: digits, email addresses and any
name on the patients table become placeholders, so it can be read to improve the content.
Conversations are Rasa's ``events`` table in the same database (components/tracker_store.py);
before Rasa has run it does not exist, and the conversation figures are empty.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import column, inspect, select, table
from sqlalchemy.orm import Session

from bot.care.timefmt import UK
from bot.storage.models import CallbackRequest, FaceToFaceRequest, NumberCorrection, Patient

FALLBACK_INTENTS = ("nlu_fallback", "out_of_scope")
SAFETY_TIERS = ("urgent_symptom", "crisis")
REQUEST_KINDS = {
    "face_to_face": FaceToFaceRequest,
    "number_correction": NumberCorrection,
    "callback": CallbackRequest,
}
_EVENTS = table(
    "events",
    column("sender_id"),
    column("type_name"),
    column("timestamp"),
    column("intent_name"),
    column("action_name"),
    column("data"),
)
_EMAIL = re.compile(r"\S+@\S+")
_DIGITS = re.compile(r"\+?\d[\d\s\-()]*\d|\d")


@dataclass
class Figures:
    """Everything on the figures page for one date range."""

    start: date
    end: date
    questions: Counter = field(default_factory=Counter)  # (week, intent) -> count
    safety: Counter = field(default_factory=Counter)  # (week, tier) -> count
    unanswered: list[tuple[date, str]] = field(default_factory=list)  # (day, masked text)
    checklists_started: int = 0
    checklists_completed: int = 0
    requests: dict[str, dict[str, float | int | None]] = field(default_factory=dict)

    @property
    def weeks(self) -> list[date]:
        """Every week (its Monday) in the range."""
        first = week_of(self.start)
        return [
            first + timedelta(weeks=i) for i in range((week_of(self.end) - first).days // 7 + 1)
        ]

    def rows(self) -> list[tuple[str, str, str, str]]:
        """The figures as (section, week or day, what, value) rows, for CSV."""
        out: list[tuple[str, str, str, str]] = []
        for (week, intent), n in sorted(self.questions.items()):
            out.append(("questions per topic", week.isoformat(), intent, str(n)))
        for (week, tier), n in sorted(self.safety.items()):
            out.append(("safety answers", week.isoformat(), tier, str(n)))
        for day, text in self.unanswered:
            out.append(("could not answer", day.isoformat(), text, "1"))
        out.append(("checklists", "", "started", str(self.checklists_started)))
        out.append(("checklists", "", "completed", str(self.checklists_completed)))
        for kind, numbers in self.requests.items():
            for key, value in numbers.items():
                out.append(("requests", "", f"{kind} {key}", "" if value is None else str(value)))
        return out


def week_of(day: date) -> date:
    """The Monday of `day`'s ISO week."""
    return day - timedelta(days=day.weekday())


def _uk_day(moment: datetime | float) -> date:
    if isinstance(moment, int | float):
        moment = datetime.fromtimestamp(moment, tz=timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(UK).date()


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """UTC instants from the start of `start` to the end of `end`, UK days."""
    first = datetime.combine(start, time.min, tzinfo=UK).astimezone(timezone.utc)
    last = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UK).astimezone(timezone.utc)
    return first, last


def mask(text: str, names: set[str]) -> str:
    """Replace numbers, email addresses and known names in a message with placeholders."""
    masked = _EMAIL.sub("[email]", text or "")
    masked = _DIGITS.sub("[number]", masked)
    for name in sorted(names, key=len, reverse=True):
        masked = re.sub(rf"\b{re.escape(name)}\b", "[name]", masked, flags=re.IGNORECASE)
    return " ".join(masked.split())[:300]


def _names(session: Session) -> set[str]:
    names: set[str] = set()
    for given, family, nurse in session.execute(
        select(Patient.given_name, Patient.family_name, Patient.nurse_name)
    ):
        for value in (given, family, nurse):
            names.update(part for part in (value or "").split() if len(part) > 1)
    return names


def _conversation_figures(
    session: Session, figures: Figures, first: datetime, last: datetime
) -> None:
    if not inspect(session.connection()).has_table("events"):
        return
    rows = session.execute(
        select(
            _EVENTS.c.sender_id,
            _EVENTS.c.type_name,
            _EVENTS.c.timestamp,
            _EVENTS.c.intent_name,
            _EVENTS.c.data,
        )
        .where(
            _EVENTS.c.type_name.in_(("user", "slot")),
            _EVENTS.c.timestamp >= first.timestamp(),
            _EVENTS.c.timestamp < last.timestamp(),
        )
        .order_by(_EVENTS.c.timestamp)
    ).all()
    names = _names(session) if rows else set()
    # The checklist slot holds the state while one is going, and is cleared when it ends
    # (actions/checklist.py): a clear straight after the last item's question is a completion.
    active: dict[str, dict] = {}
    for sender, type_name, stamp, intent, data in rows:
        day = _uk_day(stamp)
        if type_name == "slot":
            event = json.loads(data or "{}")
            if event.get("name") != "checklist":
                continue
            state = event.get("value")
            if isinstance(state, dict) and state.get("items"):
                if sender not in active:
                    figures.checklists_started += 1
                active[sender] = state
            elif state is None and sender in active:
                last = active.pop(sender)
                if last.get("index", 0) >= len(last["items"]) - 1:
                    figures.checklists_completed += 1
            continue
        if not intent:
            continue
        week = week_of(day)
        if intent in SAFETY_TIERS:
            figures.safety[(week, intent)] += 1
        elif intent in FALLBACK_INTENTS:
            text = json.loads(data or "{}").get("text") or ""
            figures.unanswered.append((day, mask(text, names)))
        else:
            figures.questions[(week, intent)] += 1


def _request_figures(session: Session, figures: Figures, first: datetime, last: datetime) -> None:
    for kind, model in REQUEST_KINDS.items():
        opened = session.execute(
            select(model.id).where(model.created >= first, model.created < last)
        ).all()
        closed = session.execute(
            select(model.created, model.done_at).where(
                model.done_at.is_not(None), model.done_at >= first, model.done_at < last
            )
        ).all()
        hours = [(done - created).total_seconds() / 3600 for created, done in closed]
        figures.requests[kind] = {
            "opened": len(opened),
            "closed": len(closed),
            "median hours to close": round(statistics.median(hours), 1) if hours else None,
        }


def service_figures(session: Session, start: date, end: date) -> Figures:
    """The figures for UK days `start` to `end` inclusive."""
    if end < start:
        raise ValueError("the end date is before the start date")
    figures = Figures(start, end)
    first, last = _bounds(start, end)
    _conversation_figures(session, figures, first, last)
    _request_figures(session, figures, first, last)
    return figures
