"""The Socket.IO channel the patient chat widget talks to, bound to the verified patient.

A rewrite of Rasa 3.6's ``SocketIOInput`` (rasa/core/channels/socketio.py) that fixes:

* Identity. Rasa decodes an optional JWT and throws the payload away, then lets the client
  choose the conversation (``session_id``) and send any ``metadata``. Here the token comes
  only from the connection's ``auth`` (``{"token": ...}``), is checked with
  `bot.identity.tokens.verify_token`, and the verified portal id is kept server side for the socket.
  The client's session id is just a random value it stores to resume after a reload; the
  conversation id (which is also the reply room) is `conversation_id(portal_id, session_id)`,
  an HMAC nobody can aim at another patient's conversation. Client metadata is dropped and
  only the identity keys are set, exactly as the REST channel does (components/channels.py).
* Lost replies. With python-socketio >= 5.10 ``enter_room`` is a coroutine that Rasa never
  awaits, so with ``session_persistence`` the socket never joined its room and got nothing.
* Custom payloads. Rasa spreads a custom payload into ``emit()``'s keyword arguments, which
  fails for the calendar file; here it is sent as ``{"custom": {...}}``.
* Origins. Rasa passes ``cors_allowed_origins=[]``, which turns the origin check off; here only
  the configured origins (``ALLOWED_ORIGINS``) may connect from a browser.
* Silence. Input is checked like the REST channel's (empty, too long, not text), failures get
  an apology that still signposts help, and nothing typed or any token is ever logged.
* Sessions and limits. An anonymous socket's session id must be one the server issued
  (`session_for`), else it gets a fresh one; each message carries a signed identity claim for
  the action server; messages over the per-address or per-patient rate, or beyond
  SOCKET_QUEUE_MAX waiting on one socket, are refused with ``{"ok": false, "error":
  "rate_limited" | "queue_full", "text": ...}``, which the widget shows (docs/security.md).

Events: the client emits ``session_request`` ``{"session_id"}`` and gets ``session_confirm``
``{"session_id", "auth"}``; it emits ``user_uttered`` ``{"message", "message_id"}`` with an
acknowledgement callback (answered ``{"ok": true}`` on receipt), then gets ``bot_uttered``
messages in its room and finally ``bot_turn_done`` ``{"message_id"}``. A socket whose token
has expired gets ``session_expired`` and is disconnected, so the page can fetch a new token.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.care.inputs import check_message
from bot.config import get_settings
from bot.identity.tokens import (
    LEEWAY_SECONDS,
    clean_sender,
    conversation_id,
    new_sender,
    session_for,
)
from bot.security.ratelimit import message_limits
from bot.security.startup import rasa_interface, start_process
from components import speedups
from components.channels import (
    OFFERED,
    check_token_state,
    gated_text,
    harden_app,
    slow_down_reply,
    sorry_reply,
    user_message,
)

logger = logging.getLogger(__name__)

# A stored client session id shorter than this is replaced by a fresh random one, so an
# anonymous conversation can't be found by guessing a short id.
MIN_SESSION_ID_LENGTH = 16
MAX_TOKEN_LENGTH = 4096
MAX_MESSAGE_ID_LENGTH = 64
# Message ids remembered to drop a message the widget resends after a lost acknowledgement.
SEEN_MESSAGE_IDS = 2000
# Socket.IO packets larger than this are refused (a message is at most 2,000 characters).
MAX_PACKET_BYTES = 64 * 1024
# Seconds between telling a socket its sign-in expired and disconnecting it.
EXPIRY_DISCONNECT_DELAY = 0.5


def _await_if_needed(result: Any) -> Awaitable[Any]:
    """Await `result` if it is awaitable (python-socketio < 5.10 returned None)."""

    async def wait() -> Any:
        if inspect.isawaitable(result):
            return await result
        return result

    return wait()


class RoomOutput(SocketIOOutput):
    """Sends replies into the conversation's room, and counts them."""

    def __init__(self, sio: AsyncServer, bot_message_evt: str) -> None:
        """Send `bot_message_evt` events through `sio`."""
        super().__init__(sio, bot_message_evt)
        self.sent = 0

    async def _send_message(self, socket_id: str, response: Any) -> None:
        self.sent += 1
        OFFERED.remember(socket_id, [response])  # the room is the conversation id
        await self.sio.emit(self.bot_message_evt, response, room=socket_id)

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """Send a custom payload (e.g. the calendar file) as ``{"custom": payload}``."""
        await self._send_message(recipient_id, {"custom": json_message})


@dataclass
class _Socket:
    """What the server knows about one connected socket; nothing here comes from the client
    except `session_id`, which only selects among this patient's own conversations."""

    portal_id: str | None
    auth: str
    expires_at: float | None
    address: str = "unknown"
    session_id: str | None = None
    room: str | None = None
    tail: asyncio.Future | None = field(default=None, repr=False)
    waiting: int = 0

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now > self.expires_at + LEEWAY_SECONDS


def _token_from(auth: object) -> str | None:
    """The token from the connection's `auth` object, if it holds a plausible one."""
    if not isinstance(auth, dict):
        return None
    token = auth.get("token")
    if not isinstance(token, str) or not token.strip():
        return None
    return token.strip()[: MAX_TOKEN_LENGTH + 1]


def _expiry(token: str) -> float | None:
    """The `exp` claim of a token already verified by `verify_token`."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp")
    return float(exp) if isinstance(exp, (int, float)) else None


def _log_failure(task: asyncio.Future) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("socketio channel: answering failed (%s)", type(task.exception()).__name__)


def _message_id(data: dict[str, Any]) -> str | None:
    value = data.get("message_id")
    if isinstance(value, str) and 0 < len(value) <= MAX_MESSAGE_ID_LENGTH:
        return value
    return None


class TokenSocketIOInput(InputChannel):
    """Socket.IO for the patient widget; see the module docstring for the protocol."""

    @classmethod
    def name(cls) -> str:
        """Served at /socket.io; health at /webhooks/socketio/."""
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Read the channel's section of credentials.yml (Rasa's JWT keys are not used)."""
        start_process("rasa", rasa_interface())
        credentials = credentials or {}
        return cls(
            user_message_evt=credentials.get("user_message_evt", "user_uttered"),
            bot_message_evt=credentials.get("bot_message_evt", "bot_uttered"),
            namespace=credentials.get("namespace"),
            session_persistence=bool(credentials.get("session_persistence", True)),
            socketio_path=credentials.get("socketio_path", "/socket.io"),
        )

    def __init__(
        self,
        user_message_evt: str = "user_uttered",
        bot_message_evt: str = "bot_uttered",
        namespace: str | None = None,
        session_persistence: bool = True,
        socketio_path: str = "/socket.io",
        allowed_origins: list[str] | None = None,
    ) -> None:
        """Configure the events and path; origins default to the settings' ALLOWED_ORIGINS."""
        self.user_message_evt = user_message_evt
        self.bot_message_evt = bot_message_evt
        self.namespace = namespace
        self.session_persistence = session_persistence
        self.socketio_path = socketio_path
        self.allowed_origins = (
            list(allowed_origins) if allowed_origins is not None else get_settings().origins
        )
        self.sio: AsyncServer | None = None
        self._sockets: dict[str, _Socket] = {}
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    def get_output_channel(self) -> OutputChannel | None:
        """The output channel for replies not triggered by a message (e.g. reminders)."""
        if self.sio is None:
            return None
        return RoomOutput(self.sio, self.bot_message_evt)

    def origin_allowed(self, origin: str | None, environ: dict | None = None) -> bool:
        """Whether a browser at `origin` may connect (engine.io calls this per request)."""
        return origin in self.allowed_origins

    def _seen_before(self, room: str, message_id: str | None) -> bool:
        """Remember `message_id` for `room`; True if it was already handled."""
        if message_id is None:
            return False
        key = (room, message_id)
        if key in self._seen:
            return True
        self._seen[key] = None
        while len(self._seen) > SEEN_MESSAGE_IDS:
            self._seen.popitem(last=False)
        return False

    def _forget(self, room: str, message_id: str | None) -> None:
        """Forget a refused message, so the client may send it again later."""
        if message_id is not None:
            self._seen.pop((room, message_id), None)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The Socket.IO server and a health route."""
        speedups.install()  # once per server start; see components/speedups.py
        # A callable, never a list: python-engineio treats an empty list as "check nothing".
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=self.origin_allowed,
            max_http_buffer_size=MAX_PACKET_BYTES,
            logger=False,
            engineio_logger=False,
        )
        socketio_webhook = SocketBlueprint(
            sio, self.socketio_path, "token_socketio_webhook", __name__
        )
        self.sio = sio
        namespace = self.namespace
        server = harden_app(socketio_webhook)

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: dict, auth: object = None) -> bool:
            token = _token_from(auth)
            if token is not None and len(token) > MAX_TOKEN_LENGTH:
                patient, state = None, "rejected"
            else:
                patient, state = check_token_state(token)
            expires = _expiry(token) if patient and token else None
            request = environ.get("sanic.request") if isinstance(environ, dict) else None
            address = (request.remote_addr or request.ip) if request is not None else None
            self._sockets[sid] = _Socket(patient, state, expires, address or "unknown")
            logger.info("socket connected (auth=%s)", state)
            return True

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: str, *_: Any) -> None:
            self._sockets.pop(sid, None)
            logger.debug("socket disconnected")

        async def start_session(sid: str, state: _Socket, requested: object) -> None:
            requested = requested if self.session_persistence else None
            if state.portal_id is None:
                # Anonymous: only an id this server issued, so nobody can join another's.
                session_id = session_for(requested, None)
            else:
                session_id = clean_sender(requested)
                if session_id is None or len(session_id) < MIN_SESSION_ID_LENGTH:
                    session_id = new_sender()
            room = conversation_id(state.portal_id, session_id)
            if state.room and state.room != room:
                await _await_if_needed(sio.leave_room(sid, state.room, namespace=namespace))
            # Rasa forgot this await (python-socketio >= 5.10): the socket never joined its
            # room and every reply was lost.
            await _await_if_needed(sio.enter_room(sid, room, namespace=namespace))
            state.session_id, state.room = session_id, room

        async def expire(sid: str) -> None:
            """Tell the client its sign-in ended, then disconnect it once the ack is out."""
            await sio.emit("session_expired", {}, room=sid, namespace=namespace)

            async def later() -> None:
                await asyncio.sleep(EXPIRY_DISCONNECT_DELAY)
                await sio.disconnect(sid, namespace=namespace)

            task = asyncio.ensure_future(later())
            task.add_done_callback(_log_failure)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: object = None) -> None:
            state = self._sockets.get(sid)
            if state is None:
                return
            if state.expired(time.time()):
                await expire(sid)
                return
            requested = data.get("session_id") if isinstance(data, dict) else None
            await start_session(sid, state, requested)
            await sio.emit(
                "session_confirm",
                {"session_id": state.session_id, "auth": state.auth},
                room=sid,
                namespace=namespace,
            )

        async def answer(sid: str, state: _Socket, raw: object, message_id: str | None) -> None:
            room = state.room
            assert room is not None
            output = RoomOutput(sio, self.bot_message_evt)
            checked = check_message(raw)
            try:
                if checked.notice:
                    await output.send_text_message(room, checked.notice)
                if checked.text is not None:
                    # Client metadata is dropped: only what the token proved, signed.
                    text = await gated_text(server.app, checked.text, room)
                    message = user_message(
                        text, output, room, state.portal_id, state.auth, self.name()
                    )
                    sent_before = output.sent
                    try:
                        await on_new_message(message)
                    except Exception:
                        # The text is never logged: it may hold health details.
                        logger.exception("socketio channel: message handling failed")
                        await output.send_text_message(room, sorry_reply())
                    else:
                        if output.sent == sent_before:
                            # Rasa swallows action-server failures and answers nothing.
                            logger.error("socketio channel: no reply produced")
                            await output.send_text_message(room, sorry_reply())
                logger.info("socketio message handled (auth=%s)", state.auth)
            finally:
                await sio.emit(
                    "bot_turn_done", {"message_id": message_id}, room=sid, namespace=namespace
                )

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: object = None) -> dict[str, Any]:
            state = self._sockets.get(sid)
            if state is None:
                return {"ok": False, "error": "not_connected"}
            if state.expired(time.time()):
                await expire(sid)
                return {"ok": False, "error": "session_expired"}
            if state.room is None:
                if self.session_persistence:
                    return {"ok": False, "error": "no_session"}
                await start_session(sid, state, None)
            if not isinstance(data, dict):
                data = {}
            message_id = _message_id(data)
            assert state.room is not None
            if self._seen_before(state.room, message_id):
                return {"ok": True, "duplicate": True}
            settings = get_settings()
            if state.waiting >= settings.socket_queue_max:
                self._forget(state.room, message_id)
                logger.warning("socketio message refused: queue full (auth=%s)", state.auth)
                return {"ok": False, "error": "queue_full", "text": slow_down_reply()}
            if not message_limits().allow(state.address, state.portal_id):
                self._forget(state.room, message_id)
                logger.warning("socketio message refused: rate limit (auth=%s)", state.auth)
                return {"ok": False, "error": "rate_limited", "text": slow_down_reply()}
            # Acknowledge on receipt; answer in order after this socket's previous message.
            previous = state.tail
            state.waiting += 1

            async def run() -> None:
                try:
                    if previous is not None:
                        await asyncio.gather(previous, return_exceptions=True)
                    await answer(sid, state, data.get("message"), message_id)
                finally:
                    state.waiting -= 1

            state.tail = asyncio.ensure_future(run())
            state.tail.add_done_callback(_log_failure)
            return {"ok": True}

        return socketio_webhook
