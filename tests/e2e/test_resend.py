"""A message resent after its turn was saved, but before its reply was kept, is not stored twice.

This is the window the chaos test met once (docs/reliability.md): an instance killed after
saving the turn but before keeping the reply under the message id. Deleting the kept reply
from Redis leaves exactly what that instance leaves behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.config import Settings
from bot.identity.tokens import conversation_id, issue_token
from components.dedupe import SEEN_PREFIX, message_key
from tests.conftest import fresh_database_url
from tests.e2e.servers import Servers, start_servers

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture(scope="module")
def redis_client() -> Iterator[redis.StrictRedis]:
    client = redis.StrictRedis.from_url(REDIS_URL, socket_timeout=2)
    client.ping()  # Redis runs here and in CI (.ci/run): fail, never skip
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory, redis_client) -> Iterator[Servers]:
    workdir: Path = tmp_path_factory.mktemp("e2e-resend")
    with fresh_database_url("postgresql", workdir) as url:
        running = start_servers(workdir, url, redis_url=REDIS_URL)
        try:
            yield running
        finally:
            running.stop()


def send(servers: Servers, token: str, message: str, message_id: str) -> list[dict]:
    reply = servers.post(message, "phone", token, message_id=message_id)
    assert reply.status_code == 200, reply.text
    return reply.json()


@pytest.mark.parametrize(
    ("portal_id", "message"),
    [
        ("demo-video", "how often are my check ups?"),
        ("demo-telephone", "my temperature is 38.6 and I'm shivering"),
        ("demo-clinic", "when is my next appointment?"),
    ],
)
def test_a_resend_after_a_lost_reply_is_answered_from_the_stored_turn(
    servers: Servers, redis_client: redis.StrictRedis, portal_id: str, message: str
) -> None:
    settings = Settings(jwt_secret=servers.env["JWT_SECRET"])
    token = issue_token(portal_id, settings=settings)
    conversation = conversation_id(portal_id, "phone", settings=settings)
    first = send(servers, token, message, "m-1")
    assert first and servers.user_turns(conversation) == 1
    key = message_key(conversation, "m-1")
    assert redis_client.get(SEEN_PREFIX + key) is not None
    redis_client.delete(key)  # the reply was never kept: its instance died

    again = send(servers, token, message, "m-1")

    assert again == first
    assert servers.user_turns(conversation) == 1
    # A new message id is a new turn, answered afresh.
    send(servers, token, message, "m-2")
    assert servers.user_turns(conversation) == 2


def test_a_resend_whose_turn_was_never_saved_is_handled(
    servers: Servers, redis_client: redis.StrictRedis
) -> None:
    settings = Settings(jwt_secret=servers.env["JWT_SECRET"])
    token = issue_token("demo-nothing", settings=settings)
    conversation = conversation_id("demo-nothing", "phone", settings=settings)
    key = message_key(conversation, "m-1")
    # An attempt that started and died before Rasa saved anything.
    redis_client.set(SEEN_PREFIX + key, b"pending", px=60_000)

    reply = send(servers, token, "how often are my check ups?", "m-1")

    assert "every 3 months" in " ".join(m.get("text", "") for m in reply)
    assert servers.user_turns(conversation) == 1
