"""Answer a retried client message once: a repeat of a message id gets the first reply back.

A client (or the load balancer, when an instance dies mid-request) may send the same message
again. With a `message_id` in the REST body, the first request *claims* the id, is answered,
and its reply is kept for `MESSAGE_ID_TTL_SECONDS`; a repeat returns that reply without
reaching Rasa, and a repeat that arrives while the first is still being answered waits for it.

Where ids are kept follows Rasa's lock store (endpoints.yml): with the `RedisLockStore` of
`make cluster`, in that Redis, shared by every instance; with the in-memory lock store of
`make run`, in the process. A claim is held by a heartbeat, so if the instance answering it
dies the claim lapses within `CLAIM_SECONDS` (3 s) and a retry is answered elsewhere.

Every turn, with an id or not, is answered 503 if its conversation could not be read or saved
(components/tracker_store.py), so the client sends it again instead of losing it.

A copy that is handled again (its first attempt failed, or the instance answering it died)
is marked by `RESEND`. Every copy of one client message reaches Rasa under the same
`turn_id`, so the handler can look for that turn in the stored conversation first and answer
with the replies kept there (`replies_already_given`): an instance killed after saving the turn
but before keeping its reply here would otherwise have the turn stored twice.

When Redis is unreachable a message with an id is refused with 503 and `Retry-After`, never
answered unguarded: the same Redis holds Rasa's conversation locks, so it could not be
answered safely anyway, and the client retries with the same id. Keys hold only a hash of
(conversation, message id); replies are stored as Rasa produced them, with the TTL.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, Protocol

from rasa.core.channels.channel import CollectingOutputChannel
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.care.wording import say
from bot.config import get_settings
from components.tracker_store import STORE_FAILED

logger = logging.getLogger(__name__)

MAX_MESSAGE_ID_LENGTH = 64
# A claim lives this long without a heartbeat; the heartbeat renews it at a third of that.
CLAIM_SECONDS = 3.0
# How long a repeat waits for the first copy's reply before answering 503.
WAIT_SECONDS = 25.0
POLL_SECONDS = 0.05
PENDING = b"pending"
KEY_PREFIX = "all-followup:message:"
# Marks an id some attempt has started, for as long as its reply is kept.
SEEN_PREFIX = KEY_PREFIX + "seen:"
RETRY_AFTER_SECONDS = "2"
# For the client's developers, not patients (the widget never sends a bad id).
BAD_ID_REPLY = "'message_id' must be a text of 1 to 64 characters."


# True while handling a copy of a message id that an earlier attempt had started.
RESEND: ContextVar[bool] = ContextVar("resend", default=False)


class StoreUnavailable(Exception):
    """The shared store can't be reached, so a message id can't be guarded."""


class Store(Protocol):
    """Where claims and replies are kept."""

    def claim(self, key: str, seconds: float) -> bool:
        """Set `key` to pending if absent; True if this caller now owns it."""

    def renew(self, key: str, seconds: float) -> None:
        """Extend a pending claim."""

    def get(self, key: str) -> bytes | None:
        """The stored value: PENDING, a reply, or None."""

    def put(self, key: str, value: bytes, seconds: float) -> None:
        """Store the reply for `seconds`."""

    def release(self, key: str) -> None:
        """Drop a claim that produced no reply to keep."""


class MemoryStore:
    """One process's ids (the single-process `make run`)."""

    def __init__(self) -> None:
        """Start empty."""
        self._items: dict[str, tuple[bytes, float]] = {}

    def _live(self, key: str) -> bytes | None:
        item = self._items.get(key)
        if item is None or item[1] < time.monotonic():
            self._items.pop(key, None)
            return None
        return item[0]

    def claim(self, key: str, seconds: float) -> bool:
        """Set `key` to pending if absent."""
        if self._live(key) is not None:
            return False
        self._items[key] = (PENDING, time.monotonic() + seconds)
        if len(self._items) > 10_000:
            for stale in [k for k in self._items if self._live(k) is None]:
                self._items.pop(stale, None)
        return True

    def renew(self, key: str, seconds: float) -> None:
        """Extend a pending claim."""
        if self._live(key) == PENDING:
            self._items[key] = (PENDING, time.monotonic() + seconds)

    def get(self, key: str) -> bytes | None:
        """The stored value, if any."""
        return self._live(key)

    def put(self, key: str, value: bytes, seconds: float) -> None:
        """Store the reply."""
        self._items[key] = (value, time.monotonic() + seconds)

    def release(self, key: str) -> None:
        """Drop a claim."""
        self._items.pop(key, None)


class RedisStore:
    """Ids shared by every instance, in the lock store's Redis."""

    def __init__(self, client: Any) -> None:
        """Use `client` (a redis.StrictRedis)."""
        self.client = client

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        import redis

        try:
            return getattr(self.client, name)(*args, **kwargs)
        except redis.exceptions.RedisError as exc:
            raise StoreUnavailable(type(exc).__name__) from exc

    def claim(self, key: str, seconds: float) -> bool:
        """SET NX with a expiry: atomic across instances."""
        return bool(self._call("set", key, PENDING, nx=True, px=int(seconds * 1000)))

    def renew(self, key: str, seconds: float) -> None:
        """Extend the claim only while it is still pending."""
        self._call("set", key, PENDING, xx=True, px=int(seconds * 1000))

    def get(self, key: str) -> bytes | None:
        """The stored value, if any."""
        return self._call("get", key)

    def put(self, key: str, value: bytes, seconds: float) -> None:
        """Store the reply."""
        self._call("set", key, value, px=int(seconds * 1000))

    def release(self, key: str) -> None:
        """Drop a claim."""
        self._call("delete", key)


_memory = MemoryStore()


def store_for(app: Any) -> Store:
    """The lock store's Redis if Rasa uses one, else this process's memory."""
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    client = getattr(getattr(agent, "lock_store", None), "red", None)
    return RedisStore(client) if client is not None else _memory


def message_key(conversation: str, message_id: str) -> str:
    """A store key that reveals neither the conversation nor the id."""
    digest = hashlib.sha256(f"{conversation}\x00{message_id}".encode()).hexdigest()
    return KEY_PREFIX + digest


def turn_id(conversation: str, message_id: str) -> str:
    """The id Rasa stores on the user's turn: the same for every copy of one client message."""
    return hashlib.sha256(f"turn\x00{conversation}\x00{message_id}".encode()).hexdigest()[:32]


async def replies_already_given(
    tracker_store: Any, conversation: str, turn: str, recipient: str
) -> list[dict[str, Any]] | None:
    """The replies stored after user turn `turn` if it was saved recently, else None."""
    tracker = await tracker_store.retrieve(conversation)
    if tracker is None:
        return None
    events = list(tracker.events)
    oldest = time.time() - get_settings().message_id_ttl_seconds
    start = next(
        (
            i
            for i in range(len(events) - 1, -1, -1)
            if isinstance(events[i], UserUttered) and events[i].message_id == turn
        ),
        None,
    )
    if start is None or events[start].timestamp < oldest:
        return None
    output = CollectingOutputChannel()
    for event in events[start + 1 :]:
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            # Rasa's own path from a stored utterance to channel messages, as on the first reply.
            data = {k: v for k, v in (event.data or {}).items() if v is not None}
            await output.send_response(recipient, {"text": event.text, **data})
    return output.messages


def _encodable(value: str) -> bool:
    """False for text with lone surrogates (valid JSON escapes, not valid Unicode text)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unavailable() -> HTTPResponse:
    return response.json(
        [{"text": say("errors", "busy")}], status=503, headers={"Retry-After": RETRY_AFTER_SECONDS}
    )


def _replay(stored: bytes) -> HTTPResponse:
    return HTTPResponse(
        body=stored, status=200, content_type="application/json", headers={"X-Repeat": "1"}
    )


async def _heartbeat(store: Store, key: str) -> None:
    while True:
        await asyncio.sleep(CLAIM_SECONDS / 3)
        try:
            await asyncio.to_thread(store.renew, key, CLAIM_SECONDS)
        except StoreUnavailable:
            logger.warning("message id claim could not be renewed")


async def answer_once(
    store: Store, key: str, handle: Callable[[], Awaitable[HTTPResponse]]
) -> HTTPResponse:
    """Answer with `handle` unless `key` was (or is being) answered; then repeat that reply."""
    ttl = float(get_settings().message_id_ttl_seconds)
    deadline = time.monotonic() + WAIT_SECONDS
    try:
        while not await asyncio.to_thread(store.claim, key, CLAIM_SECONDS):
            stored = await asyncio.to_thread(store.get, key)
            if stored is not None and stored != PENDING:
                logger.info("repeated message id answered from the store")
                return _replay(stored)
            if time.monotonic() > deadline:
                return _unavailable()
            await asyncio.sleep(POLL_SECONDS)
        first_attempt = await asyncio.to_thread(store.claim, SEEN_PREFIX + key, ttl)
    except StoreUnavailable:
        logger.error("message id store unreachable: message refused with 503")
        return _unavailable()
    beat = asyncio.ensure_future(_heartbeat(store, key))
    resend = RESEND.set(not first_attempt)
    try:
        reply = await handle()
    except BaseException:
        beat.cancel()
        await asyncio.to_thread(_quiet, store.release, key)
        raise
    finally:
        RESEND.reset(resend)
    beat.cancel()
    if reply.status == 200 and reply.body is not None:
        await asyncio.to_thread(_quiet, store.put, key, reply.body, ttl)
    else:
        # Not answered: a retry must be free to try again.
        await asyncio.to_thread(_quiet, store.release, key)
    return reply


def _quiet(call: Callable[..., None], *args: Any) -> None:
    try:
        call(*args)
    except StoreUnavailable:
        logger.warning("message id store unreachable while saving")


def stored_or_503(
    handler: Callable[[Request], Awaitable[HTTPResponse]],
) -> Callable[[Request], Awaitable[HTTPResponse]]:
    """Answer 503 instead of a reply whose turn could not be read or saved.

    Rasa would still answer from memory (components/tracker_store.py); the turn is not in the
    database, so the client must send it again rather than believe it was kept.
    """

    async def guarded(request: Request) -> HTTPResponse:
        # Sanic may handle a keep-alive connection's requests in one task: reset per request.
        STORE_FAILED.set(False)
        reply = await handler(request)
        if STORE_FAILED.get():
            logger.error("conversation store failed during a turn: answered 503 to retry")
            return _unavailable()
        return reply

    return guarded


def once_per_message_id(
    conversation_of: Callable[[Request, dict[str, Any]], str | None],
) -> Callable[[Callable[[Request], Awaitable[HTTPResponse]]], Any]:
    """Wrap a JSON webhook so a body's optional `message_id` is answered once.

    `conversation_of(request, body)` names the conversation the id belongs to, or None when
    the message starts a fresh one (nothing to repeat).
    """

    def wrap(handler: Callable[[Request], Awaitable[HTTPResponse]]) -> Any:
        guarded = stored_or_503(handler)

        @functools.wraps(handler)
        async def wrapped(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:  # Sanic's own error type on bad JSON; the handler answers it
                body = None
            if not isinstance(body, dict) or body.get("message_id") is None:
                return await guarded(request)
            message_id = body["message_id"]
            if (
                not isinstance(message_id, str)
                or not message_id.strip()
                or len(message_id) > MAX_MESSAGE_ID_LENGTH
                or not _encodable(message_id)
            ):
                return response.json({"error": BAD_ID_REPLY}, status=400)
            conversation = conversation_of(request, body)
            if conversation is None:
                return await guarded(request)
            key = message_key(conversation, message_id)
            return await answer_once(store_for(request.app), key, lambda: guarded(request))

        return wrapped

    return wrap
