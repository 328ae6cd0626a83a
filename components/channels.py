"""Input channels that bind each conversation to the patient verified from a signed token.

Identity comes only from the token: whatever metadata a client sends is dropped, and the
conversation id Rasa stores is derived from (verified patient, client's sender id), so another
patient's token, or none, can never reach an existing patient conversation (bot/identity/tokens.py).
Anonymous conversations use session ids the server issued (a client-chosen id starts a fresh
conversation), and every message carries a signed identity claim for the action server
(bot/identity/claims.py). Bodies over MAX_BODY_BYTES get 413 and fast senders 429, each with
a kind answer (docs/security.md).
"""

from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.care.inputs import check_message, gate_payload
from bot.care.wording import say
from bot.config import get_settings
from bot.identity.claims import CLAIM_KEY, sign_claim
from bot.identity.tokens import (
    AUTH_KEY,
    VERIFIED_PATIENT_KEY,
    conversation_id,
    is_anonymous_session,
    session_for,
    verify_token,
)
from bot.security.ratelimit import RETRY_AFTER_SECONDS, message_limits
from bot.security.startup import rasa_interface, start_process
from components import dedupe, speedups

logger = logging.getLogger(__name__)


def sorry_reply() -> str:
    """The apology when the assistant failed or said nothing (content/errors.yml)."""
    return say("errors", "sorry")


def slow_down_reply() -> str:
    """The answer to a patient sending faster than the limits allow (content/errors.yml)."""
    return say("errors", "slow_down")


def too_large_reply() -> str:
    """The answer to a request body over the size limit (content/errors.yml)."""
    return say("errors", "too_large")


def bearer_token(request: Request) -> str | None:
    """The token from an `Authorization: Bearer ...` header, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def check_token_state(token: str | None) -> tuple[str | None, str]:
    """Verify a token: the patient (or None) and "verified", "rejected" or "anonymous"."""
    patient = verify_token(token) if token else None
    return patient, "verified" if patient else ("rejected" if token else "anonymous")


def user_message(
    text: str,
    output: Any,
    conversation: str,
    patient: str | None,
    auth: str,
    channel: str,
    message_id: str | None = None,
) -> UserMessage:
    """A UserMessage carrying only the metadata the channel vouches for, and its signed claim."""
    message_id = message_id or uuid.uuid4().hex
    metadata = {
        VERIFIED_PATIENT_KEY: patient,
        AUTH_KEY: auth,
        CLAIM_KEY: sign_claim(conversation, patient, message_id),
    }
    return UserMessage(
        text,
        output,
        conversation,
        input_channel=channel,
        metadata=metadata,
        message_id=message_id,
    )


async def earlier_replies(
    app: Sanic, conversation: str, turn: str | None, recipient: str
) -> list[dict[str, Any]] | None:
    """The stored replies to a resent message whose turn was already saved, else None."""
    if turn is None or not dedupe.RESEND.get():
        return None
    try:
        return await dedupe.replies_already_given(
            app.ctx.agent.tracker_store, conversation, turn, recipient
        )
    except Exception:
        # The store marked its failure (STORE_FAILED): the turn is then answered 503.
        logger.exception("rest channel: stored conversation could not be read for a resend")
        return None


def client_address(request: Request) -> str:
    """The client's address (a proxy's forwarded address if Sanic is configured to trust it)."""
    return request.remote_addr or request.ip or "unknown"


async def _too_large(request: Request, exception: Exception) -> HTTPResponse:
    return response.json({"error": too_large_reply()}, status=413)


class ServerRef:
    """The Sanic app a channel's blueprint runs on, known once the server has started."""

    def __init__(self) -> None:
        """Empty until the server starts."""
        self.app: Sanic | None = None


def harden_app(blueprint: Blueprint) -> ServerRef:
    """At server start: check settings, cap request bodies, answer 413 kindly on every route."""
    ref = ServerRef()

    @blueprint.listener("before_server_start")
    async def _harden(app: Sanic, _loop: Any) -> None:
        ref.app = app
        settings = start_process("rasa", rasa_interface())
        # Read by Sanic per connection; larger bodies are refused before they are read.
        app.config.REQUEST_MAX_SIZE = settings.max_body_bytes
        app.error_handler.add(PayloadTooLarge, _too_large)

    @blueprint.listener("after_server_start")
    async def _settle(_app: Sanic, _loop: Any) -> None:
        # The model is loaded by now; what loading it freed goes back to the system.
        speedups.release_freed_memory()

    return ref


def button_payloads(message: Any) -> list[str]:
    """The payloads of a reply's buttons or quick replies (a sent reply or an event's data)."""
    if not isinstance(message, dict):
        return []
    return [
        button["payload"].strip()
        for key in ("buttons", "quick_replies")
        if isinstance(message.get(key), list)
        for button in message[key]
        if isinstance(button, dict) and isinstance(button.get("payload"), str)
    ]


class OfferedPayloads:
    """The button payloads this process has sent, per conversation, so a tap needs no tracker
    read; anything not here is looked up in the tracker (another process may have sent it)."""

    def __init__(self, conversations: int = 10_000, per_conversation: int = 200) -> None:
        """Bounded both ways: old conversations and old buttons are forgotten first."""
        self._seen: OrderedDict[str, OrderedDict[str, None]] = OrderedDict()
        self._conversations = conversations
        self._per_conversation = per_conversation

    def remember(self, conversation: str, messages: Iterable[Any]) -> None:
        """Note the payloads of the buttons (or quick replies) in replies just sent."""
        for message in messages:
            for payload in button_payloads(message):
                seen = self._seen.setdefault(conversation, OrderedDict())
                seen[payload] = None
                seen.move_to_end(payload)
                if len(seen) > self._per_conversation:
                    seen.popitem(last=False)
            if conversation in self._seen:
                self._seen.move_to_end(conversation)
        while len(self._seen) > self._conversations:
            self._seen.popitem(last=False)

    def has(self, conversation: str, payload: str) -> bool:
        """Whether this process offered `payload` in `conversation`."""
        return payload in self._seen.get(conversation, ())


OFFERED = OfferedPayloads()


async def offered_payloads(app: Sanic | None, conversation: str) -> set[str]:
    """Every button payload the assistant has offered in this conversation, from its tracker."""
    store = getattr(getattr(getattr(app, "ctx", None), "agent", None), "tracker_store", None)
    if store is None:
        return set()
    try:
        tracker = await store.retrieve(conversation)
    except Exception:
        # Unknown means nothing was offered: the message is then read as typed text.
        logger.warning("channel: could not read the conversation's offered buttons")
        return set()
    return {
        payload
        for event in getattr(tracker, "events", None) or ()
        if getattr(event, "type_name", None) == "bot"
        for payload in button_payloads(getattr(event, "data", None))
    }


async def gated_text(app: Sanic | None, text: str, conversation: str) -> str:
    """The text to pass to Rasa: a "/" payload only if it was offered, else plain text."""
    if not text.startswith("/") or OFFERED.has(conversation, text):
        return text
    return gate_payload(text, await offered_payloads(app, conversation))


def rest_conversation(request: Request, body: dict[str, Any]) -> str | None:
    """The conversation a REST body's message id belongs to (None: a fresh conversation)."""
    patient, _ = check_token_state(bearer_token(request))
    requested = body.get("sender")
    if patient is None and not is_anonymous_session(requested):
        return None  # an anonymous id the server didn't issue: a new conversation
    sender = session_for(requested, patient)
    return conversation_id(patient, sender)


class TokenRestInput(InputChannel):
    """`POST /webhooks/rest/webhook` with an optional `Authorization: Bearer <token>`."""

    @classmethod
    def name(cls) -> str:
        """Served at the stock REST path, which this channel replaces."""
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Check the settings as Rasa builds its channels, before anything listens."""
        start_process("rasa", rasa_interface())
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The health and webhook routes."""
        speedups.install()  # once per server start; see components/speedups.py
        webhook = Blueprint("token_rest_webhook", __name__)
        harden_app(webhook)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        @dedupe.once_per_message_id(rest_conversation)
        async def receive(request: Request) -> HTTPResponse:
            if len(request.body or b"") > get_settings().max_body_bytes:
                return response.json({"error": too_large_reply()}, status=413)
            try:
                body = request.json
            except Exception:  # Sanic raises its own error type on bad JSON
                body = None
            if not isinstance(body, dict):
                return response.json(
                    {"error": "Please send a JSON object with 'sender' and 'message'."}, status=400
                )
            patient, auth = check_token_state(bearer_token(request))
            # Anonymous: only a session id this server issued; anything else starts afresh.
            sender = session_for(body.get("sender"), patient)
            if not message_limits().allow(client_address(request), patient):
                logger.warning("rest message refused: rate limit (auth=%s)", auth)
                return response.json(
                    [{"recipient_id": sender, "text": slow_down_reply()}],
                    status=429,
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                )
            checked = check_message(body.get("message"))
            replies: list[dict[str, Any]] = []
            if checked.notice:
                replies.append({"recipient_id": sender, "text": checked.notice})
            if checked.text is not None:
                collector = CollectingOutputChannel()
                conversation = conversation_id(patient, sender)
                client_id = body.get("message_id")
                turn = dedupe.turn_id(conversation, client_id) if client_id else None
                earlier = await earlier_replies(request.app, conversation, turn, sender)
                if earlier is not None:
                    logger.info("rest message already answered before a failure: replayed")
                    collector.messages = earlier
                else:
                    message = user_message(
                        await gated_text(request.app, checked.text, conversation),
                        collector,
                        conversation,
                        patient,
                        auth,
                        self.name(),
                        message_id=turn,
                    )
                    try:
                        await on_new_message(message)
                    except Exception:
                        # The text is never logged: it may hold health details.
                        logger.exception("rest channel: message handling failed")
                        return response.json(
                            [{"recipient_id": sender, "text": sorry_reply()}], status=500
                        )
                OFFERED.remember(conversation, collector.messages)
                replies.extend({**m, "recipient_id": sender} for m in collector.messages)
                if not collector.messages:
                    # Rasa swallows action-server failures and answers nothing; never leave a
                    # patient with silence, and keep the safety signposting in the apology.
                    logger.error("rest channel: no reply produced")
                    replies.append({"recipient_id": sender, "text": sorry_reply()})
            logger.info("rest message handled (auth=%s)", auth)
            return response.json(replies)

        return webhook
