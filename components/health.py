"""Liveness and readiness of a Rasa server, for load balancers and orchestrators.

`GET /webhooks/health/live` answers 200 while the process serves requests.
`GET /webhooks/health/ready` answers 200 only when the model is loaded, the conversation
database answers, the lock store's Redis (if any) answers and the action server says it is
healthy; otherwise 503 with the failed checks named (never any patient data). HAProxy in
`make cluster` sends messages only to ready instances (docs/deploy.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bot.config import get_settings
from bot.storage.db import make_engine

CHECK_TIMEOUT_SECONDS = 2.0


@lru_cache(maxsize=4)
def _engine(url: str) -> Engine:
    """One small pre-pinging engine per database, kept for the checks."""
    return make_engine(url)


def _database_ok(url: str) -> bool:
    with _engine(url).connect() as conn:
        conn.execute(text("SELECT 1"))
    return True


def action_health_url(webhook_url: str) -> str:
    """The rasa_sdk health route beside an action server's webhook URL."""
    base = webhook_url.rstrip("/")
    if base.endswith("/webhook"):
        base = base[: -len("/webhook")]
    return f"{base}/health"


async def _action_server_ok(agent: Any) -> bool:
    endpoint = getattr(agent, "action_endpoint", None)
    if endpoint is None or not getattr(endpoint, "url", None):
        return True  # no custom actions configured: nothing to reach
    timeout = aiohttp.ClientTimeout(total=CHECK_TIMEOUT_SECONDS)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(action_health_url(endpoint.url)) as reply,
    ):
        return reply.status == 200


def _redis_ok(agent: Any) -> bool:
    client = getattr(getattr(agent, "lock_store", None), "red", None)
    return client is None or bool(client.ping())


async def readiness(agent: Any) -> dict[str, bool]:
    """Each check's result; a check that raises or times out counts as failed."""
    loop = asyncio.get_running_loop()

    async def guarded(check: Awaitable[bool]) -> bool:
        try:
            return bool(await asyncio.wait_for(check, CHECK_TIMEOUT_SECONDS))
        except Exception:  # any failure means "not ready"; the reason is not patient data
            return False

    model = bool(agent is not None and agent.is_ready())
    url = get_settings().database_url
    database, redis, actions = await asyncio.gather(
        guarded(loop.run_in_executor(None, _database_ok, url)),
        guarded(loop.run_in_executor(None, _redis_ok, agent)),
        guarded(_action_server_ok(agent)),
    )
    return {"model": model, "database": database, "lock_store": redis, "action_server": actions}


class HealthInput(InputChannel):
    """Health routes only; it never receives patient messages."""

    @classmethod
    def name(cls) -> str:
        """Served under /webhooks/health/."""
        return "health"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The liveness and readiness routes."""
        health = Blueprint("health_webhook", __name__)

        @health.route("/live", methods=["GET"])
        async def live(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @health.route("/ready", methods=["GET"])
        async def ready(request: Request) -> HTTPResponse:
            checks = await readiness(getattr(request.app.ctx, "agent", None))
            ok = all(checks.values())
            return response.json(
                {"status": "ready" if ok else "not ready", "checks": checks},
                status=200 if ok else 503,
            )

        return health
