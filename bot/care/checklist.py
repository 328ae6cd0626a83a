"""The pre-call checklist for telephone and video appointments, as pure logic.

The state is a plain JSON-serialisable dict, so the assistant can keep it in a slot and
resume it later::

    {"kind": "telephone", "items": [...], "index": 0, "answers": {}, "appointment_id": 7}

Functions never mutate a state they are given; `answer` returns a new one. The wording
patients see lives in ``content/checklist.yml``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.config import PROJECT_ROOT

CHECKLIST_FILE = PROJECT_ROOT / "content" / "checklist.yml"

ITEMS = ("call_time", "number", "invite", "quiet", "support", "questions", "face_to_face")
KINDS = ("telephone", "video")
REPLIES = ("done", "not_yet")
# Items that only make sense for one kind of call.
_ONLY_FOR = {"number": "telephone", "invite": "video"}
_REQUIRED_FIELDS = ("prompt", "help", "label", "source_section")
_VARIANTS = {
    "number": ("prompt_with_number", "{masked_number}"),
    "invite": ("prompt_with_link", "{video_link}"),
}


_VIDEO = re.compile(
    r"\b(video|zoom|teams|facetime|face time|webcam|camera|attend anywhere)\b", re.I
)
_FACE_TO_FACE = re.compile(
    r"\b(face[\s-]*to[\s-]*face|f2f|in[\s-]person|in clinic|at clinic)\b", re.I
)
_TELEPHONE = re.compile(r"\b(tele?phone|phone|fone|call|ring)\b", re.I)


def kind_from_text(text: str) -> str | None:
    """The appointment kind a message names: 'video', 'face_to_face', 'telephone' or None.

    Video wins over phone ("a video call on my phone"); a plain "call" means telephone.
    """
    if _VIDEO.search(text):
        return "video"
    if _FACE_TO_FACE.search(text):
        return "face_to_face"
    if _TELEPHONE.search(text):
        return "telephone"
    return None


def items_for(kind: str) -> list[str]:
    """Return the item keys, in order, for a "telephone" or "video" appointment."""
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    return [item for item in ITEMS if _ONLY_FOR.get(item, kind) == kind]


def new_state(kind: str, appointment_id: int | None) -> dict[str, Any]:
    """Return a fresh checklist state for `kind`, optionally tied to an appointment."""
    return {
        "kind": kind,
        "items": items_for(kind),
        "index": 0,
        "answers": {},
        "appointment_id": appointment_id,
    }


def current_item(state: dict[str, Any]) -> str | None:
    """Return the item being asked, or None once every item has an answer."""
    items = state["items"]
    index = state["index"]
    return items[index] if 0 <= index < len(items) else None


def is_finished(state: dict[str, Any]) -> bool:
    """True once the patient has answered the last item."""
    return current_item(state) is None


def answer(state: dict[str, Any], reply: str) -> dict[str, Any]:
    """Record "done" or "not_yet" for the current item and move on, returning a new state."""
    if reply not in REPLIES:
        raise ValueError(f"reply {reply!r} is not one of {', '.join(REPLIES)}")
    item = current_item(state)
    if item is None:
        raise ValueError("the checklist is already finished")
    return {
        **state,
        "items": list(state["items"]),
        "index": state["index"] + 1,
        "answers": {**state["answers"], item: reply},
    }


def remaining(state: dict[str, Any]) -> list[str]:
    """Return the items, in order, not yet answered "done" (skipped or still to come)."""
    answers = state["answers"]
    return [item for item in state["items"] if answers.get(item) != "done"]


def _validate(content: dict[str, Any]) -> None:
    for item in ITEMS:
        entry = content.get(item)
        if not isinstance(entry, dict):
            raise ValueError(f"checklist content has no entry for {item!r}")
        for name in _REQUIRED_FIELDS:
            if not isinstance(entry.get(name), str) or not entry[name].strip():
                raise ValueError(f"checklist item {item!r} has no {name!r}")
        if item in _VARIANTS:
            name, placeholder = _VARIANTS[item]
            if placeholder not in str(entry.get(name, "")):
                raise ValueError(f"checklist item {item!r}: {name!r} must contain {placeholder}")
    summary = content.get("summary")
    if not isinstance(summary, dict) or not {"all_done", "still_to_do"} <= summary.keys():
        raise ValueError("checklist content needs summary.all_done and summary.still_to_do")


def parse_checklist_content(raw: Any) -> dict[str, Any]:
    """Check parsed checklist YAML has every item's wording, and return it."""
    if not isinstance(raw, dict):
        raise ValueError("checklist content must be a mapping of item keys")
    _validate(raw)
    return raw


@lru_cache(maxsize=1)
def load_checklist_content(path: Path = CHECKLIST_FILE) -> dict[str, Any]:
    """Load the checklist wording once per process: {item: {prompt, help, label, ...}, summary}.

    The result is shared between callers, so treat it as read-only.
    """
    with open(path, encoding="utf-8") as handle:
        return parse_checklist_content(yaml.safe_load(handle))


def _entry(item: str) -> dict[str, Any]:
    if item not in ITEMS:
        raise KeyError(f"unknown checklist item {item!r}")
    return load_checklist_content()[item]


def prompt_for(item: str, masked_number: str | None = None, video_link: str | None = None) -> str:
    """Return the question for `item`, naming the masked number or video link when known."""
    entry = _entry(item)
    if item == "number" and masked_number:
        return entry["prompt_with_number"].strip().format(masked_number=masked_number)
    if item == "invite" and video_link:
        return entry["prompt_with_link"].strip().format(video_link=video_link)
    return entry["prompt"].strip()


def help_for(item: str) -> str:
    """Return the practical help text for `item`."""
    return _entry(item)["help"].strip()


def label_for(item: str) -> str:
    """Return the short label for `item`, as used in the summary."""
    return _entry(item)["label"].strip()


def summary(state: dict[str, Any]) -> str:
    """Return a warm wrap-up: an encouraging line if all done, else what is still to do."""
    wording = load_checklist_content()["summary"]
    left = remaining(state)
    if not left:
        return wording["all_done"].strip()
    bullets = "\n".join(f"• {label_for(item)}" for item in left)
    return f"{wording['still_to_do'].strip()}\n{bullets}"
