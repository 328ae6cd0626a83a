"""'Did you mean ...?': the closest topics as buttons when the assistant is unsure."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.care.appointments import Reply
from bot.config import PROJECT_ROOT

TOPICS_FILE = PROJECT_ROOT / "content" / "topics.yml"
LIMIT = 3


@lru_cache(maxsize=1)
def load_topics(path: Path = TOPICS_FILE) -> dict[str, Any]:
    """The button titles and the two sentences around them."""
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    for key in ("did_you_mean", "none_of_these", "titles"):
        if not data.get(key):
            raise ValueError(f"{path} has no {key}")
    return data


def did_you_mean(ranking: Iterable[dict[str, Any]], limit: int = LIMIT) -> Reply:
    """Up to `limit` of the best-ranked topics that have a title; none: just the signposting."""
    topics = load_topics()
    titles = topics["titles"]
    picked = []
    for entry in ranking:
        name = entry.get("name")
        if name in titles and name not in picked:
            picked.append(name)
        if len(picked) == limit:
            break
    if not picked:
        return Reply(topics["none_of_these"].strip())
    buttons = tuple((titles[name], f"/{name}") for name in picked)
    return Reply(f"{topics['did_you_mean']}\n{topics['none_of_these'].strip()}", buttons)
