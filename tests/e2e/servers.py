"""Start the real action server and Rasa server on free loopback ports, for end-to-end tests.

With ``web=True`` the widget's web server (bot/apps/web.py) starts too, and Rasa accepts browser
connections from its origin only (ALLOWED_ORIGINS), as in `make run`. With ``console=True`` the
staff console (bot/apps/console.py) starts on its own port as well.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "current.tar.gz"


# Ports handed out in this run, so two servers started together never get the same one.
_HANDED_OUT: set[int] = set()
# Below the kernel's ephemeral range, where outgoing connections take their local ports.
_LOWEST_PORT = 20000


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A TCP port nobody is listening on right now, below the ephemeral range.

    A port the kernel picks for a bind to port 0 comes from the ephemeral range, where it can
    be taken as the local port of an outgoing connection (a database client, a test's own
    request) before our server binds it: the widget server once failed to start in
    `make test` with "address already in use".
    """
    top = _ephemeral_start()
    for _ in range(500 if top > _LOWEST_PORT + 1000 else 0):
        port = random.randrange(_LOWEST_PORT, top)
        if port in _HANDED_OUT:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    with socket.socket() as sock:  # an unusual port range: let the kernel choose
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


def action_command(port: int) -> list[str]:
    """The command that starts an action server on `port` (loopback only: SANIC_HOST)."""
    return [
        sys.executable,
        "-m",
        "rasa_sdk",
        "--actions",
        "actions",
        "--port",
        str(port),
        "--logging-config_file",
        str(ROOT / "logging.yml"),
    ]


def rasa_command(port: int, endpoints: Path) -> list[str]:
    """The command that starts a Rasa server on 127.0.0.1:`port` with `endpoints`."""
    return [
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
        str(port),
        "--logging-config-file",
        str(ROOT / "logging.yml"),
    ]


def start_servers(
    workdir: Path,
    database_url: str,
    extra_env: dict[str, str] | None = None,
    timeout: float = 180,
    web: bool = False,
    console: bool = False,
    redis_url: str | None = None,
) -> Servers:
    """Migrate and seed the database, then start the servers and wait for them to answer.

    `web` also starts the widget server, and allows browsers from its origin only;
    `console` also starts the staff console (session cookies without Secure: tests use http);
    `redis_url` gives Rasa the Redis lock store of `make cluster` instead of its memory one.
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
        + (redis_lock_store(redis_url) if redis_url else "")
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
    action_cmd = action_command(action_port)
    rasa_cmd = rasa_command(rasa_port, endpoints)
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


# --- The cluster: two Rasa instances, two action servers and the web server behind HAProxy. ---

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
# A crashed instance's conversation lock lapses after this many seconds (Rasa's default is 60),
# so a retried message is answered within the 10 s recovery target (docs/reliability.md).
TICKET_LOCK_LIFETIME = "5"


@dataclass
class Service:
    """One process of a deployment, which a fault test may kill and start again."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    log: Path
    health: str | None = None
    user: str | None = None
    process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the process (again), appending to its log."""
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                self.cmd,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                user=self.user,
                # Its own process group: Ctrl-C reaches the launcher, which stops it in order.
                start_new_session=True,
            )

    def alive(self) -> bool:
        """Whether the process is running."""
        return self.process is not None and self.process.poll() is None

    def send(self, sig: int) -> None:
        """Send `sig` (e.g. SIGKILL for a crash) without waiting."""
        if self.alive():
            assert self.process is not None
            self.process.send_signal(sig)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        """Stop the process and wait for it (SIGKILL if it takes too long)."""
        if self.process is None:
            return
        self.send(sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def healthy(self) -> bool:
        """Whether the process is running and its health URL answers 200."""
        if not self.alive():
            return False
        if self.health is None:
            return True
        try:
            return requests.get(self.health, timeout=2).status_code == 200
        except requests.RequestException:
            return False


def wait_healthy(services: list[Service], timeout: float) -> None:
    """Wait until every service is healthy; raise with the logs' tails if one is not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [s.name for s in services if not s.alive()]
        if dead:
            raise RuntimeError(f"{dead} exited early:\n{_tails(services)}")
        if all(s.healthy() for s in services):
            return
        time.sleep(0.5)
    waiting = [s.name for s in services if not s.healthy()]
    raise RuntimeError(f"{waiting} not healthy in {timeout}s:\n{_tails(services)}")


def _tails(services: list[Service]) -> str:
    return "\n".join(
        f"--- {s.name}\n{s.log.read_text(errors='replace')[-1500:]}"
        for s in services
        if s.log.exists()
    )


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _chown_for(user: str | None, path: Path) -> None:
    if user:
        shutil.chown(path, user, user)


def postgres_service(workdir: Path, port: int | None = None) -> tuple[Service, str]:
    """A private PostgreSQL server (initdb'd here) that a fault test may restart freely.

    As root it runs as the `postgres` user, which PostgreSQL requires.
    """
    bindir = Path(
        subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        or "/usr/lib/postgresql/15/bin"
    )
    user = "postgres" if os.geteuid() == 0 else None
    # Outside pytest's private tmp folder, so the postgres user can reach it.
    data = Path(tempfile.mkdtemp(prefix="all-followup-pg-"))
    data.chmod(0o700)
    _chown_for(user, data)
    subprocess.run(
        [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        check=True,
        capture_output=True,
        user=user,
    )
    port = port or free_port()
    service = Service(
        "postgres",
        [
            str(bindir / "postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={data}",
            "-c",
            "fsync=off",
        ],
        {**os.environ},
        workdir / "postgres.log",
        user=user,
    )
    return service, f"postgresql://postgres@127.0.0.1:{port}/postgres"


def redis_service(workdir: Path, port: int | None = None) -> tuple[Service, str]:
    """A private Redis server that a fault test may stop and start freely."""
    port = port or free_port()
    service = Service(
        "redis",
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        {**os.environ},
        workdir / "redis.log",
    )
    return service, f"redis://127.0.0.1:{port}/0"


def wait_port(service: Service, port: int, timeout: float = 30) -> None:
    """Wait until `service` accepts connections on `port`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.alive():
            raise RuntimeError(f"{service.name} exited:\n{_tails([service])}")
        if _listening(port):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{service.name} not listening on {port}:\n{_tails([service])}")


def haproxy_config(
    lb_port: int, action_lb_port: int, rasa_ports: list[int], action_ports: list[int], web_port: int
) -> str:
    """HAProxy's configuration for the cluster (docs/deploy.md explains each choice)."""
    rasa = "\n".join(f"  server rasa{i + 1} 127.0.0.1:{p} check" for i, p in enumerate(rasa_ports))
    # Used only if every check fails at once: a false alarm then costs nothing, and a really
    # dead instance just refuses the connection, which HAProxy retries elsewhere.
    spares = "\n".join(
        f"  server rasa{i + 1}-spare 127.0.0.1:{p} backup" for i, p in enumerate(rasa_ports)
    )
    # The Socket.IO servers follow the REST servers' health checks rather than repeat them.
    sio = "\n".join(
        f"  server sio{i + 1} 127.0.0.1:{p} track rasa/rasa{i + 1}"
        for i, p in enumerate(rasa_ports)
    )
    actions = "\n".join(
        f"  server actions{i + 1} 127.0.0.1:{p} check" for i, p in enumerate(action_ports)
    )
    return f"""# Generated by tests/e2e/servers.py (make cluster); edits are overwritten.
global
  maxconn 4096
  # Request lines and statuses only (no bodies, no headers): the fault test reads them.
  log stdout format raw local0

defaults
  mode http
  log global
  option httplog
  option dontlog-normal
  timeout connect 2s
  timeout client 90s
  timeout server 90s
  timeout http-request 15s
  # Socket.IO's websocket stays open for the whole chat.
  timeout tunnel 1h
  # A request whose instance died (refused, reset, or closed without an answer) is sent
  # again to another instance; the message id (components/dedupe.py) makes that safe.
  retries 3
  option redispatch 1
  retry-on conn-failure empty-response junk-response
  option http-buffer-request
  # A busy instance answers its check slowly: allow 5 s, and 3 misses, before taking it out
  # (1 s was measured to flap under load and turn away messages that would have been answered).
  timeout check 5s
  default-server inter 1s fall 3 rise 2

frontend public
  bind 127.0.0.1:{lb_port}
  monitor-uri /lb/health
  acl is_socketio path_beg /socket.io/
  acl is_rasa path_beg /webhooks/
  use_backend socketio if is_socketio
  use_backend rasa if is_rasa
  default_backend web

# REST: any ready instance; conversations live in PostgreSQL, locks in Redis.
backend rasa
  balance roundrobin
  option httpchk GET /webhooks/health/ready
  http-check expect status 200
{rasa}
{spares}

# Socket.IO: one client stays on one instance (its long-polling requests must share the
# server-side session; a websocket is one connection anyway).
backend socketio
  balance source
  hash-type consistent
  option httpchk GET /webhooks/health/ready
  http-check expect status 200
{sio}

backend web
  option httpchk GET /healthz
  http-check expect status 200
  server web 127.0.0.1:{web_port} check

# The action servers, for the Rasa instances only (loopback; no authentication of its own).
frontend actions
  bind 127.0.0.1:{action_lb_port}
  default_backend actions

backend actions
  balance roundrobin
  option httpchk GET /health
  http-check expect status 200
{actions}
"""


def redis_lock_store(redis_url: str) -> str:
    """endpoints.yml's lock_store section for the Redis at `redis_url`."""
    parsed = urlsplit(redis_url)
    db = parsed.path.strip("/") or "0"
    return f"""lock_store:
  type: components.lock_store.ResilientRedisLockStore
  url: "{parsed.hostname or "127.0.0.1"}"
  port: {parsed.port or 6379}
  db: {db}
  key_prefix: allfollowup
  socket_timeout: 2
"""


def cluster_endpoints(action_lb_port: int, redis_url: str) -> str:
    """endpoints.yml for an instance: shared tracker store, Redis lock store, action servers."""
    return f"""# Generated by tests/e2e/servers.py (make cluster).
action_endpoint:
  url: "http://127.0.0.1:{action_lb_port}/webhook"
tracker_store:
  type: components.tracker_store.SettingsSQLTrackerStore
{redis_lock_store(redis_url)}"""


@dataclass
class Cluster(Servers):
    """A running cluster; `rasa_url` is the load balancer, which also serves the widget."""

    services: dict[str, Service] = field(default_factory=dict)

    def logs(self) -> str:
        """Everything the cluster's processes have logged so far."""
        return "".join(s.log.read_text(errors="replace") for s in self.services.values())

    def stop(self) -> None:
        """Stop the load balancer first, then the servers."""
        for service in reversed(list(self.services.values())):
            service.stop()


def start_cluster(
    workdir: Path,
    database_url: str,
    redis_url: str,
    lb_port: int | None = None,
    instances: int = 2,
    extra_env: dict[str, str] | None = None,
    timeout: float = 300,
) -> Cluster:
    """Migrate and seed the database, then start `instances` Rasa and action servers, the
    web server and HAProxy in front, and wait until every readiness check passes."""
    workdir.mkdir(parents=True, exist_ok=True)
    lb_port = lb_port or free_port()
    action_lb_port, web_port = free_port(), free_port()
    rasa_ports = [free_port() for _ in range(instances)]
    action_ports = [free_port() for _ in range(instances)]
    lb_url = f"http://127.0.0.1:{lb_port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
        "RASA_TELEMETRY_ENABLED": "false",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONPATH": str(ROOT),
        "TICKET_LOCK_LIFETIME": TICKET_LOCK_LIFETIME,
        # The widget's page and its Socket.IO connection both go through the load balancer.
        "ALLOWED_ORIGINS": f"{lb_url},http://localhost:{lb_port}",
        "RASA_URL": lb_url,
        "WIDGET_HOST": "127.0.0.1",
        "WIDGET_PORT": str(web_port),
        **(extra_env or {}),
    }
    (workdir / "haproxy.cfg").write_text(
        haproxy_config(lb_port, action_lb_port, rasa_ports, action_ports, web_port)
    )
    endpoints = workdir / "endpoints.yml"
    endpoints.write_text(cluster_endpoints(action_lb_port, redis_url))
    subprocess.run(
        [str(VENV_BIN / "bot"), "seed-demo"], env=env, check=True, cwd=ROOT, capture_output=True
    )
    services: dict[str, Service] = {}

    def add(service: Service) -> None:
        services[service.name] = service

    add(
        Service(
            "haproxy",
            [HAPROXY, "-db", "-f", str(workdir / "haproxy.cfg")],
            env,
            workdir / "haproxy.log",
            health=f"{lb_url}/lb/health",
        )
    )
    for i, port in enumerate(action_ports, 1):
        add(
            Service(
                f"actions{i}",
                action_command(port),
                {**env, "SANIC_HOST": "127.0.0.1"},
                workdir / f"actions{i}.log",
                health=f"http://127.0.0.1:{port}/health",
            )
        )
    add(
        Service(
            "web",
            [sys.executable, "-m", "bot.apps.web"],
            env,
            workdir / "web.log",
            health=f"http://127.0.0.1:{web_port}/healthz",
        )
    )
    for i, port in enumerate(rasa_ports, 1):
        add(
            Service(
                f"rasa{i}",
                rasa_command(port, endpoints),
                env,
                workdir / f"rasa{i}.log",
                health=f"http://127.0.0.1:{port}/webhooks/health/ready",
            )
        )
    cluster = Cluster(lb_url, workdir, env, web_url=lb_url, services=services)
    for service in services.values():
        service.start()
    try:
        wait_healthy(list(services.values()), timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster
