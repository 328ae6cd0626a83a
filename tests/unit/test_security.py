"""Secrets, derived keys, server-issued anonymous sessions and log redaction (issue 12)."""

from __future__ import annotations

import hashlib
import hmac
import logging

import pytest

from bot.config import DEV_SECRET, Settings, UnsafeSettings, is_loopback
from bot.identity.keys import PURPOSES, derived_key
from bot.identity.tokens import (
    conversation_id,
    is_anonymous_session,
    issue_token,
    new_anonymous_session,
    session_for,
)
from bot.security import redaction

GOOD = "a-real-secret-of-more-than-32-bytes-" + "x" * 16


@pytest.mark.parametrize("environment", ["production", "test"])
@pytest.mark.parametrize("secret", [DEV_SECRET, "short-but-not-empty", "", "   "])
def test_weak_secrets_are_refused_outside_development(environment: str, secret: str) -> None:
    with pytest.raises(UnsafeSettings):
        Settings(environment=environment, jwt_secret=secret).check("127.0.0.1")


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.org", "::"])
def test_dev_secret_in_development_only_on_loopback(host: str) -> None:
    settings = Settings(environment="development", jwt_secret=DEV_SECRET)
    with pytest.raises(UnsafeSettings, match="development secret"):
        settings.check(host)
    for loopback in ("127.0.0.1", "localhost", "::1", None):
        settings.check(loopback)


def test_a_long_secret_is_accepted_everywhere() -> None:
    for environment in ("production", "test", "development"):
        Settings(environment=environment, jwt_secret=GOOD).check("0.0.0.0")


def test_debug_is_refused_outside_development() -> None:
    with pytest.raises(UnsafeSettings, match="DEBUG"):
        Settings(environment="production", jwt_secret=GOOD, log_level="DEBUG").check()
    Settings(environment="development", log_level="DEBUG").check()


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(UnsafeSettings, match="ENVIRONMENT"):
        Settings(environment="prod", jwt_secret=GOOD).check()


def test_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.1")


def test_each_purpose_has_its_own_key_and_none_is_the_secret() -> None:
    settings = Settings(jwt_secret=GOOD)
    keys = {derived_key(p, settings) for p in PURPOSES}
    assert len(keys) == len(PURPOSES)
    assert GOOD.encode() not in keys and all(len(k) == 32 for k in keys)
    other = Settings(jwt_secret=GOOD + "!")
    assert all(derived_key(p, settings) != derived_key(p, other) for p in PURPOSES)


def test_conversation_ids_are_not_keyed_with_the_token_secret() -> None:
    """Old code: HMAC(JWT_SECRET, ...); whoever holds the portal's key could compute ids."""
    settings = Settings(jwt_secret=GOOD)
    old = hmac.new(GOOD.encode(), b"P-1\x00client", hashlib.sha256).hexdigest()[:32]
    assert conversation_id("P-1", "client", settings) != "p-" + old


def test_anonymous_sessions_are_server_issued() -> None:
    settings = Settings(jwt_secret=GOOD)
    issued = new_anonymous_session(settings)
    assert is_anonymous_session(issued, settings)
    assert len(issued.split(".")[1]) >= 22  # 16 random bytes, base64url: 128 bits
    assert new_anonymous_session(settings) != issued
    tampered = issued[:-2] + ("AA" if not issued.endswith("AA") else "BB")
    other_server = Settings(jwt_secret=GOOD + "?")
    for bad in ("a", "anon.x.y", tampered, issued + "x", None, 42, "anon." + "a" * 30 + "."):
        assert not is_anonymous_session(bad, settings), bad
    assert not is_anonymous_session(issued, other_server)


def test_session_for_keeps_only_issued_anonymous_ids() -> None:
    settings = Settings(jwt_secret=GOOD)
    issued = new_anonymous_session(settings)
    assert session_for(issued, None, settings) == issued
    chosen = session_for("a", None, settings)
    assert chosen != "a" and is_anonymous_session(chosen, settings)
    # A signed-in patient's own id only picks among their own conversations.
    assert session_for("my-tab", "P-1", settings) == "my-tab"


def _record(name: str, msg: str, *args: object, exc: BaseException | None = None):
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, exc_info)


def test_redaction_removes_tokens_texts_numbers_and_dumps() -> None:
    token = issue_token("demo-video", Settings(jwt_secret=GOOD))
    record = _record(
        "rasa.core.actions.action",
        "Failed to run custom action. request_body: %s",
        {"tracker": {"latest_message": {"text": "my number is 07700 900123, temp 38.9"}}},
    )
    text = redaction.redact_record(record).getMessage()
    assert "07700" not in text and "38.9" not in text and "my number" not in text
    assert text.startswith("Failed to run custom action. request_body:")
    for raw in (
        f"Bearer {token}",
        f"token={token}",
        f"Failed to parse intent end entities from '/{token} Jamie Fenwick'",
        'parse failed for "I feel awful today"',
        "call me on 0113 496 0000",
    ):
        cleaned = redaction.redact_text(raw)
        for secret in (token, "Jamie", "awful", "0113", "496"):
            assert secret not in cleaned, (raw, cleaned)


def test_redaction_keeps_action_names_and_our_own_words() -> None:
    assert "'action_next_appointment'" in redaction.redact_text(
        "Failed to run custom action 'action_next_appointment'."
    )
    own = _record("components.channels", "rest message handled (auth=%s)", "verified")
    assert redaction.redact_record(own).getMessage() == "rest message handled (auth=verified)"


def test_exception_messages_are_dropped_but_frames_kept() -> None:
    try:
        raise ValueError("no record for Jamie Fenwick, 07700 900123")
    except ValueError as exc:
        record = _record("rasa_sdk.endpoint", "action failed", exc=exc)
    handler_output = logging.Formatter("%(message)s").format(redaction.redact_record(record))
    assert "Jamie" not in handler_output and "07700" not in handler_output
    assert "ValueError: [redacted]" in handler_output and "test_security.py" in handler_output


def test_installed_factory_cleans_every_logger(caplog: pytest.LogCaptureFixture) -> None:
    redaction.install()
    with caplog.at_level(logging.INFO):
        logging.getLogger("some.library").warning("user said %r", "sentinel-zx81 words")
    assert "sentinel-zx81" not in caplog.text and "user said" in caplog.text


@pytest.mark.parametrize("environment", ["production", "test"])
def test_seed_demo_only_in_development(env_settings, db_url: str, capsys, environment: str) -> None:
    from bot.apps.cli import main

    env_settings(environment=environment, jwt_secret=GOOD)
    assert main(["--database-url", db_url, "seed-demo"]) == 1
    assert "only when ENVIRONMENT=development" in capsys.readouterr().err


def test_cli_refuses_unsafe_settings(env_settings, capsys) -> None:
    from bot.apps.cli import main

    env_settings(environment="production", jwt_secret="short")
    assert main(["db-upgrade"]) == 1
    assert "at least 32 bytes" in capsys.readouterr().err
