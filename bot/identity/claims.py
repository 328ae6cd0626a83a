"""The channel's signed word to the action server: "this message is from this patient".

Rasa forwards each message's metadata to the action server, which has no other way to know
who is asking. Anyone who can reach the action server could write ``verified_patient`` into a
request, so the channel adds a claim: an HMAC-SHA256 (key derived for this purpose only,
bot/identity/keys.py) over the conversation id, the patient, the message id and an expiry.
The action server accepts the patient only if the claim verifies for the very conversation
and message it is acting on and has not expired; anything else is anonymous. A claim copied
from one request cannot be used for another conversation, another message, or later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from bot.config import Settings, get_settings
from bot.identity.keys import IDENTITY_CLAIM, derived_key

CLAIM_KEY = "identity_claim"
_VERSION = "c1"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(body: str, settings: Settings) -> str:
    key = derived_key(IDENTITY_CLAIM, settings)
    return _b64(hmac.new(key, f"{_VERSION}.{body}".encode("ascii"), hashlib.sha256).digest())


def sign_claim(
    conversation: str,
    portal_id: str | None,
    message_id: str,
    settings: Settings | None = None,
    now: float | None = None,
) -> str:
    """A claim that `portal_id` (None: anonymous) sent `message_id` in `conversation`."""
    settings = settings or get_settings()
    now = time.time() if now is None else now
    payload = {
        "c": conversation,
        "p": portal_id,
        "m": message_id,
        "e": int(now) + settings.identity_claim_seconds,
    }
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8"))
    return f"{_VERSION}.{body}.{_mac(body, settings)}"


def verify_claim(
    claim: object,
    conversation: str,
    message_id: object,
    settings: Settings | None = None,
    now: float | None = None,
) -> str | None:
    """The patient a valid claim names for this conversation and message, else None."""
    if not isinstance(claim, str) or len(claim) > 2048 or not isinstance(message_id, str):
        return None
    version, _, rest = claim.partition(".")
    body, _, mac = rest.partition(".")
    if version != _VERSION or not body or not mac:
        return None
    settings = settings or get_settings()
    if not hmac.compare_digest(mac, _mac(body, settings)):
        return None
    try:
        payload = json.loads(_unb64(body))
    except ValueError:
        return None
    now = time.time() if now is None else now
    if not isinstance(payload, dict) or not isinstance(payload.get("e"), int):
        return None
    if payload["e"] < now or payload.get("c") != conversation or payload.get("m") != message_id:
        return None
    patient = payload.get("p")
    return patient if isinstance(patient, str) and patient else None
