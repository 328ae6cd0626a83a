"""Rasa's Redis lock store, except that a lock it can't release after a turn is not an error.

Rasa releases a conversation's ticket in a `finally` after the turn has been answered and
saved. If Redis went away meanwhile, the release raises, the channel answers 5xx, and the
client resends a turn that was in fact stored: the fault test counted such doubled messages
when Redis stopped. The ticket expires by itself (TICKET_LOCK_LIFETIME), so a failed release
is logged and the answer stands. Taking a ticket still fails loudly: then nothing was done.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.lock_store import RedisLockStore

logger = logging.getLogger(__name__)


class ResilientRedisLockStore(RedisLockStore):
    """`RedisLockStore` whose release after a finished turn can't fail the turn."""

    def __init__(self, endpoint_config: Any = None, **kwargs: Any) -> None:
        """Take the same settings as Rasa's `type: redis` (url, port, db, key_prefix, ...)."""
        if endpoint_config is not None:
            kwargs = {"host": endpoint_config.url, **endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Release the ticket; if Redis is unreachable, let it expire on its own."""
        try:
            super().cleanup(conversation_id, ticket_number)
        except Exception as exc:  # redis-py's errors; the turn itself has finished
            logger.warning("lock store: ticket left to expire (%s)", type(exc).__name__)
