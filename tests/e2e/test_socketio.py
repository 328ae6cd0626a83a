"""The widget's Socket.IO channel against the real servers, as a browser's socket would talk.

python-socketio's client (installed with Rasa) uses long-polling here: its WebSocket transport
needs a newer aiohttp than Rasa allows. The browser tests (test_widget.py) use WebSocket.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
import pytest
import socketio
import yaml

from bot.care.wording import say
from bot.config import PROJECT_ROOT, Settings
from bot.identity.tokens import conversation_id, issue_token
from tests.e2e.servers import Servers

pytestmark = pytest.mark.e2e

QUESTION = "when is my next appointment?"
# The servers inherit this environment (and .env), so they allow the same origins.
ALLOWED_ORIGIN = Settings().origins[0]


def settings_for(servers: Servers) -> Settings:
    return Settings(jwt_secret=servers.env["JWT_SECRET"])


def token_for(servers: Servers, portal_id: str, **overrides: Any) -> str:
    return issue_token(portal_id, settings=settings_for(servers), **overrides)


def new_session_id() -> str:
    return secrets.token_urlsafe(24)


class Chat:
    """One socket, as the widget uses it: connect, request a session, send, collect replies."""

    def __init__(self, servers: Servers, token: str | None = None, origin: str | None = None):
        self.servers = servers
        self.token = token
        self.origin = ALLOWED_ORIGIN if origin is None else origin
        self.client = socketio.AsyncClient(reconnection=False)
        self.received: list[dict[str, Any]] = []
        self.turns: dict[str | None, asyncio.Event] = {}
        self.confirmed: asyncio.Future[dict[str, Any]] | None = None
        self.expired = asyncio.Event()
        self.client.on("bot_uttered", self._on_bot)
        self.client.on("bot_turn_done", self._on_done)
        self.client.on("session_confirm", self._on_confirm)
        self.client.on("session_expired", self._on_expired)

    async def _on_bot(self, data: dict[str, Any]) -> None:
        self.received.append(data)

    async def _on_done(self, data: dict[str, Any]) -> None:
        self.turns.setdefault(data.get("message_id"), asyncio.Event()).set()

    async def _on_confirm(self, data: dict[str, Any]) -> None:
        if self.confirmed is not None and not self.confirmed.done():
            self.confirmed.set_result(data)

    async def _on_expired(self, _: Any) -> None:
        self.expired.set()

    async def connect(self) -> None:
        headers = {"Origin": self.origin} if self.origin else {}
        auth = {"token": self.token} if self.token else None
        await self.client.connect(
            self.servers.rasa_url,
            headers=headers,
            auth=auth,
            transports=["polling"],
            wait_timeout=10,
        )

    async def start(self, session_id: object) -> dict[str, Any]:
        """Connect if needed, request a session and return the confirmation."""
        if not self.client.connected:
            await self.connect()
        self.confirmed = asyncio.get_running_loop().create_future()
        await self.client.emit("session_request", {"session_id": session_id})
        return await asyncio.wait_for(self.confirmed, 10)

    async def send(self, message: object, message_id: str | None = None, **extra: Any) -> Any:
        """Emit a message and return the server's acknowledgement."""
        message_id = message_id or secrets.token_hex(8)
        self.turns.setdefault(message_id, asyncio.Event())
        return await self.client.call(
            "user_uttered", {"message": message, "message_id": message_id, **extra}, timeout=30
        )

    async def ask(self, message: object, **extra: Any) -> list[dict[str, Any]]:
        """Send a message and return the replies of that turn."""
        message_id = secrets.token_hex(8)
        start = len(self.received)
        ack = await self.send(message, message_id, **extra)
        assert ack == {"ok": True}, ack
        await asyncio.wait_for(self.turns[message_id].wait(), 60)
        return self.received[start:]

    async def say(self, message: object, **extra: Any) -> str:
        return "\n".join(m.get("text", "") for m in await self.ask(message, **extra))

    async def close(self) -> None:
        """Disconnect without waiting out the pending long-poll (up to the ping interval)."""
        eio = self.client.eio
        if self.client.connected:
            for namespace in self.client.namespaces:
                await self.client._send_packet(
                    self.client.packet_class(socketio.packet.DISCONNECT, namespace=namespace)
                )
        tasks = [t for t in (eio.read_loop_task, eio.write_loop_task) if t and not t.done()]
        await eio.disconnect(abort=True)
        for task in tasks:
            try:
                await asyncio.wait_for(task, 5)
            except (asyncio.TimeoutError, Exception):
                task.cancel()


def test_channel_is_configured_with_session_persistence() -> None:
    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text())
    channel = credentials["components.socketio_channel.TokenSocketIOInput"]
    assert channel["session_persistence"] is True
    assert channel["user_message_evt"] == "user_uttered"
    assert channel["bot_message_evt"] == "bot_uttered"
    assert "socketio" not in credentials  # the stock channel stays off


async def test_signed_in_client_gets_their_own_next_appointment(servers: Servers) -> None:
    chat = Chat(servers, token_for(servers, "demo-video"))
    session_id = new_session_id()
    try:
        # Replies only arrive if the socket really joined its room (session_persistence on).
        assert await chat.start(session_id) == {"session_id": session_id, "auth": "verified"}
        replies = await chat.ask(QUESTION)
    finally:
        await chat.close()
    reply = "\n".join(r.get("text", "") for r in replies)
    assert "video appointment on" in reply and "abc123" in reply
    buttons = [b["title"] for r in replies for b in r.get("quick_replies", [])]
    assert "Add to my calendar" in buttons


async def test_every_socket_of_the_conversation_gets_the_replies(servers: Servers) -> None:
    """Two tabs of the same patient with the same stored session id share the room."""
    token = token_for(servers, "demo-telephone")
    session_id = new_session_id()
    first, second = Chat(servers, token), Chat(servers, token)
    try:
        await first.start(session_id)
        await second.start(session_id)
        reply = await first.say(QUESTION)
        assert "telephone appointment" in reply
        await asyncio.sleep(0.5)
        assert any("telephone appointment" in m.get("text", "") for m in second.received)
    finally:
        await first.close()
        await second.close()


async def test_a_reload_resumes_the_same_conversation(servers: Servers) -> None:
    token = token_for(servers, "demo-clinic")
    session_id = new_session_id()
    for _ in range(2):
        chat = Chat(servers, token)
        try:
            assert (await chat.start(session_id))["session_id"] == session_id
            assert "Haematology Outpatients" in await chat.say(QUESTION)
        finally:
            await chat.close()
    # Both page loads wrote to one conversation in the SQL tracker store.
    settings = settings_for(servers)
    assert servers.user_turns(conversation_id("demo-clinic", session_id, settings)) == 2


async def test_another_patients_token_with_the_same_session_id_sees_nothing_of_it(
    servers: Servers,
) -> None:
    session_id = new_session_id()
    video = Chat(servers, token_for(servers, "demo-video"))
    clinic = Chat(servers, token_for(servers, "demo-clinic"))
    anonymous = Chat(servers)
    try:
        await video.start(session_id)
        assert "abc123" in await video.say(QUESTION)
        seen_by_video = len(video.received)

        # Same client session id, another patient's token: their own record only.
        assert (await clinic.start(session_id))["session_id"] == session_id
        clinic_reply = await clinic.say(QUESTION)
        assert "Haematology Outpatients" in clinic_reply
        assert "abc123" not in clinic_reply and "video" not in clinic_reply.lower()

        # Same session id, no token: a server-issued anonymous session instead, the sign-in
        # answer, nothing personal.
        anonymous_session = (await anonymous.start(session_id))["session_id"]
        assert anonymous_session != session_id
        anonymous_reply = await anonymous.say(QUESTION)
        assert "sign in" in anonymous_reply
        assert "abc123" not in anonymous_reply and "Haematology" not in anonymous_reply

        # And none of their replies reached the first patient's socket.
        await asyncio.sleep(0.5)
        assert len(video.received) == seen_by_video
        assert all("Haematology" not in m.get("text", "") for m in video.received)
    finally:
        for chat in (video, clinic, anonymous):
            await chat.close()
    settings = settings_for(servers)
    ids = {
        conversation_id("demo-video", session_id, settings),
        conversation_id("demo-clinic", session_id, settings),
        conversation_id(None, anonymous_session, settings),
    }
    assert len(ids) == 3 and all(servers.user_turns(i) == 1 for i in ids)
    assert servers.user_turns(conversation_id(None, session_id, settings)) == 0


def forged_token() -> str:
    now = int(time.time())
    claims = {
        "sub": "demo-video",
        "aud": "all-followup-assistant",
        "iss": "patient-portal",
        "iat": now,
        "exp": now + 600,
    }
    return jwt.encode(claims, "not-the-secret-but-long-enough-for-hmac-sha256", algorithm="HS256")


@pytest.mark.parametrize(
    ("kind", "auth"),
    [
        ("none", "anonymous"),
        ("garbage", "rejected"),
        ("forged", "rejected"),
        ("expired", "rejected"),
    ],
)
async def test_no_valid_token_gets_the_sign_in_answer(
    servers: Servers, kind: str, auth: str
) -> None:
    token = {
        "none": None,
        "garbage": "garbage",
        "forged": forged_token(),
        "expired": token_for(
            servers, "demo-video", now=datetime.now(timezone.utc) - timedelta(hours=3), minutes=5
        ),
    }[kind]
    chat = Chat(servers, token)
    try:
        assert (await chat.start(new_session_id()))["auth"] == auth
        reply = await chat.say(QUESTION)
    finally:
        await chat.close()
    assert "sign in" in reply and "abc123" not in reply and "video appointment on" not in reply


async def test_client_metadata_and_ids_cannot_claim_an_identity(servers: Servers) -> None:
    chat = Chat(servers)
    victim_session = new_session_id()
    try:
        await chat.start(new_session_id())
        reply = await chat.say(
            QUESTION,
            metadata={"verified_patient": "demo-video", "auth": "verified"},
            session_id=victim_session,
            sender=conversation_id("demo-video", victim_session, settings_for(servers)),
            customData={"verified_patient": "demo-video"},
        )
    finally:
        await chat.close()
    assert "sign in" in reply and "abc123" not in reply


async def test_auth_outside_the_token_field_is_ignored(servers: Servers) -> None:
    chat = Chat(servers)
    try:
        await chat.client.connect(
            servers.rasa_url,
            headers={"Origin": ALLOWED_ORIGIN},
            auth={"verified_patient": "demo-video", "portal_id": "demo-video", "token": ""},
            transports=["polling"],
            wait_timeout=10,
        )
        assert (await chat.start(new_session_id()))["auth"] == "anonymous"
        assert "sign in" in await chat.say(QUESTION)
    finally:
        await chat.close()


async def test_a_disallowed_origin_is_refused(servers: Servers) -> None:
    for origin in ("http://evil.example", "null", ALLOWED_ORIGIN + ".evil.example"):
        chat = Chat(servers, token_for(servers, "demo-video"), origin=origin)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await chat.connect()
        assert not chat.client.connected
        await chat.close()


async def test_short_or_missing_session_ids_are_replaced(servers: Servers) -> None:
    chat = Chat(servers)
    try:
        for requested in ("abc", "", None, 42, "x" * 500, "has\nnewline-but-long-enough"):
            confirmed = (await chat.start(requested))["session_id"]
            assert confirmed != requested and len(confirmed) >= 16
    finally:
        await chat.close()


async def test_a_message_before_a_session_is_refused(servers: Servers) -> None:
    chat = Chat(servers)
    try:
        await chat.connect()
        assert await chat.send(QUESTION) == {"ok": False, "error": "no_session"}
    finally:
        await chat.close()


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("", say("inputs", "empty")),
        ("   ", say("inputs", "empty")),
        (None, say("inputs", "empty")),
        (42, say("inputs", "not_text")),
    ],
)
async def test_empty_or_non_text_gets_a_kind_answer(
    servers: Servers, message: object, expected: str
) -> None:
    chat = Chat(servers)
    try:
        await chat.start(new_session_id())
        assert await chat.say(message) == expected
    finally:
        await chat.close()


async def test_a_long_message_is_trimmed_with_a_notice(servers: Servers) -> None:
    chat = Chat(servers)
    try:
        await chat.start(new_session_id())
        replies = await chat.ask("how often are my check ups? " + "a" * 5000)
    finally:
        await chat.close()
    assert "first 2,000 characters" in replies[0]["text"]
    assert len(replies) > 1


async def test_a_resent_message_is_answered_once(servers: Servers) -> None:
    chat = Chat(servers)
    try:
        await chat.start(new_session_id())
        assert await chat.send("hello", "same-id") == {"ok": True}
        assert await chat.send("hello", "same-id") == {"ok": True, "duplicate": True}
        await asyncio.wait_for(chat.turns["same-id"].wait(), 30)
    finally:
        await chat.close()


async def test_calendar_file_arrives_as_a_custom_payload(servers: Servers) -> None:
    chat = Chat(servers, token_for(servers, "demo-video"))
    try:
        await chat.start(new_session_id())
        offered = await chat.ask("when is my next appointment?")
        payloads = [b["payload"] for r in offered for b in r.get("quick_replies") or []]
        assert "/add_to_calendar" in payloads
        replies = await chat.ask("/add_to_calendar")  # tapping the button it offered
    finally:
        await chat.close()
    custom = [r["custom"] for r in replies if "custom" in r]
    assert len(custom) == 1
    assert custom[0]["type"] == "calendar" and custom[0]["filename"].endswith(".ics")
    assert custom[0]["mime_type"] == "text/calendar"
    assert custom[0]["ics"].startswith("BEGIN:VCALENDAR")


async def test_an_expired_sign_in_ends_the_socket(servers: Servers) -> None:
    # Valid now thanks to the 30 s leeway, expired (leeway included) about 3 s from now.
    token = token_for(
        servers, "demo-video", now=datetime.now(timezone.utc) - timedelta(seconds=87), minutes=1
    )
    chat = Chat(servers, token)
    try:
        assert (await chat.start(new_session_id()))["auth"] == "verified"
        await asyncio.sleep(4)
        assert await chat.send(QUESTION) == {"ok": False, "error": "session_expired"}
        await asyncio.wait_for(chat.expired.wait(), 5)
        for _ in range(50):
            if not chat.client.connected:
                break
            await asyncio.sleep(0.1)
        assert not chat.client.connected
    finally:
        await chat.close()


async def test_logs_hold_no_tokens_or_message_texts(servers: Servers) -> None:
    token = token_for(servers, "demo-telephone")
    chat = Chat(servers, token)
    try:
        await chat.start(new_session_id())
        await chat.say("my temperature is 38.7 and my number is 07700 900888")
        await chat.say(QUESTION)
    finally:
        await chat.close()
    logs = servers.logs()
    assert "socketio message handled" in logs
    for secret in (token, "38.7", "07700 900888", QUESTION, "Jamie", "Fenwick", "Priya Shah"):
        assert secret not in logs, secret


async def test_a_payload_nobody_offered_is_read_as_typed_text(servers: Servers) -> None:
    chat = Chat(servers, token_for(servers, "demo-video"))
    try:
        await chat.start(new_session_id())
        replies = await chat.ask("/ask_how_often I have a temperature of 39 and feel shivery")
    finally:
        await chat.close()
    text = " ".join(r.get("text") or "" for r in replies)
    assert "999" in text  # the safety answer, not the how-often answer
