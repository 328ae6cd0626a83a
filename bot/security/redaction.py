"""Keep patients' words, names, numbers and tokens out of every log line, whoever logs it.

Our own modules log categories only, but Rasa, rasa_sdk, Sanic and friends log request
bodies, trackers and message texts when something fails ("/" messages that don't parse, an
action that raises, DEBUG). `install()` wraps the logging record factory, so every record
from every logger in the process is cleaned when it is made, before any handler or formatter
sees it; `RedactionFilter` does the same as a filter and is what logging.yml names, so
configuring logging from that file also installs the factory.

What is removed, from every record:
- tokens (JWTs, ``Bearer ...``), identity claims and anonymous session ids;
- quoted strings (message texts and slot values appear quoted in reprs and JSON), except
  action and response names;
- runs of 4+ digits and decimals (phone numbers, temperatures, portal numbers);
- from other libraries' records, everything from the first ``{`` or ``[`` (dumped trackers,
  request bodies, dicts);
- exception messages: a traceback keeps its frames (code locations) but not the message.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

PROJECT_LOGGERS = ("bot", "components", "actions", "scripts")
MAX_MESSAGE_CHARS = 600
REDACTED = "[redacted]"

_TOKEN_PATTERNS = [
    re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*"),  # a JWT (header always starts eyJ)
    re.compile(r"(?i)\bbearer\s+\S+"),
    re.compile(r"\bc1\.[\w-]+\.[\w-]+"),  # identity claims (bot/identity/claims.py)
    re.compile(r"\banon\.[\w-]+\.[\w-]+"),  # anonymous session ids (bot/identity/tokens.py)
    re.compile(r"(?i)(token|secret|password|authorization)\s*[=:]\s*\S+"),
    re.compile(r"\?[^\s'\"]+"),  # query strings
]
_QUOTED = re.compile(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"")
_KEEP_QUOTED = re.compile(
    r"^['\"](?:(?:action|utter|validate)_[a-z0-9_]{1,80}|[\w/.\-]{1,300}\.py)['\"]$"
)
_NUMBER = re.compile(r"\d+[.,]\d+|\d(?:[\d \-]{2,}\d)")
_MARK = "_all_redacted"


def _own(name: str) -> bool:
    return name.split(".")[0] in PROJECT_LOGGERS


def redact_text(text: str, *, strict: bool = True) -> str:
    """Return `text` without tokens, quoted strings and numbers; `strict` also cuts dumps."""
    if strict:
        cut = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
        if cut >= 0:
            text = text[:cut].rstrip() + " " + REDACTED
    for pattern in _TOKEN_PATTERNS:
        text = pattern.sub(REDACTED, text)
    text = _QUOTED.sub(lambda m: m.group(0) if _KEEP_QUOTED.match(m.group(0)) else REDACTED, text)
    text = _NUMBER.sub("[n]", text)
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[:MAX_MESSAGE_CHARS] + "... " + REDACTED
    return text


def _traceback_without_messages(exc_info: Any) -> str:
    """The frames of an exception (code locations only) and the types in its chain."""
    _, exc, tb = exc_info
    frames = "".join(traceback.format_list(traceback.extract_tb(tb or exc.__traceback__)))
    frames = redact_text(frames, strict=False)
    names: list[str] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        names.append(type(exc).__qualname__)
        exc = exc.__cause__ or exc.__context__
    causes = f" (after {', '.join(names[1:])})" if names[1:] else ""
    return f"Traceback (most recent call last):\n{frames}{names[0]}: {REDACTED}{causes}"


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Clean `record` in place (once) and return it."""
    if getattr(record, _MARK, False):
        return record
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: keep the template only
        message = str(record.msg)
    message = redact_text(message, strict=not _own(record.name))
    if record.exc_info and record.exc_info[0] is not None:
        message += "\n" + _traceback_without_messages(record.exc_info)
    elif record.exc_text:
        message += "\n" + redact_text(record.exc_text)
    record.msg, record.args = message, ()
    record.exc_info, record.exc_text = None, None
    setattr(record, _MARK, True)
    return record


class RedactionFilter(logging.Filter):
    """A logging filter that cleans each record; constructing one installs the factory too."""

    def __init__(self, name: str = "") -> None:
        """Install the process-wide record factory (logging.yml builds one of these)."""
        super().__init__(name)
        install()

    def filter(self, record: logging.LogRecord) -> bool:
        """Clean the record and let it through."""
        redact_record(record)
        return True


def install() -> None:
    """Clean every log record this process makes from now on (idempotent)."""
    current = logging.getLogRecordFactory()
    if getattr(current, _MARK, False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(current(*args, **kwargs))

    setattr(factory, _MARK, True)
    logging.setLogRecordFactory(factory)
    # Python warnings (Rasa raises many) then go through logging, and so through the factory.
    logging.captureWarnings(True)
