"""The Redis lock store: a failed release after a turn is logged, a failed ticket is an error."""

from __future__ import annotations

import pytest
from rasa.core.lock_store import LockError
from rasa.utils.endpoints import EndpointConfig

from components.lock_store import ResilientRedisLockStore
from tests.e2e.servers import free_port


def test_built_from_endpoints_like_rasas_redis_store() -> None:
    config = EndpointConfig(url="127.0.0.1", port=6379, db=14, key_prefix="t", type="x")
    store = ResilientRedisLockStore(endpoint_config=config)
    assert store.red.connection_pool.connection_kwargs["db"] == 14
    ticket = store.issue_ticket("conversation-1")
    store.cleanup("conversation-1", ticket)
    assert store.get_lock("conversation-1") is None


def test_release_against_a_gone_redis_does_not_raise() -> None:
    store = ResilientRedisLockStore(host="127.0.0.1", port=free_port(), socket_timeout=1)
    store.cleanup("conversation-1", 0)  # nothing raised: the ticket expires by itself


def test_taking_a_ticket_against_a_gone_redis_fails() -> None:
    store = ResilientRedisLockStore(host="127.0.0.1", port=free_port(), socket_timeout=1)
    with pytest.raises(LockError):
        store.issue_ticket("conversation-1")
