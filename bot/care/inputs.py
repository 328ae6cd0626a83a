"""Checks on what a patient typed, before it reaches the assistant, with kind replies."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

# The classifier reads this much; the safety screen reads the whole message.
MAX_CHARS = 2000
# Beyond this a message is refused whole (nothing is cut off unscreened).
HARD_MAX_CHARS = 50_000

EMPTY_REPLY = (
    "I didn't catch a message there. What would you like to ask about your follow-up? "
    "You can type a question or tap one of the suggestions."
)
LONG_NOTICE = (
    "That's a long message, so I've read the first {limit} characters. If I've missed "
    "something, please send the rest as a separate message."
)
NOT_TEXT_REPLY = "Sorry, I can only read typed text. What would you like to ask?"
TOO_LONG_REPLY = (
    "That message is too long for me to read. Please send it in shorter parts. If you're "
    "worried about a symptom, don't wait: call the 24-hour number your hospital team gave "
    "you, or 999 in an emergency."
)


@dataclass(frozen=True)
class CheckedInput:
    """What to pass on to the assistant, and anything to tell the patient first."""

    text: str | None
    notice: str | None


def check_message(raw: object) -> CheckedInput:
    """Decide what to do with a raw message field: pass it on, trim it, or answer kindly."""
    if not isinstance(raw, str):
        return CheckedInput(None, EMPTY_REPLY if raw is None else NOT_TEXT_REPLY)
    # NULs and lone surrogates (invalid UTF-16 halves a JSON "\\ud800" can carry) are dropped:
    # neither is text, and surrogates crash the tokenizer.
    text = "".join(ch for ch in raw if ch != "\x00" and not 0xD800 <= ord(ch) <= 0xDFFF).strip()
    if not text:
        return CheckedInput(None, EMPTY_REPLY)
    if len(text) > HARD_MAX_CHARS:
        return CheckedInput(None, TOO_LONG_REPLY)
    if len(text) > MAX_CHARS:
        # Passed on whole: the safety screen reads all of it before anything is trimmed; the
        # intent classifier reads the first MAX_CHARS (components/intents.py).
        return CheckedInput(text, LONG_NOTICE.format(limit=f"{MAX_CHARS:,}"))
    return CheckedInput(text, None)


# The widget opens every conversation with this payload, before any button has been shown.
OPENING_PAYLOADS = frozenset({"/greet"})


def gate_payload(text: str, offered: Collection[str]) -> str:
    """Keep a "/" payload only if the conversation offered it as a button; else read it as text.

    Rasa turns "/intent{...}" into an intent after the classifier and the safety screen have
    run, so an unoffered payload could carry words past both. Without its slash, the message is
    read like anything typed: classified and screened.
    """
    if not text.startswith("/") or text in OPENING_PAYLOADS or text in offered:
        return text
    return text.lstrip("/").strip() or text
