"""Short replies for a bare "yes" or "no" outside a checklist (content/smalltalk.yml)."""

from __future__ import annotations

from bot.care.appointments import Reply
from bot.care.wording import buttons, say


def what_next() -> Reply:
    """After a bare "yes": what would you like to know, with a few topics."""
    return Reply(say("smalltalk", "what_next"), buttons("smalltalk", "what_next"))


def no_problem() -> Reply:
    """After a bare "no"."""
    return Reply(say("smalltalk", "no_problem"))
