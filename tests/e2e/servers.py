"""Start the real action server and Rasa server on free loopback ports, for end-to-end tests.

With ``web=True`` the widget's web server (bot/apps/web.py) starts too, and Rasa accepts browser
connections from its origin only (ALLOWED_ORIGINS), as in `make run`. With ``console=True`` the
staff console (bot/apps/console.py) starts on its own port as well.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "current.tar.gz"


def free_port() -> int:
    """A TCP port nobody is listening on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Servers:
    """A running action server and Rasa server, and where their logs go."""

    rasa_url: str
    workdir: Path
    env: dict[str, str]
    processes: list[subprocess.Popen] = field(default_factory=list)
    web_url: str | None = None
    console_url: str | None = None
    action_url: str | None = None
    # Anonymous conversations use session ids the server issues: the id it gave each test's
    # `sender` name, sent back on the next turn as a real client would.
    sessions: dict[str, str] = field(default_factory=dict)

    def post(
        self, message: object, sender: str = "e2e", token: str | None = None, **extra: object
    ) -> requests.Response:
        """Send one message over REST, as a patient's client would."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        sent = sender if token else self.sessions.get(sender, sender)
        body = {"sender": sent, "message": message, **extra}
        response = requests.post(
            f"{self.rasa_url}/webhooks/rest/webhook", json=body, headers=headers, timeout=60
        )
        if not token and response.headers.get("Content-Type", "").startswith("application/json"):
            replies = response.json()
            if isinstance(replies, list) and replies and "recipient_id" in replies[0]:
                self.sessions[sender] = replies[0]["recipient_id"]
        return response

    def say(self, message: str, sender: str = "e2e", token: str | None = None) -> str:
        """Send a message and return all reply texts joined."""
        response = self.post(message, sender, token)
        response.raise_for_status()
        return "\n".join(m.get("text", "") for m in response.json())

    def user_turns(self, sender_id: str) -> int:
        """How many user messages the tracker store holds for a (Rasa) conversation id."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.env["DATABASE_URL"])
        try:
            with engine.connect() as conn:
                return conn.execute(
                    text("select count(*) from events where sender_id = :s and type_name = 'user'"),
                    {"s": sender_id},
                ).scalar_one()
        finally:
            engine.dispose()

    def settings(self) -> Settings:
        """The servers' settings, e.g. to sign tokens or compute conversation ids in a test."""
        return Settings(jwt_secret=self.env["JWT_SECRET"])

    def logs(self) -> str:
        """Everything both servers have logged so far."""
        return "".join(p.read_text(errors="replace") for p in self.workdir.glob("*.log"))

    def stop(self) -> None:
        """Stop the servers."""
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def start_servers(
    workdir: Path,
    database_url: str,
    extra_env: dict[str, str] | None = None,
    timeout: float = 180,
    web: bool = False,
    console: bool = False,
) -> Servers:
    """Migrate and seed the database, then start the servers and wait for them to answer.

    `web` also starts the widget server, and allows browsers from its origin only;
    `console` also starts the staff console (session cookies without Secure: tests use http).
    """
    action_port, rasa_port = free_port(), free_port()
    web_port = free_port() if web else None
    console_port = free_port() if console else None
    console_env = (
        {
            "CONSOLE_PORT": str(console_port),
            "CONSOLE_HOST": "127.0.0.1",
            "CONSOLE_URL": f"http://127.0.0.1:{console_port}",
            "CONSOLE_SECURE_COOKIES": "false",
            "CONSOLE_SECRET": "e2e-console-secret",
            # The tests sign in many times a minute from one address.
            "CONSOLE_LOGIN_LIMIT": "100/minute",
            "CONSOLE_LOGIN_LIMIT_PER_ADDRESS": "100/minute",
        }
        if console_port
        else {}
    )
    web_env = (
        {
            "ALLOWED_ORIGINS": f"http://127.0.0.1:{web_port},http://localhost:{web_port}",
            "RASA_URL": f"http://127.0.0.1:{rasa_port}",
            "WIDGET_PORT": str(web_port),
            "WIDGET_HOST": "127.0.0.1",
        }
        if web_port
        else {}
    )
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "JWT_SECRET": "e2e-secret-that-is-long-enough-for-hs256-keys",
        "PYTHONUNBUFFERED": "1",
        "RASA_TELEMETRY_ENABLED": "false",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": str(ROOT),
        # Every test talks from 127.0.0.1: the rate-limit tests set their own low limits.
        "RATE_LIMIT_PER_IP": "100000/minute",
        "RATE_LIMIT_PER_PATIENT": "100000/minute",
        **web_env,
        **console_env,
        **(extra_env or {}),
    }
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(
        (ROOT / "endpoints.yml")
        .read_text()
        .replace("http://127.0.0.1:5055/webhook", f"http://127.0.0.1:{action_port}/webhook")
    )
    subprocess.run(
        [str(VENV_BIN / "bot"), "seed-demo"], env=env, check=True, cwd=ROOT, capture_output=True
    )
    servers = Servers(
        f"http://127.0.0.1:{rasa_port}",
        workdir,
        env,
        web_url=f"http://127.0.0.1:{web_port}" if web_port else None,
        console_url=f"http://127.0.0.1:{console_port}" if console_port else None,
        action_url=f"http://127.0.0.1:{action_port}/webhook",
    )
    logging_config = str(ROOT / "logging.yml")
    action_cmd = [
        sys.executable,
        "-m",
        "rasa_sdk",
        "--actions",
        "actions",
        "--port",
        str(action_port),
        "--logging-config_file",
        logging_config,
    ]
    rasa_cmd = [
        str(VENV_BIN / "rasa"),
        "run",
        "--model",
        str(MODEL),
        "--credentials",
        str(ROOT / "credentials.yml"),
        "--endpoints",
        str(endpoints),
        "--interface",
        "127.0.0.1",
        "--port",
        str(rasa_port),
        "--logging-config-file",
        logging_config,
    ]
    # The action server has no authentication: it listens on loopback only.
    commands: list[tuple[str, list[str], dict[str, str]]] = [
        ("actions", action_cmd, {"SANIC_HOST": "127.0.0.1"}),
        ("rasa", rasa_cmd, {}),
    ]
    if web_port:
        commands.append(("web", [sys.executable, "-m", "bot.apps.web"], {}))
    if console_port:
        commands.append(("console", [sys.executable, "-m", "bot.apps.console"], {}))
    for name, cmd, extra in commands:
        with open(workdir / f"{name}.log", "w") as log:
            servers.processes.append(
                subprocess.Popen(
                    cmd, cwd=ROOT, env={**env, **extra}, stdout=log, stderr=subprocess.STDOUT
                )
            )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in servers.processes):
            servers.stop()
            raise RuntimeError(f"a server exited early:\n{servers.logs()[-4000:]}")
        try:
            if (
                requests.get(f"{servers.rasa_url}/webhooks/rest/", timeout=2).ok
                and requests.get(f"http://127.0.0.1:{action_port}/health", timeout=2).ok
                and (not web_port or requests.get(f"{servers.web_url}/healthz", timeout=2).ok)
                and (
                    not console_port or requests.get(f"{servers.console_url}/healthz", timeout=2).ok
                )
            ):
                return servers
        except requests.RequestException:
            pass
        time.sleep(0.5)
    servers.stop()
    raise RuntimeError(f"servers did not start in {timeout}s:\n{servers.logs()[-4000:]}")
