"""One way to run an aiohttp app of ours (the widget's web server, the staff console)."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable

from aiohttp import web

from bot.config import Settings
from bot.security.startup import start_process


def serve(
    name: str,
    make_app: Callable[[Settings], web.Application],
    host: str,
    port: int,
    argv: list[str] | None = None,
    description: str = "",
) -> int:
    """Parse --host/--port, refuse unsafe settings, set up logging and serve until stopped."""
    parser = argparse.ArgumentParser(prog=f"python -m bot.apps.{name}", description=description)
    parser.add_argument("--host", default=host)
    parser.add_argument("--port", type=int, default=port)
    args = parser.parse_args(argv)
    settings = start_process(name, args.host)
    if name == "console":
        try:
            settings.check_console(args.host)
        except ValueError as exc:
            raise SystemExit(f"console: refusing to start: {exc}") from None
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    print(f"{name} on http://{args.host}:{args.port}/", flush=True)
    web.run_app(make_app(settings), host=args.host, port=args.port, print=None)
    return 0
