"""Separate keys for separate jobs, derived from the one configured secret with HKDF.

The portal signs patients' tokens with JWT_SECRET itself (it is a shared key, so token checks
must use it unchanged). Everything the servers sign only for themselves uses a key derived
from it with HKDF-SHA256 (RFC 5869, from the `cryptography` package) and a purpose label, so
a value made for one purpose (say a conversation id) is useless for another (an identity
claim), and none of them reveals the portal's key.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.config import Settings, get_settings

CONVERSATION_ID = "conversation-id"
IDENTITY_CLAIM = "identity-claim"
ANONYMOUS_SESSION = "anonymous-session"
PURPOSES = (CONVERSATION_ID, IDENTITY_CLAIM, ANONYMOUS_SESSION)
_SALT = b"all-followup-assistant/hkdf/v1"


@lru_cache(maxsize=16)
def _derive(secret: str, purpose: str) -> bytes:
    hkdf = HKDF(algorithm=SHA256(), length=32, salt=_SALT, info=purpose.encode("ascii"))
    return hkdf.derive(secret.encode("utf-8"))


def derived_key(purpose: str, settings: Settings | None = None) -> bytes:
    """The 32-byte key for `purpose` (one of PURPOSES)."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown key purpose {purpose!r}")
    settings = settings or get_settings()
    return _derive(settings.jwt_secret, purpose)
