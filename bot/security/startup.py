"""What every process does first: clean its logs, then refuse unsafe settings or wording."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

from bot.care.wording import WordingError, all_wording
from bot.config import Settings, UnsafeSettings, get_settings
from bot.security import redaction

log = logging.getLogger(__name__)

# Rasa's and rasa_sdk's own defaults when no interface is given: every interface.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104
# Loggers whose DEBUG output holds message texts or trackers.
DEBUG_LOGGERS = ("", "rasa", "rasa_sdk", "sanic", "socketio", "engineio")


def rasa_interface(argv: Sequence[str] | None = None) -> str:
    """The interface `rasa run` was asked to listen on (`--interface`/`-i`, else all)."""
    args = list(sys.argv if argv is None else argv)
    for i, arg in enumerate(args):
        if arg in ("--interface", "-i") and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--interface="):
            return arg.split("=", 1)[1]
    return ALL_INTERFACES


def action_server_interface() -> str:
    """The interface rasa_sdk listens on: SANIC_HOST, else all (rasa_sdk/endpoint.py)."""
    return os.environ.get("SANIC_HOST", ALL_INTERFACES)


def start_process(process: str, host: str | None) -> Settings:
    """Install log redaction, check the settings and the wording; exit with the reason if bad."""
    redaction.install()
    settings = get_settings()
    try:
        settings.check(host)
        # `rasa run --debug` or rasa_sdk's `-vv` set DEBUG without LOG_LEVEL.
        if not settings.development and any(
            logging.getLogger(name).isEnabledFor(logging.DEBUG) for name in DEBUG_LOGGERS
        ):
            raise UnsafeSettings("DEBUG logging logs message texts: allowed only in development")
    except UnsafeSettings as exc:
        print(f"{process}: refusing to start: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    try:
        # A broken wording file stops the process here, not in the middle of a conversation.
        all_wording()
    except (WordingError, OSError) as exc:
        print(f"{process}: refusing to start: patient wording: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    return settings
