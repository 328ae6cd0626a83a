"""Notification emails, sent to a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

import logging

from bot.care.notifications import build_message, notify_request
from bot.config import Settings
from tests.conftest import Mailbox
from tests.e2e.servers import free_port


def settings_for(box: Mailbox) -> Settings:
    return Settings(
        smtp_host=box.host,
        smtp_port=box.port,
        notify_to="care-team@hospital.test",
        notify_from="assistant@hospital.test",
        console_url="https://console.hospital.test/",
    )


def test_the_team_gets_a_reference_and_a_link_and_nothing_personal(mailbox: Mailbox) -> None:
    assert notify_request("f2f-7", settings_for(mailbox)) is True
    [message] = mailbox.wait_for(1)
    assert message["To"] == "care-team@hospital.test"
    assert message["From"] == "assistant@hospital.test"
    assert message["Subject"] == "New patient request f2f-7"
    body = message.get_content()
    assert "f2f-7" in body and "face to face" in body
    assert "https://console.hospital.test/queue#f2f-7" in body
    # Only the reference: no portal id, name, number or reason can be in it.
    assert "demo-" not in body and "07700" not in body


def test_each_kind_is_named() -> None:
    settings = Settings()
    assert "callback" in build_message("cb-2", settings).get_content()
    assert "contact number" in build_message("phone-3", settings).get_content()


def test_a_failed_send_returns_false_and_is_logged_without_details(caplog) -> None:
    settings = Settings(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_timeout_seconds=2)
    with caplog.at_level(logging.ERROR, logger="bot.care.notifications"):
        assert notify_request("cb-9", settings) is False
    assert "cb-9" in caplog.text and "ConnectionRefusedError" in caplog.text


def test_no_smtp_host_means_off_and_says_so(caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.care.notifications"):
        assert notify_request("cb-1", Settings(smtp_host="")) is False
    assert "notifications are off" in caplog.text
