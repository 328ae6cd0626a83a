"""A message id is answered once, in one process (memory) and across instances (Redis)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator

import pytest
import redis
from sanic import response
from sanic.response import HTTPResponse

from components import dedupe
from components.dedupe import MemoryStore, RedisStore, answer_once, message_key
from tests.e2e.servers import free_port

REDIS_URL = "redis://127.0.0.1:6379/15"


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[dedupe.Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    client = redis.StrictRedis.from_url(REDIS_URL, socket_timeout=2)
    client.ping()  # Redis runs here and in CI (.ci/run): fail, never skip
    yield RedisStore(client)
    for key in client.scan_iter(f"{dedupe.KEY_PREFIX}*"):
        client.delete(key)


def counting_handler(replies: list[str], delay: float = 0.0, status: int = 200):
    calls = {"n": 0}

    async def handle() -> HTTPResponse:
        calls["n"] += 1
        await asyncio.sleep(delay)
        return response.json([{"text": replies[calls["n"] - 1]}], status=status)

    return handle, calls


def key() -> str:
    return message_key(f"conv-{uuid.uuid4().hex}", "m1")


async def test_a_repeat_gets_the_first_reply_without_being_handled(store) -> None:
    handle, calls = counting_handler(["first", "second"])
    k = key()
    first = await answer_once(store, k, handle)
    again = await answer_once(store, k, handle)
    assert calls["n"] == 1
    assert json.loads(again.body) == json.loads(first.body) == [{"text": "first"}]
    assert again.headers.get("X-Repeat") == "1"


async def test_a_repeat_during_the_first_waits_for_its_reply(store) -> None:
    handle, calls = counting_handler(["first", "second"], delay=0.5)
    k = key()
    first, again = await asyncio.gather(
        answer_once(store, k, handle), answer_once(store, k, handle)
    )
    assert calls["n"] == 1
    assert json.loads(first.body) == json.loads(again.body) == [{"text": "first"}]


async def test_a_failed_answer_can_be_retried(store) -> None:
    handle, calls = counting_handler(["oops", "fine"], status=500)
    k = key()
    assert (await answer_once(store, k, handle)).status == 500
    handle2, calls2 = counting_handler(["fine"])
    assert json.loads((await answer_once(store, k, handle2)).body) == [{"text": "fine"}]
    assert calls["n"] == calls2["n"] == 1


async def test_a_dead_owners_claim_lapses(store, monkeypatch) -> None:
    monkeypatch.setattr(dedupe, "CLAIM_SECONDS", 0.3)
    k = key()
    assert store.claim(k, 0.3)  # an instance that then died: no heartbeat, no reply
    handle, calls = counting_handler(["answered elsewhere"])
    reply = await answer_once(store, k, handle)
    assert calls["n"] == 1 and json.loads(reply.body) == [{"text": "answered elsewhere"}]


async def test_a_long_answer_keeps_its_claim(store, monkeypatch) -> None:
    monkeypatch.setattr(dedupe, "CLAIM_SECONDS", 0.3)
    handle, calls = counting_handler(["slow", "double"], delay=1.0)
    k = key()

    async def later_repeat() -> HTTPResponse:
        await asyncio.sleep(0.6)  # past the claim's first lifetime: the heartbeat renewed it
        return await answer_once(store, k, handle)

    _, again = await asyncio.gather(answer_once(store, k, handle), later_repeat())
    assert calls["n"] == 1
    assert json.loads(again.body) == [{"text": "slow"}]


async def test_unreachable_redis_refuses_with_503_and_retry_after() -> None:
    client = redis.StrictRedis(port=free_port(), socket_timeout=1, socket_connect_timeout=1)
    handle, calls = counting_handler(["never"])
    reply = await answer_once(RedisStore(client), key(), handle)
    assert reply.status == 503 and reply.headers["Retry-After"] == "2"
    assert "999" in json.loads(reply.body)[0]["text"]
    assert calls["n"] == 0


def test_keys_reveal_neither_conversation_nor_id() -> None:
    k = message_key("p-abc123", "message-42")
    assert "abc123" not in k and "message-42" not in k and k.startswith(dedupe.KEY_PREFIX)


def resend_recording_handler(seen: list[bool], status: int = 200):
    async def handle() -> HTTPResponse:
        seen.append(dedupe.RESEND.get())
        return response.json([{"text": "ok"}], status=status)

    return handle


async def test_only_a_copy_an_earlier_attempt_started_is_marked_as_a_resend(store) -> None:
    seen: list[bool] = []
    k = key()
    await answer_once(store, k, resend_recording_handler(seen, status=500))
    await answer_once(store, k, resend_recording_handler(seen))
    await answer_once(store, key(), resend_recording_handler(seen))
    assert seen == [False, True, False]
    assert dedupe.RESEND.get() is False


async def test_a_lapsed_claims_retry_is_marked_as_a_resend(store, monkeypatch) -> None:
    monkeypatch.setattr(dedupe, "CLAIM_SECONDS", 0.3)
    seen: list[bool] = []
    k = key()
    assert store.claim(k, 0.3) and store.claim(dedupe.SEEN_PREFIX + k, 60)  # died mid-turn
    await answer_once(store, k, resend_recording_handler(seen))
    assert seen == [True]


def test_every_copy_of_a_message_gets_one_turn_id() -> None:
    assert dedupe.turn_id("c1", "m1") == dedupe.turn_id("c1", "m1")
    assert (
        len({dedupe.turn_id("c1", "m1"), dedupe.turn_id("c2", "m1"), dedupe.turn_id("c1", "m2")})
        == 3
    )
    assert "c1" not in dedupe.turn_id("c1", "m1")


def stored_tracker(turn: str, timestamp: float | None = None):
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    buttons = [{"title": "Yes", "payload": "/affirm"}]
    return DialogueStateTracker.from_events(
        "c1",
        [
            UserUttered("hello", message_id="older"),
            BotUttered("Hi there."),
            UserUttered("a question", message_id=turn, timestamp=timestamp),
            ActionExecuted("action_answer"),
            BotUttered("First part.\n\nSecond part."),
            BotUttered("Shall I?", data={"buttons": buttons, "image": None}),
            UserUttered("next", message_id="newer"),
            BotUttered("Not this one."),
        ],
    )


class OneTracker:
    def __init__(self, tracker) -> None:
        self.tracker = tracker

    async def retrieve(self, sender_id: str):
        return self.tracker if sender_id == "c1" else None


async def test_a_stored_turns_replies_come_back_as_rasa_sent_them() -> None:
    store = OneTracker(stored_tracker("t1"))
    replies = await dedupe.replies_already_given(store, "c1", "t1", "r")
    assert replies == [
        {"recipient_id": "r", "text": "First part."},
        {"recipient_id": "r", "text": "Second part."},
        {
            "recipient_id": "r",
            "text": "Shall I?",
            "buttons": [{"title": "Yes", "payload": "/affirm"}],
        },
    ]


async def test_an_unknown_old_or_missing_turn_is_not_replayed() -> None:
    store = OneTracker(stored_tracker("t1"))
    assert await dedupe.replies_already_given(store, "c1", "t2", "r") is None
    assert await dedupe.replies_already_given(store, "other", "t1", "r") is None
    old = OneTracker(stored_tracker("t1", timestamp=1_000_000.0))
    assert await dedupe.replies_already_given(old, "c1", "t1", "r") is None
