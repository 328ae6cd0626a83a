"""One settings object, read from the environment and an optional `.env` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseSettings, Field

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# A marked default for demos, refused in production.
DEV_SECRET = "dev-only-secret-change-me-before-production"  # noqa: S105


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
        description="let the demo page issue tokens for the demo patients (never in production)",
    )
    allowed_origins: str = "http://localhost:8080,http://127.0.0.1:8080"
    rasa_url: str = "http://localhost:5005"
    log_level: str = "INFO"
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

    def check(self) -> None:
        """Refuse settings that are unsafe outside development."""
        if self.environment == "production" and self.jwt_secret == DEV_SECRET:
            raise ValueError("JWT_SECRET must be set in production")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (read once, lazily)."""
    return Settings()
