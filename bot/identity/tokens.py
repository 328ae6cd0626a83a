"""Who is chatting: portal-issued HS256 tokens and per-patient conversation ids.

The patient portal signs a short-lived JWT (HS256, shared secret) whose ``sub`` is
the patient's portal id. `verify_token` accepts only HS256 and requires ``exp``,
``iat``, ``sub``, ``aud`` and ``iss`` to be present and right; anything else is
treated as "no patient". `check_token` says why, as a `TokenStatus` that is safe
to log (the token and its claims never are).

`conversation_id` derives the tracker id from the verified patient *and* the
client's sender id with an HMAC, so presenting another patient's token, or none,
with an existing client sender id lands in a different conversation. Its key is derived
from the secret for that purpose only (bot/identity/keys.py).

Anonymous conversations have no patient to bind to, so their session ids come from the
server (`new_anonymous_session`: 128 random bits and an HMAC tag) and a client id that is not
one of these starts a fresh conversation: nobody can pick an id someone else is using.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt
from jwt import exceptions as jwt_errors

from bot.config import Settings, get_settings
from bot.identity.keys import ANONYMOUS_SESSION, CONVERSATION_ID, derived_key

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
# Tolerates small clock differences between the portal and us.
LEEWAY_SECONDS = 30
MAX_SENDER_LENGTH = 128
MAX_PORTAL_ID_LENGTH = 128
_REQUIRED_CLAIMS = ["exp", "iat", "sub", "aud", "iss"]

# Message-metadata keys written only by the identity channel (client metadata is dropped):
# the verified portal id (or None) and "verified" / "anonymous" / "rejected".
VERIFIED_PATIENT_KEY = "verified_patient"
AUTH_KEY = "auth"


class TokenStatus(str, enum.Enum):
    """Why a token was accepted or refused; safe to log."""

    OK = "ok"
    MISSING = "missing"
    MALFORMED = "malformed"
    BAD_ALGORITHM = "bad_algorithm"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_AUDIENCE = "wrong_audience"
    WRONG_ISSUER = "wrong_issuer"
    MISSING_CLAIM = "missing_claim"
    BAD_SUBJECT = "bad_subject"
    INVALID = "invalid"


@dataclass(frozen=True)
class TokenCheck:
    """The outcome of checking a token: the portal id if valid, and the reason."""

    status: TokenStatus
    portal_id: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the token identified a patient."""
        return self.status is TokenStatus.OK


def _valid_portal_id(value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_PORTAL_ID_LENGTH
        and value == value.strip()
        and value.isprintable()
    )


def issue_token(
    portal_id: str,
    settings: Settings | None = None,
    minutes: int | None = None,
    now: datetime | None = None,
) -> str:
    """Return a signed HS256 token for `portal_id` (as the portal would issue it)."""
    settings = settings or get_settings()
    if not _valid_portal_id(portal_id):
        raise ValueError("portal id must be 1-128 printable characters without edge spaces")
    minutes = settings.token_minutes if minutes is None else minutes
    if minutes <= 0:
        raise ValueError("minutes must be positive")
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    claims = {
        "sub": portal_id,
        "aud": settings.jwt_audience,
        "iss": settings.jwt_issuer,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=minutes)).timestamp()),
    }
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)


def check_token(token: str | None, settings: Settings | None = None) -> TokenCheck:
    """Verify `token` and say why it was refused; never raises for bad input."""
    if not token or not isinstance(token, str):
        return TokenCheck(TokenStatus.MISSING)
    settings = settings or get_settings()
    try:
        header = jwt.get_unverified_header(token)
    except jwt_errors.PyJWTError:
        return TokenCheck(TokenStatus.MALFORMED)
    if header.get("alg") != ALGORITHM:
        return TokenCheck(TokenStatus.BAD_ALGORITHM)
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": _REQUIRED_CLAIMS},
        )
    except jwt_errors.ExpiredSignatureError:
        return TokenCheck(TokenStatus.EXPIRED)
    except jwt_errors.ImmatureSignatureError:
        return TokenCheck(TokenStatus.NOT_YET_VALID)
    except jwt_errors.InvalidSignatureError:
        return TokenCheck(TokenStatus.BAD_SIGNATURE)
    except jwt_errors.InvalidAlgorithmError:
        return TokenCheck(TokenStatus.BAD_ALGORITHM)
    except jwt_errors.MissingRequiredClaimError:
        return TokenCheck(TokenStatus.MISSING_CLAIM)
    except jwt_errors.InvalidAudienceError:
        return TokenCheck(TokenStatus.WRONG_AUDIENCE)
    except jwt_errors.InvalidIssuerError:
        return TokenCheck(TokenStatus.WRONG_ISSUER)
    except jwt_errors.InvalidSubjectError:
        return TokenCheck(TokenStatus.BAD_SUBJECT)
    except jwt_errors.DecodeError:
        return TokenCheck(TokenStatus.MALFORMED)
    except jwt_errors.PyJWTError:
        return TokenCheck(TokenStatus.INVALID)
    subject = claims.get("sub")
    if not _valid_portal_id(subject):
        return TokenCheck(TokenStatus.BAD_SUBJECT)
    return TokenCheck(TokenStatus.OK, subject)


def verify_token(token: str | None, settings: Settings | None = None) -> str | None:
    """Return the portal id of a valid token, or None for a missing or invalid one."""
    result = check_token(token, settings)
    if result.status not in (TokenStatus.OK, TokenStatus.MISSING):
        log.info("token refused: %s", result.status.value)
    return result.portal_id


def clean_sender(sender: object) -> str | None:
    """Return the client's sender id stripped, or None if it is unusable (caller makes one)."""
    if not isinstance(sender, str):
        return None
    sender = sender.strip()
    if not sender or len(sender) > MAX_SENDER_LENGTH or not sender.isprintable():
        return None
    return sender


def new_sender() -> str:
    """Return a fresh random client sender id."""
    return secrets.token_urlsafe(18)


def conversation_id(
    portal_id: str | None, client_sender: str, settings: Settings | None = None
) -> str:
    """Return the tracker id for this client, namespaced by the verified patient (or none)."""
    if clean_sender(client_sender) != client_sender:
        raise ValueError("client sender id is not clean; pass it through clean_sender first")
    key = derived_key(CONVERSATION_ID, settings)
    if portal_id is None:
        message, prefix = "anon\x00" + client_sender, "a-"
    else:
        if not _valid_portal_id(portal_id):
            raise ValueError("invalid portal id")
        message, prefix = portal_id + "\x00" + client_sender, "p-"
    digest = hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()
    return prefix + digest[:32]


_ANON_PREFIX = "anon."
_ANON_RANDOM_BYTES = 16  # 128 bits


def _anonymous_tag(random_part: str, settings: Settings | None) -> str:
    key = derived_key(ANONYMOUS_SESSION, settings)
    digest = hmac.new(key, random_part.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


def new_anonymous_session(settings: Settings | None = None) -> str:
    """A fresh server-issued anonymous session id: 128 random bits and their HMAC tag."""
    random_part = secrets.token_urlsafe(_ANON_RANDOM_BYTES)
    return f"{_ANON_PREFIX}{random_part}.{_anonymous_tag(random_part, settings)}"


def is_anonymous_session(value: object, settings: Settings | None = None) -> bool:
    """Whether `value` is a session id this server issued (so the client did not choose it)."""
    if not isinstance(value, str) or not value.startswith(_ANON_PREFIX) or len(value) > 80:
        return False
    random_part, _, tag = value[len(_ANON_PREFIX) :].partition(".")
    if len(random_part) < 22 or not tag:
        return False
    try:
        expected = _anonymous_tag(random_part, settings)
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(tag.encode("ascii", "replace"), expected.encode("ascii"))


def session_for(requested: object, portal_id: str | None, settings: Settings | None = None) -> str:
    """The client session id to use: a patient's own clean id, or a server-issued anonymous one.

    A signed-in patient's id only selects among their own conversations (conversation_id binds
    it to them), so any clean id will do. Without a patient, only an id this server issued
    is kept; anything else gets a new one.
    """
    if portal_id is not None:
        return clean_sender(requested) or new_sender()
    if is_anonymous_session(requested, settings):
        return requested  # type: ignore[return-value]
    return new_anonymous_session(settings)
