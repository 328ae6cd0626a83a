"""Input channels that bind each conversation to the patient verified from a signed token.

Identity comes only from the token: whatever metadata a client sends is dropped, and the
conversation id Rasa stores is derived from (verified patient, client's sender id), so another
patient's token, or none, can never reach an existing patient conversation (bot/identity/tokens.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.care.inputs import check_message
from bot.identity.tokens import (
    AUTH_KEY,
    VERIFIED_PATIENT_KEY,
    clean_sender,
    conversation_id,
    new_sender,
    verify_token,
)
from components import dedupe, speedups

logger = logging.getLogger(__name__)


def bearer_token(request: Request) -> str | None:
    """The token from an `Authorization: Bearer ...` header, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def identity_metadata(token: str | None) -> tuple[str | None, dict[str, Any]]:
    """Verify a token and build the only metadata the assistant will see."""
    patient = verify_token(token) if token else None
    auth = "verified" if patient else ("rejected" if token else "anonymous")
    return patient, {VERIFIED_PATIENT_KEY: patient, AUTH_KEY: auth}


def rest_conversation(request: Request, body: dict[str, Any]) -> str | None:
    """The conversation a REST body's message id belongs to (None: a fresh conversation)."""
    sender = clean_sender(body.get("sender"))
    return conversation_id(identity_metadata(bearer_token(request))[0], sender) if sender else None


class TokenRestInput(InputChannel):
    """`POST /webhooks/rest/webhook` with an optional `Authorization: Bearer <token>`."""

    @classmethod
    def name(cls) -> str:
        """Served at the stock REST path, which this channel replaces."""
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The health and webhook routes."""
        speedups.install()  # once per server start; see components/speedups.py
        webhook = Blueprint("token_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        @dedupe.once_per_message_id(rest_conversation)
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:  # Sanic raises its own error type on bad JSON
                body = None
            if not isinstance(body, dict):
                return response.json(
                    {"error": "Please send a JSON object with 'sender' and 'message'."}, status=400
                )
            # No usable sender id: a fresh conversation, never one shared between clients.
            sender = clean_sender(body.get("sender")) or new_sender()
            patient, metadata = identity_metadata(bearer_token(request))
            checked = check_message(body.get("message"))
            replies: list[dict[str, Any]] = []
            if checked.notice:
                replies.append({"recipient_id": sender, "text": checked.notice})
            if checked.text is not None:
                collector = CollectingOutputChannel()
                message = UserMessage(
                    checked.text,
                    collector,
                    conversation_id(patient, sender),
                    input_channel=self.name(),
                    metadata=metadata,
                )
                try:
                    await on_new_message(message)
                except Exception:
                    # The text is never logged: it may hold health details.
                    logger.exception("rest channel: message handling failed")
                    return response.json(
                        [{"recipient_id": sender, "text": SORRY_REPLY}], status=500
                    )
                replies.extend({**m, "recipient_id": sender} for m in collector.messages)
                if not collector.messages:
                    # Rasa swallows action-server failures and answers nothing; never leave a
                    # patient with silence, and keep the safety signposting in the apology.
                    logger.error("rest channel: no reply produced")
                    replies.append({"recipient_id": sender, "text": SORRY_REPLY})
            logger.info("rest message handled (auth=%s)", metadata[AUTH_KEY])
            return response.json(replies)

        return webhook


SORRY_REPLY = (
    "Sorry, something went wrong on my side and I couldn't answer. Please try again in a "
    "moment. If you're worried about a symptom, don't wait: call your hospital's 24-hour "
    "advice line, or 999 in an emergency."
)
