"""Email to the care team's mailbox when a patient files a request (SMTP, Python's smtplib).

The email carries only the reference, the kind of request and a link to the console: no
name, number, reason or other personal or clinical detail, because email leaves the
hospital's systems. A failure to send never loses the request (it is already saved); it is
logged with the reference and the error's class only.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

from bot.config import Settings, get_settings

log = logging.getLogger(__name__)

KIND_WORDS = {
    "f2f": "a request to come in face to face",
    "phone": "a corrected contact number",
    "cb": "a request for a callback",
}


def build_message(reference: str, settings: Settings) -> EmailMessage:
    """The notification for one request: reference, kind and console link, nothing personal."""
    kind = KIND_WORDS.get(reference.split("-")[0], "a request")
    link = f"{settings.console_url.rstrip('/')}/queue#{reference}"
    message = EmailMessage()
    message["Subject"] = f"New patient request {reference}"
    message["From"] = settings.notify_from
    message["To"] = settings.notify_to
    message["Message-ID"] = make_msgid(domain="all-followup")
    message.set_content(
        f"A patient has made {kind} through the follow-up assistant.\n\n"
        f"Reference: {reference}\n"
        f"Open the staff console to see it and act on it:\n{link}\n\n"
        "For privacy, this email holds no personal or clinical details.\n"
    )
    return message


def notify_request(reference: str, settings: Settings | None = None) -> bool:
    """Send the notification for a filed request; True if the server accepted it."""
    settings = settings or get_settings()
    if not settings.smtp_host:
        log.warning("request %s filed; email notifications are off (no SMTP_HOST)", reference)
        return False
    message = build_message(reference, settings)
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        # The class only: server replies can echo addresses back.
        log.error("request %s saved but its email failed (%s)", reference, type(exc).__name__)
        return False
    log.info("request %s: team notified by email", reference)
    return True
