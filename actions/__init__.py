"""Rasa custom actions: thin adapters from trackers to the `bot` package."""

import sys

from bot.security.startup import action_server_interface, start_process


def _running_as_action_server(argv: list[str]) -> bool:
    """Whether this process is rasa_sdk's server (`python -m rasa_sdk` or `rasa run actions`)."""
    first = argv[0].replace("\\", "/") if argv else ""
    return "rasa_sdk" in first or argv[1:3] == ["run", "actions"]


if _running_as_action_server(sys.argv):
    # Before any action can run: clean the logs, refuse unsafe settings.
    start_process("action server", action_server_interface())
