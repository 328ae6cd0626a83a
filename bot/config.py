"""One settings object, read from the environment and an optional `.env` file."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path

from pydantic import BaseSettings, Field

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# A marked default for demos, accepted only in development on loopback (Settings.check).
DEV_SECRET = "dev-only-secret-change-me-before-production"  # noqa: S105
DEV_CONSOLE_SECRET = "dev-only-console-secret-change-me-before-production"  # noqa: S105
MIN_SECRET_BYTES = 32
ENVIRONMENTS = ("development", "test", "production")


class UnsafeSettings(ValueError):
    """Settings a process must refuse to start with."""


def is_loopback(host: str | None) -> bool:
    """Whether `host` (an interface to listen on) is reachable only from this machine."""
    if host is None:
        return True
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """Everything configurable about the assistant, with safe local defaults."""

    environment: str = Field("development", description="development, test or production")
    database_url: str = Field(
        f"sqlite:///{PROJECT_ROOT / 'var' / 'bot.db'}",
        description="SQLAlchemy URL for patient records and the conversation store",
    )
    jwt_secret: str = Field(DEV_SECRET, description="HS256 key shared with the patient portal")
    jwt_audience: str = "all-followup-assistant"
    jwt_issuer: str = "patient-portal"
    token_minutes: int = 60
    timezone: str = "Europe/London"
    fever_threshold_c: float = 37.5
    spacy_model_dir: Path = PROJECT_ROOT / ".build" / "spacy-en-lookup"
    safety_terms_file: Path = PROJECT_ROOT / "content" / "safety_terms.yml"
    action_server_url: str = "http://127.0.0.1:5055/webhook"
    widget_port: int = 8080
    widget_host: str = Field("127.0.0.1", description="where bot/apps/web.py listens")
    demo_tokens_enabled: bool = Field(
        True,
        description="let the demo page issue tokens for the demo patients (development only)",
    )
    allowed_origins: str = "http://localhost:8080,http://127.0.0.1:8080"
    rasa_url: str = "http://localhost:5005"
    log_level: str = "INFO"
    # The staff console (bot/apps/console.py), its own app on its own port.
    console_host: str = Field("127.0.0.1", description="where bot/apps/console.py listens")
    console_port: int = 8081
    console_url: str = Field(
        "http://localhost:8081", description="the console's address, for links in emails"
    )
    console_secret: str = Field(
        DEV_CONSOLE_SECRET, description="key that encrypts console session cookies"
    )
    console_session_minutes: int = Field(30, description="idle minutes before signing out")
    console_secure_cookies: bool = Field(
        True, description="session cookie only over HTTPS (browsers exempt localhost)"
    )
    console_login_limit: str = Field(
        "5/minute", description="sign-in attempts per username (limits syntax)"
    )
    console_login_limit_per_address: str = Field(
        "30/minute", description="sign-in attempts per client address (a ward may share one)"
    )
    # Email to the care team when a patient files a request (bot/care/notifications.py).
    smtp_host: str = Field("", description="SMTP server; empty turns notifications off")
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10
    notify_from: str = "all-followup-assistant@localhost"
    notify_to: str = Field("care-team@localhost", description="the team's mailbox")
    # Security limits (docs/security.md). Rates use the `limits` notation, e.g. "30/minute".
    max_body_bytes: int = Field(16 * 1024, description="largest REST request body accepted")
    rate_limit_per_ip: str = Field("30/minute", description="messages per client address")
    rate_limit_per_patient: str = Field("20/minute", description="messages per signed-in patient")
    rate_limit_storage: str = Field(
        "memory://", description="where rate-limit counters live (`limits` storage URI)"
    )
    socket_queue_max: int = Field(3, description="messages a socket may have waiting")
    identity_claim_seconds: int = Field(
        120, description="how long the channel's signed identity claim is good for"
    )
    retention_days: int = Field(30, description="`bot purge` removes conversations older than this")
    tracker_cache_size: int = Field(
        256, description="conversations whose events a Rasa process keeps between turns (0: off)"
    )
    tracker_cache_seconds: float = Field(
        900, description="how long an idle conversation's events stay in a Rasa process's memory"
    )
    message_id_ttl_seconds: int = Field(
        86400, description="how long a client message id's reply is kept to answer a retry"
    )

    class Config:
        """Read `.env` beside the project, environment variables win."""

        env_file = str(PROJECT_ROOT / ".env")
        env_file_encoding = "utf-8"

    @property
    def origins(self) -> list[str]:
        """The allowed browser origins as a list."""
        return [o.strip() for o in self.allowed_origins.split(",") if o.strip()]

    def check_console(self, host: str | None = None) -> None:
        """The console's own extra check: its cookie key may not be the published one."""
        if (
            not (self.development and is_loopback(host))
            and self.console_secret == DEV_CONSOLE_SECRET
        ):
            raise UnsafeSettings("CONSOLE_SECRET must be set outside development on loopback")

    @property
    def development(self) -> bool:
        """Whether this is a developer's machine (the only place demo features run)."""
        return self.environment == "development"

    def check(self, host: str | None = None) -> None:
        """Refuse to run with unsafe settings; every process calls this at start.

        `host` is the interface the process listens on (None for the CLI, which listens on
        nothing). The development secret, or any secret under 32 bytes, is accepted only in
        development on loopback; DEBUG logging (which would log message texts) only in
        development.
        """
        if self.environment not in ENVIRONMENTS:
            raise UnsafeSettings(
                f"ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}, not {self.environment!r}"
            )
        local_dev = self.development and is_loopback(host)
        secret = self.jwt_secret or ""
        if not local_dev:
            where = "outside development" if not self.development else f"when listening on {host}"
            if not secret.strip():
                raise UnsafeSettings(f"JWT_SECRET must be set {where}")
            if secret == DEV_SECRET:
                raise UnsafeSettings(
                    f"JWT_SECRET is the published development secret: set your own {where}"
                )
            if len(secret.encode("utf-8")) < MIN_SECRET_BYTES:
                raise UnsafeSettings(
                    f"JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes {where} "
                    "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
                )
        if not self.development and self.log_level.upper() in ("DEBUG", "NOTSET"):
            raise UnsafeSettings("LOG_LEVEL=DEBUG logs message texts: allowed only in development")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (read once, lazily)."""
    return Settings()
