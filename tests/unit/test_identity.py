import base64
import json
import logging
import re
from datetime import datetime, timedelta, timezone

import jwt
import pytest

from bot.config import Settings
from bot.identity.tokens import (
    TokenStatus,
    check_token,
    clean_sender,
    conversation_id,
    issue_token,
    new_sender,
    verify_token,
)

SECRET = "test-secret-" + "x" * 60
SETTINGS = Settings(jwt_secret=SECRET, jwt_audience="aud-1", jwt_issuer="portal-1")


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(**overrides: object) -> dict:
    now = int(datetime.now(timezone.utc).timestamp())
    claims = {"sub": "P-1", "aud": "aud-1", "iss": "portal-1", "iat": now, "exp": now + 600}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _status(token: str | None) -> TokenStatus:
    return check_token(token, SETTINGS).status


def test_good_token() -> None:
    token = issue_token("P-1", SETTINGS)
    assert verify_token(token, SETTINGS) == "P-1"
    result = check_token(token, SETTINGS)
    assert result.ok and result.portal_id == "P-1" and result.status is TokenStatus.OK


def test_token_claims() -> None:
    now = datetime(2030, 1, 1, 12, tzinfo=timezone.utc)
    token = issue_token("P-1", SETTINGS, minutes=5, now=now)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims == {
        "sub": "P-1",
        "aud": "aud-1",
        "iss": "portal-1",
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + 300,
    }
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


def test_default_lifetime_comes_from_settings() -> None:
    settings = Settings(jwt_secret=SECRET, token_minutes=7)
    claims = jwt.decode(issue_token("P-1", settings), options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 7 * 60


def test_forged_signature() -> None:
    header, _payload, signature = issue_token("P-1", SETTINGS).split(".")
    forged = ".".join([header, _b64(_claims(sub="P-2")), signature])
    assert verify_token(forged, SETTINGS) is None
    assert _status(forged) is TokenStatus.BAD_SIGNATURE


def test_wrong_key() -> None:
    other = Settings(
        jwt_secret="another-secret-" + "y" * 40, jwt_audience="aud-1", jwt_issuer="portal-1"
    )
    token = issue_token("P-1", other)
    assert verify_token(token, SETTINGS) is None
    assert _status(token) is TokenStatus.BAD_SIGNATURE


def test_expired() -> None:
    token = issue_token(
        "P-1", SETTINGS, minutes=60, now=datetime.now(timezone.utc) - timedelta(hours=2)
    )
    assert verify_token(token, SETTINGS) is None
    assert _status(token) is TokenStatus.EXPIRED


def test_small_clock_skew_is_tolerated() -> None:
    token = issue_token(
        "P-1", SETTINGS, minutes=1, now=datetime.now(timezone.utc) - timedelta(seconds=70)
    )
    assert verify_token(token, SETTINGS) == "P-1"


def test_issued_in_the_future() -> None:
    token = issue_token("P-1", SETTINGS, now=datetime.now(timezone.utc) + timedelta(hours=1))
    assert verify_token(token, SETTINGS) is None
    assert _status(token) is TokenStatus.NOT_YET_VALID


def test_alg_none_crafted_by_hand() -> None:
    token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}."
    assert verify_token(token, SETTINGS) is None
    assert _status(token) is TokenStatus.BAD_ALGORITHM


def test_other_hmac_algorithm_is_refused() -> None:
    token = jwt.encode(_claims(), SECRET, algorithm="HS512")
    assert verify_token(token, SETTINGS) is None
    assert _status(token) is TokenStatus.BAD_ALGORITHM


def test_wrong_audience() -> None:
    token = jwt.encode(_claims(aud="someone-else"), SECRET, algorithm="HS256")
    assert verify_token(token, SETTINGS) is None
    assert _status(token) is TokenStatus.WRONG_AUDIENCE


def test_wrong_issuer() -> None:
    token = jwt.encode(_claims(iss="evil-portal"), SECRET, algorithm="HS256")
    assert verify_token(token, SETTINGS) is None
    assert _status(token) is TokenStatus.WRONG_ISSUER


@pytest.mark.parametrize("claim", ["sub", "exp", "aud", "iss", "iat"])
def test_missing_claims(claim: str) -> None:
    token = jwt.encode(_claims(**{claim: None}), SECRET, algorithm="HS256")
    assert verify_token(token, SETTINGS) is None
    assert _status(token) is TokenStatus.MISSING_CLAIM


@pytest.mark.parametrize("sub", ["", " padded ", "x" * 129, "line\nbreak"])
def test_unusable_subject(sub: str) -> None:
    token = jwt.encode(_claims(sub=sub), SECRET, algorithm="HS256")
    assert verify_token(token, SETTINGS) is None


def test_non_string_subject() -> None:
    token = jwt.encode(_claims(sub=42), SECRET, algorithm="HS256")
    assert verify_token(token, SETTINGS) is None
    assert _status(token) is TokenStatus.BAD_SUBJECT


@pytest.mark.parametrize("garbage", ["not-a-token", "a.b.c", "....", "é.é.é", "Bearer x.y.z"])
def test_garbage(garbage: str) -> None:
    assert verify_token(garbage, SETTINGS) is None
    assert _status(garbage) is TokenStatus.MALFORMED


@pytest.mark.parametrize("missing", [None, ""])
def test_missing(missing: str | None) -> None:
    assert verify_token(missing, SETTINGS) is None
    assert _status(missing) is TokenStatus.MISSING


def test_refusals_are_logged_without_the_token(caplog: pytest.LogCaptureFixture) -> None:
    token = jwt.encode(_claims(aud="someone-else", sub="secret-patient"), SECRET, algorithm="HS256")
    with caplog.at_level(logging.INFO, logger="bot.identity.tokens"):
        verify_token(token, SETTINGS)
    assert "wrong_audience" in caplog.text
    assert token not in caplog.text
    assert "secret-patient" not in caplog.text


def test_issue_token_refuses_bad_input() -> None:
    with pytest.raises(ValueError):
        issue_token("", SETTINGS)
    with pytest.raises(ValueError):
        issue_token("P-1", SETTINGS, minutes=0)
    with pytest.raises(ValueError):
        issue_token("P-1", SETTINGS, now=datetime(2030, 1, 1))


# ---------------------------------------------------------------- conversation ids


def test_conversation_id_format_and_stability() -> None:
    cid = conversation_id("P-1", "browser-123", SETTINGS)
    assert re.fullmatch(r"p-[0-9a-f]{32}", cid)
    assert conversation_id("P-1", "browser-123", SETTINGS) == cid
    assert re.fullmatch(r"a-[0-9a-f]{32}", conversation_id(None, "browser-123", SETTINGS))


def test_other_patient_on_same_sender_gets_another_conversation() -> None:
    mine = conversation_id("P-1", "browser-123", SETTINGS)
    assert conversation_id("P-2", "browser-123", SETTINGS) != mine
    assert conversation_id(None, "browser-123", SETTINGS) != mine


def test_sender_and_secret_both_matter() -> None:
    mine = conversation_id("P-1", "browser-123", SETTINGS)
    assert conversation_id("P-1", "browser-124", SETTINGS) != mine
    other = Settings(jwt_secret="another-secret-" + "y" * 40)
    assert conversation_id("P-1", "browser-123", other) != mine


def test_separator_cannot_be_smuggled() -> None:
    # "anon" as a portal id is still a patient id, and ids cannot hold the separator.
    assert conversation_id("anon", "s", SETTINGS) != conversation_id(None, "s", SETTINGS)
    with pytest.raises(ValueError):
        conversation_id("P-1\x00x", "s", SETTINGS)


def test_conversation_id_requires_a_clean_sender() -> None:
    with pytest.raises(ValueError):
        conversation_id("P-1", "", SETTINGS)
    with pytest.raises(ValueError):
        conversation_id("P-1", " padded ", SETTINGS)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("abc", "abc"),
        ("  abc  ", "abc"),
        ("x" * 128, "x" * 128),
        ("x" * 129, None),
        ("", None),
        ("   ", None),
        (None, None),
        (123, None),
        ("a\nb", None),
    ],
)
def test_clean_sender(raw: object, clean: str | None) -> None:
    assert clean_sender(raw) == clean


def test_new_sender_is_random_and_clean() -> None:
    first, second = new_sender(), new_sender()
    assert first != second
    assert clean_sender(first) == first
