"""`make cluster`: two Rasa instances, two action servers and the widget behind HAProxy.

The instances share the PostgreSQL conversation store (CLUSTER_DATABASE_URL, a database
created here if missing) and Rasa's Redis lock store (CLUSTER_REDIS_URL). The processes are
started by tests/e2e/servers.py, the same code the fault tests use. Configuration and logs go
to .build/cluster/. Ctrl-C, or `make cluster-stop` from another terminal, stops everything.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.servers import start_cluster  # noqa: E402  (after the path is set)

WORKDIR = ROOT / ".build" / "cluster"
PID_FILE = WORKDIR / "cluster.pid"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/all_followup_cluster"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/2"


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` if it does not exist yet."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit("the cluster needs PostgreSQL: set CLUSTER_DATABASE_URL")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                text("select 1 from pg_database where datname = :n"), {"n": parsed.database}
            ).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    """Start the cluster and keep it running until interrupted."""
    parser = argparse.ArgumentParser(prog="scripts/cluster.py", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("CLUSTER_PORT", "8000")))
    parser.add_argument(
        "--database-url", default=os.environ.get("CLUSTER_DATABASE_URL", DEFAULT_DATABASE_URL)
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("CLUSTER_REDIS_URL", DEFAULT_REDIS_URL)
    )
    args = parser.parse_args(argv)
    ensure_database(args.database_url)
    WORKDIR.mkdir(parents=True, exist_ok=True)
    print(f"Starting the cluster (config and logs in {WORKDIR.relative_to(ROOT)}/)...", flush=True)
    cluster = start_cluster(WORKDIR, args.database_url, args.redis_url, lb_port=args.port)
    PID_FILE.write_text(str(os.getpid()))
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    url = cluster.rasa_url
    print(
        f"""
The cluster is running behind HAProxy at {url}
  Widget:  {url}/
  REST:    curl -XPOST {url}/webhooks/rest/webhook \\
             -d '{{"sender":"a","message":"how often are my check ups","message_id":"m1"}}'
  Health:  {url}/lb/health (HAProxy), {url}/webhooks/health/ready (an instance)
  Processes: {", ".join(cluster.services)}
Press Ctrl-C (or run `make cluster-stop`) to stop.""",
        flush=True,
    )
    try:
        while not stopping:
            dead = [s.name for s in cluster.services.values() if not s.alive()]
            if dead:
                print(f"{dead} stopped; stopping the cluster (see its log)", file=sys.stderr)
                return 1
            time.sleep(1)
        return 0
    finally:
        print("Stopping the cluster...", flush=True)
        cluster.stop()
        PID_FILE.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
