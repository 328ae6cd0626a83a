"""Every process refuses unsafe settings at start (issue 12, finding 1).

On the old code only the web server and `bot token` checked, and only for ENVIRONMENT=production:
Rasa and the action server started with the published development secret.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.config import DEV_SECRET
from tests.e2e.servers import MODEL, ROOT, VENV_BIN, free_port

pytestmark = pytest.mark.e2e

GOOD = "a-real-secret-for-this-test-" + "k" * 24


def run(cmd: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """Run a server command that should refuse to start, and return how it ended."""
    full_env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
        "DATABASE_URL": "sqlite:///:memory:",
        **env,
    }
    try:
        return subprocess.run(
            cmd, env=full_env, cwd=ROOT, capture_output=True, text=True, timeout=150
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{cmd[:3]} started instead of refusing")


def rasa_cmd(interface: str) -> list[str]:
    return [
        str(VENV_BIN / "rasa"),
        "run",
        "--model",
        str(MODEL),
        "--credentials",
        str(ROOT / "credentials.yml"),
        "--interface",
        interface,
        "--port",
        str(free_port()),
    ]


ACTIONS = [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", "0"]
WEB = [sys.executable, "-m", "bot.apps.web", "--port", "0"]

CASES = [
    ("production dev secret", {"ENVIRONMENT": "production", "JWT_SECRET": DEV_SECRET}),
    ("test short secret", {"ENVIRONMENT": "test", "JWT_SECRET": "only-twenty-bytes-xx"}),
    ("production DEBUG", {"ENVIRONMENT": "production", "JWT_SECRET": GOOD, "LOG_LEVEL": "DEBUG"}),
]


@pytest.mark.parametrize(("case", "env"), CASES, ids=[c[0] for c in CASES])
def test_action_server_refuses(case: str, env: dict[str, str]) -> None:
    result = run(ACTIONS, SANIC_HOST="127.0.0.1", **env)
    assert result.returncode != 0 and "refusing to start" in result.stderr, result.stderr[-2000:]


def test_action_server_refuses_dev_secret_on_all_interfaces() -> None:
    result = run(ACTIONS, ENVIRONMENT="development", JWT_SECRET=DEV_SECRET)
    assert result.returncode != 0 and "development secret" in result.stderr


@pytest.mark.parametrize(("case", "env"), CASES, ids=[c[0] for c in CASES])
def test_web_server_refuses(case: str, env: dict[str, str]) -> None:
    result = run(WEB, **env)
    assert result.returncode != 0 and "refusing to start" in result.stderr, result.stderr[-2000:]


def test_cli_refuses() -> None:
    result = run(
        [str(VENV_BIN / "bot"), "db-upgrade"], ENVIRONMENT="production", JWT_SECRET=DEV_SECRET
    )
    assert result.returncode == 1 and "development secret" in result.stderr


@pytest.mark.parametrize(
    ("interface", "env"),
    [
        ("127.0.0.1", {"ENVIRONMENT": "production", "JWT_SECRET": DEV_SECRET}),
        ("0.0.0.0", {"ENVIRONMENT": "development", "JWT_SECRET": DEV_SECRET}),
    ],
    ids=["production", "development-on-all-interfaces"],
)
def test_rasa_refuses(interface: str, env: dict[str, str]) -> None:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` first")
    result = run(rasa_cmd(interface), **env)
    assert result.returncode != 0, result.stderr[-2000:]
    assert "refusing to start" in result.stderr + result.stdout
