"""Where to send a patient who needs a person: the safety answers, by tier.

The words live in content/safety_replies.yml; this module fills in the patient's own
24-hour line and team when they are signed in.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from bot.care.wording import say
from bot.config import PROJECT_ROOT

REPLIES_FILE = PROJECT_ROOT / "content" / "safety_replies.yml"
# The parts that fill in the replies are entries of the same file (bot/care/wording.py).
WORDING = "safety_replies"
TIERS = ("act_now", "team_soon", "info", "crisis")


@lru_cache(maxsize=1)
def load_replies(path: Path = REPLIES_FILE) -> dict[str, str]:
    """The reply templates, checked for every tier."""
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    replies = data.get("replies") or {}
    missing = [t for t in (*TIERS, "carry_on") if not replies.get(t)]
    if missing:
        raise ValueError(f"{path} has no reply for {', '.join(missing)}")
    # YAML folds a paragraph into one line and keeps a blank line as "\n"; the channels send
    # each "\n\n"-separated paragraph as its own bubble, so the first is the advice itself.
    return {k: v.strip().replace("\n", "\n\n") for k, v in replies.items()}


def call_phrase(advice_line: str | None = None, hospital: str | None = None) -> str:
    """ "call <the patient's own 24-hour line>", or the generic line when it isn't known."""
    if not advice_line:
        return say(WORDING, "call_generic")
    if hospital:
        return say(WORDING, "call_hospital_line", hospital=hospital, line=advice_line)
    return say(WORDING, "call_line", line=advice_line)


def _team(nurse_name: str | None) -> str:
    if nurse_name:
        return say(WORDING, "team_nurse", name=nurse_name)
    return say(WORDING, "team_generic")


def safety_message(
    tier: str,
    advice_line: str | None = None,
    hospital: str | None = None,
    nurse_name: str | None = None,
    someone_else: bool = False,
) -> str:
    """The answer for a tier, with the patient's own line and team when we know them."""
    template = load_replies()[tier if tier in TIERS else "act_now"]
    who = say(WORDING, "who_someone_else" if someone_else else "who")
    return (
        template.format(who=who, call=call_phrase(advice_line, hospital), team=_team(nurse_name))
        .replace(", ,", ",")
        .replace(",.", ".")
    )


def carry_on_prompt() -> str:
    """The line after a safety answer, offering to carry on."""
    return load_replies()["carry_on"]


def also_message(tier: str, advice_line: str | None = None, hospital: str | None = None) -> str:
    """The key line of the other urgent answer ("act_now" or "crisis"), sent second."""
    template = load_replies()["also_crisis" if tier == "crisis" else "also_act_now"]
    return template.format(call=call_phrase(advice_line, hospital))
