"""`make chaos`: break parts of the cluster while scripted patients keep talking, then count.

Starts a private PostgreSQL and Redis (so restarting them disturbs nobody else) and the
cluster of tests/e2e/servers.py (2 Rasa, 2 action servers, the web server, HAProxy). Simulated
patients (scripts/bench.py's journeys: signed-in and anonymous, checklists included) send
their messages through HAProxy, each with a message id, retrying a failed message with the
same id, as the widget does. Meanwhile the faults run one after another. Afterwards every
tracker is read back from PostgreSQL and compared with what was sent.

Definitions (docs/reliability.md):
* fault window: from injecting the fault until its component is back and healthy, plus the
  10 s recovery budget; a 5xx outside every window is a failure.
* recovery: from the moment the component is back (for `kill -9`, the kill itself: the other
  instance is expected to carry on) until every message the fault touched (one with a failed
  attempt in the window, or in flight when the fault hit) has been answered.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench import JOURNEYS  # noqa: E402
from tests.e2e.servers import (  # noqa: E402
    Cluster,
    Service,
    postgres_service,
    redis_service,
    start_cluster,
    wait_healthy,
    wait_port,
)

JWT_SECRET = "chaos-secret-that-is-long-enough-for-hs256-keys"  # noqa: S105 (test only)
RECOVERY_BUDGET = 10.0
RETRY_PAUSE = 0.5
GIVE_UP_SECONDS = 90.0
# Requests sent and not yet answered, across all simulated patients.
IN_FLIGHT = [0]
MARK_BEGIN, MARK_END = "<!-- chaos:begin -->", "<!-- chaos:end -->"


@dataclass
class Attempt:
    """One HTTP attempt at delivering a message."""

    start: float
    end: float
    status: int  # 0: no HTTP answer (connection refused, reset, timeout)


@dataclass
class Fault:
    """A fault as it happened."""

    name: str
    start: float = 0.0
    healed: float = 0.0
    healthy_again: float = 0.0

    @property
    def window_end(self) -> float:
        """The end of the window in which failures are expected."""
        return max(self.healed + RECOVERY_BUDGET, self.healthy_again + 2.0)


@dataclass
class Conversation:
    """One simulated patient's conversation."""

    sender: str
    patient: str | None
    messages: list[str]
    attempts: list[list[Attempt]] = field(default_factory=list)
    answered: int = 0
    apologies: int = 0


def plan(conversations: int, per_conversation: int) -> list[Conversation]:
    """Conversations of `per_conversation` messages cut from the benchmark's journeys."""
    result = []
    for index in range(conversations):
        journeys = itertools.cycle(JOURNEYS[index % len(JOURNEYS) :] + JOURNEYS)
        first = next(journeys)
        steps = [s.message for s in first.steps]
        while len(steps) < per_conversation:
            journey = next(journeys)
            # A signed-in journey's steps make sense anonymously too (they get a sign-in hint).
            steps.extend(s.message for s in journey.steps)
        result.append(
            Conversation(
                f"chaos-{index:03d}-{uuid.uuid4().hex[:8]}", first.patient, steps[:per_conversation]
            )
        )
    return result


async def talk(
    session: aiohttp.ClientSession,
    url: str,
    convo: Conversation,
    token: str | None,
    pace: Pace,
    t0: float,
) -> None:
    """Send each message until it is answered with 200, spread out to the pace's end."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    from components.channels import sorry_reply

    apology = sorry_reply()

    for message in convo.messages:
        body = {"sender": convo.sender, "message": message, "message_id": uuid.uuid4().hex}
        tries: list[Attempt] = []
        convo.attempts.append(tries)
        while True:
            start = time.monotonic() - t0
            IN_FLIGHT[0] += 1
            try:
                async with session.post(url, json=body, headers=headers) as reply:
                    status = reply.status
                    payload = await reply.json(content_type=None) if status == 200 else None
            except (aiohttp.ClientError, asyncio.TimeoutError):
                status, payload = 0, None
            finally:
                IN_FLIGHT[0] -= 1
            tries.append(Attempt(start, time.monotonic() - t0, status))
            if status == 200:
                convo.answered += 1
                # Anonymous: keep the session id the server issued, as the widget does.
                issued = next((m.get("recipient_id") for m in payload or []), None)
                if convo.patient is None and isinstance(issued, str):
                    convo.sender = issued
                if any(m.get("text") == apology for m in payload or []):
                    convo.apologies += 1
                break
            if time.monotonic() - t0 - tries[0].start > GIVE_UP_SECONDS:
                break
            await asyncio.sleep(RETRY_PAUSE)
        left = len(convo.messages) - len(convo.attempts)
        if left:
            await asyncio.sleep(max(0.2, (pace.end - time.monotonic()) / left))


# --- Faults --------------------------------------------------------------------------------


def _restart(service: Service) -> None:
    service.start()


async def kill_rasa(cluster: Cluster, fault: Fault, t0: float) -> None:
    """`kill -9` one Rasa instance mid-conversation, then start it again.

    It waits (up to 10 s) for several messages to be in flight, so that some are cut off
    mid-answer and must be retried by HAProxy on the other instance.
    """
    rasa = cluster.services["rasa1"]
    deadline = time.monotonic() + 10
    while IN_FLIGHT[0] < 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
    fault.start = time.monotonic() - t0
    rasa.stop(signal.SIGKILL)
    fault.healed = time.monotonic() - t0
    rasa.start()


async def restart_postgres(pg: Service, port: int, fault: Fault, t0: float) -> None:
    """Restart PostgreSQL (fast shutdown: every connection is dropped)."""
    fault.start = time.monotonic() - t0
    await asyncio.to_thread(pg.stop, signal.SIGINT)
    pg.start()
    await asyncio.to_thread(wait_port, pg, port)
    fault.healed = time.monotonic() - t0


async def stop_for(service: Service, seconds: float, fault: Fault, t0: float) -> None:
    """Stop a service for `seconds`, then start it again."""
    fault.start = time.monotonic() - t0
    await asyncio.to_thread(service.stop)
    await asyncio.sleep(seconds)
    service.start()
    fault.healed = time.monotonic() - t0


@dataclass
class Pace:
    """When the load should end (monotonic clock): moved on while faults take longer."""

    end: float


async def run_faults(
    steps: list[tuple[Fault, Callable[[], Any]]],
    services: list[Service],
    t0: float,
    gap: float,
    pace: Pace,
    args: argparse.Namespace,
) -> None:
    """Run the faults in turn, waiting for the whole cluster to be healthy after each.

    Meanwhile the load's end keeps moving so the patients talk through every fault (a
    restart can take longer than expected on a busy machine).
    """
    ahead = [
        sum(EXPECTED.get(f.name, args.outage + 3) + gap for f, _ in steps[i:])
        for i in range(len(steps))
    ]
    current = [0]

    async def keep_pace() -> None:
        while True:
            pace.end = max(pace.end, time.monotonic() + ahead[current[0]])
            await asyncio.sleep(0.5)

    pacer = asyncio.ensure_future(keep_pace())
    try:
        await asyncio.sleep(gap)
        for index, (fault, inject) in enumerate(steps):
            current[0] = index
            print(f"[{time.monotonic() - t0:6.1f}s] fault: {fault.name}", flush=True)
            await inject()
            await asyncio.to_thread(wait_healthy, services, 180)
            fault.healthy_again = time.monotonic() - t0
            print(f"[{fault.healthy_again:6.1f}s] healthy again", flush=True)
            await asyncio.sleep(gap)
    finally:
        pacer.cancel()
    pace.end = min(pace.end, time.monotonic() + gap)


# --- Counting --------------------------------------------------------------------------------


def tracker_turns(database_url: str, conversation: str) -> list[tuple[str, str | None]]:
    """The conversation's (event type, user text) rows in order, from PostgreSQL."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "select type_name, data from events where sender_id = :s "
                    "and type_name in ('user', 'bot') order by id"
                ),
                {"s": conversation},
            ).all()
    finally:
        engine.dispose()
    return [(t, json.loads(d).get("text") if t == "user" else None) for t, d in rows]


def _unslashed(text: str | None) -> str | None:
    return text.lstrip("/").strip() if isinstance(text, str) else text


def count(convo: Conversation, turns: list[tuple[str, str | None]]) -> dict[str, int]:
    """Lost, doubled and reordered user messages, and user messages with no bot reply."""
    # Journeys are cut and joined, so a button payload may arrive where it was never offered;
    # the server then keeps it as typed text, without its slash (components/channels.py).
    stored = [_unslashed(t) for kind, t in turns if kind == "user"]
    sent = [_unslashed(m) for m in convo.messages[: len(convo.attempts)] if m is not None]
    have, want = Counter(stored), Counter(sent)
    lost = sum((want - have).values())
    doubled = sum((have - want).values())
    reordered = int(not lost and not doubled and stored != sent)
    no_reply = 0
    for index, (kind, _) in enumerate(turns):
        if kind == "user" and (index + 1 >= len(turns) or turns[index + 1][0] != "bot"):
            no_reply += 1
    return {"lost": lost, "doubled": doubled, "reordered": reordered, "no_reply": no_reply}


@dataclass
class Report:
    """Everything `make chaos` measured."""

    conversations: int
    messages: int
    seconds: float
    totals: dict[str, int]
    faults: list[dict[str, Any]]
    outside_5xx: int
    gave_up: int
    apologies: int
    attempts: int
    problems: list[dict[str, Any]] = field(default_factory=list)
    outside: list[tuple[float, int]] = field(default_factory=list)

    def ok(self) -> bool:
        """The issue's 'done when'."""
        return (
            not any(self.totals.values())
            and self.outside_5xx == 0
            and self.gave_up == 0
            and all(f["recovery_s"] <= RECOVERY_BUDGET for f in self.faults)
        )


def overlaps(attempt: Attempt, fault: Fault) -> bool:
    """Whether an attempt was under way during the fault's window (an attempt already in
    flight when the fault hit fails because of it, though it started just before)."""
    return attempt.start <= fault.window_end and attempt.end >= fault.start


def summarise(
    convos: list[Conversation], faults: list[Fault], database_url: str, seconds: float
) -> Report:
    """Compare every tracker with what was sent, and place each failure in a fault window."""
    from bot.identity.tokens import conversation_id

    totals: Counter = Counter()
    problems = []
    for convo in convos:
        turns = tracker_turns(database_url, conversation_id(convo.patient, convo.sender))
        counted = count(convo, turns)
        totals.update(counted)
        if any(counted.values()):
            problems.append(
                {
                    "sender": convo.sender,
                    **counted,
                    "stored": [t for kind, t in turns if kind == "user"],
                    "attempts": [
                        [(round(a.start, 1), round(a.end, 1), a.status) for a in tries]
                        for tries in convo.attempts
                    ],
                }
            )
    attempts = [a for c in convos for tries in c.attempts for a in tries]
    failed = [a for a in attempts if a.status != 200]
    rows = []
    for fault in faults:
        inside = [a for a in attempts if overlaps(a, fault)]
        # Messages the fault touched: a failed attempt in the window, or in flight when it hit.
        touched = [
            tries
            for c in convos
            for tries in c.attempts
            if any(
                (overlaps(a, fault) and a.status != 200) or a.start <= fault.start <= a.end
                for a in tries
            )
        ]
        last = max((tries[-1].end for tries in touched), default=fault.healed)
        slowest = max((a.end - a.start for a in inside if a.status == 200), default=0.0)
        rows.append(
            {
                "fault": fault.name,
                "start_s": round(fault.start, 1),
                "back_s": round(fault.healed - fault.start, 1),
                "healthy_s": round(fault.healthy_again - fault.start, 1),
                "attempts": len(inside),
                "5xx": sum(1 for a in inside if a.status >= 500),
                "no_answer": sum(1 for a in inside if a.status == 0),
                "recovery_s": round(max(0.0, last - fault.healed), 1),
                "touched": len(touched),
                "slowest_s": round(slowest, 1),
                "statuses": dict(Counter(str(a.status) for a in inside if a.status != 200)),
            }
        )
    outside = [
        a
        for a in failed
        if (a.status >= 500 or a.status == 0) and not any(overlaps(a, f) for f in faults)
    ]
    return Report(
        conversations=len(convos),
        messages=sum(len(c.messages) for c in convos),
        seconds=round(seconds, 1),
        totals={k: int(totals[k]) for k in ("lost", "doubled", "reordered", "no_reply")},
        faults=rows,
        outside_5xx=len(outside),
        gave_up=sum(len(c.messages) - c.answered for c in convos),
        apologies=sum(c.apologies for c in convos),
        attempts=len(attempts),
        problems=problems,
        outside=[(round(a.start, 1), a.status) for a in outside],
    )


def render(report: Report, command: str) -> str:
    """The Markdown table for docs/reliability.md."""
    lines = [
        "| fault | at | back after | all healthy after | attempts in window | 5xx "
        "| no HTTP answer | failed attempts by status | messages touched | slowest answer "
        "| recovery |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for f in report.faults:
        lines.append(
            f"| {f['fault']} | {f['start_s']} s | {f['back_s']} s | {f['healthy_s']} s | "
            f"{f['attempts']} | {f['5xx']} | {f['no_answer']} | "
            f"{', '.join(f'{k}: {v}' for k, v in sorted(f['statuses'].items())) or '—'} | "
            f"{f['touched']} | {f['slowest_s']} s | {f['recovery_s']} s |"
        )
    t = report.totals
    load = os.getloadavg()
    lines += [
        "",
        "| count (all conversations, read back from PostgreSQL) | value | target |",
        "| --- | ---: | ---: |",
        f"| user messages lost | {t['lost']} | 0 |",
        f"| user messages doubled | {t['doubled']} | 0 |",
        f"| conversations with user messages out of order | {t['reordered']} | 0 |",
        f"| user messages with no bot reply stored | {t['no_reply']} | 0 |",
        f"| 5xx or no answer outside the fault windows | {report.outside_5xx} | 0 |",
        f"| messages never answered (client gave up after {GIVE_UP_SECONDS:.0f} s) "
        f"| {report.gave_up} | 0 |",
        f"| answers that were the apology | {report.apologies} | — |",
        f"| max recovery | {max((f['recovery_s'] for f in report.faults), default=0)} s "
        f"| ≤ {RECOVERY_BUDGET:.0f} s |",
        "",
        f"- Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; "
        f"{report.conversations} conversations, {report.messages} messages, "
        f"{report.attempts} HTTP attempts, {report.seconds} s of load",
        f"- Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}; load average at the end "
        f"{load[0]:.2f}, {load[1]:.2f}, {load[2]:.2f} (the cores are shared with other work)",
        f"- Command: `{command}`",
        f"- Result: {'PASS' if report.ok() else 'FAIL'}",
    ]
    return "\n".join(lines)


def write_out(path: Path, table: str) -> None:
    """Replace the table between the chaos markers in `path`."""
    doc = path.read_text()
    head, _, rest = doc.partition(MARK_BEGIN)
    _, _, tail = rest.partition(MARK_END)
    path.write_text(f"{head}{MARK_BEGIN}\n{table}\n{MARK_END}{tail}")


FAULTS = ("kill-rasa", "restart-postgres", "stop-redis", "stop-actions")
# Seconds each fault is expected to last until all is healthy again (a restarted Rasa
# instance loads its model in 20-40 s on the shared 2-core machine).
EXPECTED = {"kill-rasa": 40.0, "restart-postgres": 8.0}


def expected_seconds(args: argparse.Namespace) -> float:
    """How long the faults should take, so the load spans all of them."""
    faults = sum(EXPECTED.get(name, args.outage + 3) + args.gap for name in args.faults)
    return args.gap + faults


async def run(args: argparse.Namespace, workdir: Path) -> Report:
    """Start everything, run the load and the faults, stop everything, count."""
    pg, database_url = postgres_service(workdir)
    redis, redis_url = redis_service(workdir)
    pg_port = int(database_url.rsplit(":", 1)[1].split("/")[0])
    redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    pg.start()
    redis.start()
    cluster = None
    try:
        wait_port(pg, pg_port)
        wait_port(redis, redis_port)
        os.environ["JWT_SECRET"] = JWT_SECRET
        from bot.config import Settings, get_settings
        from bot.identity.tokens import issue_token

        get_settings.cache_clear()
        started = time.monotonic()
        cluster = await asyncio.to_thread(
            start_cluster,
            workdir,
            database_url,
            redis_url,
            # One machine plays 50 patients from one address: the per-address and
            # per-patient rate limits (docs/security.md) would throttle the test, not a fault.
            extra_env={
                "JWT_SECRET": JWT_SECRET,
                "RATE_LIMIT_PER_IP": "100000/minute",
                "RATE_LIMIT_PER_PATIENT": "100000/minute",
            },
        )
        print(f"cluster healthy after {time.monotonic() - started:.0f} s", flush=True)
        faults: list[tuple[Fault, Callable[[], Any]]] = []
        t0 = time.monotonic()
        for name in args.faults:
            fault = Fault(name)
            if name == "kill-rasa":
                inject = lambda f=fault: kill_rasa(cluster, f, t0)  # noqa: E731
            elif name == "restart-postgres":
                inject = lambda f=fault: restart_postgres(pg, pg_port, f, t0)  # noqa: E731
            elif name == "stop-redis":
                inject = lambda f=fault: stop_for(redis, args.outage, f, t0)  # noqa: E731
            else:
                fault.name = "stop-actions"
                inject = lambda f=fault: stop_for(cluster.services["actions1"], args.outage, f, t0)  # noqa: E731
            faults.append((fault, inject))
        convos = plan(args.conversations, args.messages)
        settings = Settings(jwt_secret=JWT_SECRET)
        tokens = {c.patient: issue_token(c.patient, settings=settings) for c in convos if c.patient}
        pace = Pace(time.monotonic() + (args.duration or expected_seconds(args)))
        url = f"{cluster.rasa_url}/webhooks/rest/webhook"
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            load = asyncio.gather(
                *(talk(session, url, c, tokens.get(c.patient), pace, t0) for c in convos)
            )
            services = [pg, redis, *cluster.services.values()]
            chaos = run_faults(faults, services, t0, args.gap, pace, args)
            await asyncio.gather(load, chaos)
        seconds = time.monotonic() - t0
    except BaseException:
        if cluster is not None:
            cluster.stop()
        redis.stop()
        pg.stop(signal.SIGINT)
        shutil.rmtree(pg.cmd[2], ignore_errors=True)
        raise
    else:
        cluster.stop()
        redis.stop()
    try:
        report = summarise(convos, [f for f, _ in faults], database_url, seconds)
        if args.dump:
            # For the backup-and-restore drill (docs/deploy.md): a database with real turns.
            subprocess.run(
                ["pg_dump", "--format=custom", f"--file={args.dump}", database_url], check=True
            )
        return report
    finally:
        pg.stop(signal.SIGINT)
        shutil.rmtree(pg.cmd[2], ignore_errors=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; the defaults are the issue's full run."""
    parser = argparse.ArgumentParser(prog="scripts/chaos.py", description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20, help="per conversation")
    parser.add_argument(
        "--duration", type=float, help="seconds of load (default: the faults' expected span)"
    )
    parser.add_argument("--faults", nargs="+", choices=FAULTS, default=list(FAULTS))
    parser.add_argument("--outage", type=float, default=10, help="seconds Redis/actions are down")
    parser.add_argument("--gap", type=float, default=12, help="seconds of calm around faults")
    parser.add_argument("--out", type=Path, help="write the table into this Markdown file")
    parser.add_argument("--json", type=Path, help="write the report as JSON")
    parser.add_argument("--dump", type=Path, help="pg_dump the conversations here at the end")
    parser.add_argument(
        "--workdir", type=Path, default=ROOT / ".build" / "chaos", help="config and logs"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the fault test; exit 1 unless every target is met."""
    args = parse_args(argv)
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    report = asyncio.run(run(args, args.workdir))
    command = "python scripts/chaos.py " + " ".join(sys.argv[1:] if argv is None else argv)
    table = render(report, command.strip())
    print(table)
    if args.out:
        write_out(args.out, table)
    if args.json:
        args.json.write_text(json.dumps(report.__dict__, indent=2))
    return 0 if report.ok() else 1


if __name__ == "__main__":
    sys.exit(main())
