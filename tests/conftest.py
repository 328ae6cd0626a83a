"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL.

PostgreSQL: each test gets its own schema in the server at TEST_POSTGRES_URL
(default postgresql://postgres@127.0.0.1:5432/test), reached through the URL's
search_path, so the code under test needs no special handling. If the server is
unreachable those tests are skipped, unless REQUIRE_POSTGRES=1 makes that a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.config import get_settings
from bot.storage.db import make_engine, make_session_factory, upgrade

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
_reachability: dict[str, str | None] = {}


def postgres_base_url() -> str:
    """The server tests may create schemas in (DATABASE_URL_TEST_PG is an older alias)."""
    return (
        os.environ.get("TEST_POSTGRES_URL")
        or os.environ.get("DATABASE_URL_TEST_PG")
        or DEFAULT_POSTGRES_URL
    )


def _unreachable(url: str) -> str | None:
    """Return why PostgreSQL at `url` cannot be used, or None; checked once per run."""
    if url not in _reachability:
        engine = create_engine(url, future=True, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            _reachability[url] = None
        except Exception as exc:  # any failure means "cannot test here"
            first = str(getattr(exc, "orig", exc)).strip().splitlines()
            _reachability[url] = first[0] if first else type(exc).__name__
        finally:
            engine.dispose()
    return _reachability[url]


@contextmanager
def fresh_database_url(kind: str, tmp_path: Path) -> Iterator[str]:
    """A URL for an empty database: a new SQLite file, or a new PostgreSQL schema."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'records.db'}"
        return
    base = postgres_base_url()
    problem = _unreachable(base)
    if problem:
        shown = make_url(base).render_as_string(hide_password=True)
        message = (
            f"PostgreSQL not reachable at {shown} ({problem}); set TEST_POSTGRES_URL "
            "to a server, or REQUIRE_POSTGRES=1 to make this a failure"
        )
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, future=True)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


DATABASE_KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=DATABASE_KINDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL for an empty database, on SQLite and on PostgreSQL."""
    with fresh_database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a freshly migrated database."""
    upgrade(db_url)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker:
    """A session factory on the migrated database."""
    return make_session_factory(engine)


@pytest.fixture
def session(session_factory: sessionmaker) -> Iterator[Session]:
    """A session on the migrated database (tests commit when they need to)."""
    sess = session_factory()
    yield sess
    sess.rollback()
    sess.close()


@pytest.fixture
def env_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set settings through environment variables, e.g. env_settings(JWT_SECRET="...")."""

    def apply(**values: str) -> None:
        for key, value in values.items():
            monkeypatch.setenv(key.upper(), value)
        get_settings.cache_clear()

    get_settings.cache_clear()
    yield apply
    get_settings.cache_clear()


class Mailbox:
    """What a real local SMTP server (aiosmtpd) received: parsed messages, in order."""

    def __init__(self) -> None:
        self.messages: list = []
        self.host = "127.0.0.1"
        self.port = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 20) -> list:
        """Wait until `count` messages have arrived, then return them all."""
        import time

        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return list(self.messages)

    def env(self) -> dict[str, str]:
        """Settings that send the project's notifications here."""
        return {
            "SMTP_HOST": self.host,
            "SMTP_PORT": str(self.port),
            "NOTIFY_TO": "care-team@hospital.test",
            "NOTIFY_FROM": "assistant@hospital.test",
        }


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server on a free loopback port for the length of one test."""
    from aiosmtpd.controller import Controller

    from tests.e2e.servers import free_port

    box = Mailbox()
    box.port = free_port()
    controller = Controller(box, hostname=box.host, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
