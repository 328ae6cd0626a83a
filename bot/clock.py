"""The current time, in one place so tests can fix it."""

from __future__ import annotations

from datetime import datetime, timezone


def now() -> datetime:
    """The current moment as an aware UTC datetime."""
    return datetime.now(timezone.utc)
