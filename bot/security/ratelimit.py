"""Per-address and per-patient message rate limits, with the `limits` library.

`limits` (moving-window strategy) does the counting; its storage is RATE_LIMIT_STORAGE
(``memory://`` by default: per process; a ``redis://`` URI shares the counts between
servers). Version 2.3.3 is pinned because later ones need packaging>=21 and Rasa 3.6 pins
packaging<21.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from bot.config import Settings, get_settings

RETRY_AFTER_SECONDS = 30


class MessageLimits:
    """Counts messages per client address and per verified patient."""

    def __init__(self, settings: Settings) -> None:
        """Read the rates and the counter storage from `settings`."""
        self.per_ip = parse(settings.rate_limit_per_ip)
        self.per_patient = parse(settings.rate_limit_per_patient)
        # The strategy holds its storage by weak reference only: keep it alive here.
        self.storage = storage_from_string(settings.rate_limit_storage)
        self.limiter = MovingWindowRateLimiter(self.storage)

    def allow(self, address: str | None, patient: str | None) -> bool:
        """Count one message; False if the address or the patient is over their rate."""
        if not self.limiter.hit(self.per_ip, "ip", address or "unknown"):
            return False
        if patient is None:
            return True
        # Counters may live in a shared store: keep portal ids out of it.
        key = hashlib.sha256(patient.encode("utf-8")).hexdigest()[:32]
        return self.limiter.hit(self.per_patient, "patient", key)


@lru_cache(maxsize=1)
def message_limits() -> MessageLimits:
    """The process-wide limits (both channels share them)."""
    return MessageLimits(get_settings())
