"""The widget's web server: the widget files, socket.io-client, and a demo "patient portal".

`python -m bot.apps.web` serves on WIDGET_HOST:WIDGET_PORT (127.0.0.1:8080). The demo page plays
the hospital portal: pick one of the demo patients to sign in as (it fetches a token from
``POST /demo/token``) or stay anonymous, and the widget is mounted with that token. Demo
tokens are only issued for the five demo portal ids, only when DEMO_TOKENS_ENABLED and
ENVIRONMENT=development, and only to a page from this server or ALLOWED_ORIGINS (a request
with no Origin header is refused). Every response carries a Content-Security-Policy that lets
pages talk only to this server and the configured Rasa server (RASA_URL). widget.js is served
with the widget's words from content/widget.yml written in (the file itself holds none).

This module must not import Rasa: it runs in its own small process.
"""

from __future__ import annotations

import html
import json
import logging
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.apps.serving import serve
from bot.care.wording import load_wording
from bot.config import PROJECT_ROOT, Settings, get_settings
from bot.identity.tokens import issue_token
from bot.storage.demo import DEMO_SPECS, HOSPITAL_NAME

log = logging.getLogger(__name__)

WEB_DIR = PROJECT_ROOT / "web"
NODE_MODULES = PROJECT_ROOT / "node_modules"
SOCKET_IO_DIST = NODE_MODULES / "socket.io-client" / "dist"
DEMO_PATIENTS = {spec.portal_id: spec for spec in DEMO_SPECS}
MAX_BODY_BYTES = 4096

JS = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
JSON_MAP = "application/json; charset=utf-8"

WIDGET_SCRIPT = WEB_DIR / "widget.js"
# Where widget.js takes its words (`var TEXT = ...;`).
WIDGET_TEXT_MARKER = "/*%%WIDGET_TEXT%%*/{}"

# Only these files are served: a fixed map, so no path from a request reaches the disk.
STATIC_FILES: dict[str, tuple[Path, str]] = {
    "/widget.css": (WEB_DIR / "widget.css", CSS),
    "/demo.js": (WEB_DIR / "demo.js", JS),
    "/demo.css": (WEB_DIR / "demo.css", CSS),
    "/vendor/socket.io.min.js": (SOCKET_IO_DIST / "socket.io.min.js", JS),
    "/vendor/socket.io.min.js.map": (SOCKET_IO_DIST / "socket.io.min.js.map", JSON_MAP),
}

SETTINGS_KEY: web.AppKey[Settings] = web.AppKey("settings", Settings)


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, or None if it isn't one."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(settings: Settings) -> str:
    """Self only, plus the Rasa server (HTTP for long-polling, ws for WebSocket)."""
    connect = ["'self'"]
    rasa = origin_of(settings.rasa_url)
    if rasa:
        connect += [rasa, "ws" + rasa[len("http") :]]
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {' '.join(connect)}",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ]
    )


def demo_tokens_allowed(settings: Settings) -> bool:
    """Demo sign-in: only when enabled, and only in development."""
    return settings.demo_tokens_enabled and settings.development


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Add the security headers to every response, errors included."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    settings = request.app[SETTINGS_KEY]
    response.headers["Content-Security-Policy"] = content_security_policy(settings)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    response.headers.setdefault("Cache-Control", "no-cache")
    if isinstance(response, web.HTTPException):
        raise response
    return response


def _patient_choices(settings: Settings) -> str:
    if not demo_tokens_allowed(settings):
        return ""
    rows = []
    for spec in DEMO_SPECS:
        pid = html.escape(spec.portal_id)
        name = html.escape(f"{spec.given_name} {spec.family_name}")
        desc = html.escape(spec.description)
        rows.append(
            f'<div class="choice"><input type="radio" name="patient" id="p-{pid}" '
            f'value="{pid}" data-name="{name}" aria-describedby="d-{pid}">'
            f'<label for="p-{pid}">{name} <span class="portal-id">({pid})</span></label>'
            f'<p class="hint" id="d-{pid}">{desc}</p></div>'
        )
    return "\n".join(rows)


def render_demo_page(settings: Settings) -> str:
    """The demo portal page, with the Rasa URL and demo patients filled in (escaped)."""
    template = (WEB_DIR / "demo.html").read_text(encoding="utf-8")
    demo = demo_tokens_allowed(settings)
    values = {
        "%%RASA_URL%%": html.escape(settings.rasa_url, quote=True),
        "%%HOSPITAL%%": html.escape(HOSPITAL_NAME, quote=True),
        "%%DEMO%%": "on" if demo else "off",
        "%%PATIENTS%%": _patient_choices(settings),
        "%%WIDGET_URL%%": html.escape(f"http://localhost:{settings.widget_port}", quote=True),
    }
    for key, value in values.items():
        template = template.replace(key, value)
    return template


async def demo_page(request: web.Request) -> web.Response:
    """The demo patient portal."""
    body = render_demo_page(request.app[SETTINGS_KEY])
    return web.Response(text=body, content_type="text/html", charset="utf-8")


async def static_file(request: web.Request) -> web.Response:
    """One of the files in STATIC_FILES."""
    path, content_type = STATIC_FILES[request.path]
    try:
        body = path.read_bytes()
    except FileNotFoundError:
        # node_modules missing: `make install` (npm ci) fetches socket.io-client.
        log.error("static file missing: %s (run `make install`)", request.path)
        raise web.HTTPNotFound(text="Not found") from None
    return web.Response(body=body, headers={"Content-Type": content_type})


def render_widget_script() -> str:
    """widget.js with the widget's words (content/widget.yml) written in as a JSON object."""
    source = WIDGET_SCRIPT.read_text(encoding="utf-8")
    if source.count(WIDGET_TEXT_MARKER) != 1:
        raise ValueError(f"{WIDGET_SCRIPT} must hold {WIDGET_TEXT_MARKER} once")
    words = {key: entry.text for key, entry in load_wording("widget").entries.items()}
    # ASCII-only JSON is a valid JavaScript literal; "<" is escaped as well, to be safe.
    literal = json.dumps(words, ensure_ascii=True, sort_keys=True).replace("<", "\\u003c")
    return source.replace(WIDGET_TEXT_MARKER, literal)


async def widget_script(_: web.Request) -> web.Response:
    """The widget, in the words of content/widget.yml."""
    return web.Response(text=render_widget_script(), headers={"Content-Type": JS})


def _json_error(message: str, status: int) -> web.Response:
    return web.json_response(
        {"error": message}, status=status, headers={"Cache-Control": "no-store"}
    )


async def demo_token(request: web.Request) -> web.Response:
    """``POST /demo/token {"patient": "demo-video"}``: a token for one demo patient."""
    settings = request.app[SETTINGS_KEY]
    if not demo_tokens_allowed(settings):
        return _json_error("Demo sign-in is turned off.", 404)
    origin = request.headers.get("Origin")
    own = f"{request.scheme}://{request.host}"
    # Browsers always send Origin on a POST; a request without one is not from our page.
    if origin is None or (origin != own and origin not in settings.origins):
        return _json_error("Requests from other sites are not allowed.", 403)
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _json_error("Request too large.", 413)
    try:
        body = json.loads(await request.text())
    except (ValueError, UnicodeDecodeError):
        body = None
    patient = body.get("patient") if isinstance(body, dict) else None
    spec = DEMO_PATIENTS.get(patient) if isinstance(patient, str) else None
    if spec is None:
        return _json_error("Please choose one of the demo patients.", 400)
    token = issue_token(spec.portal_id, settings=settings)
    log.info("demo token issued")
    return web.json_response(
        {
            "token": token,
            "patient": spec.portal_id,
            "name": f"{spec.given_name} {spec.family_name}",
            "expires_in": settings.token_minutes * 60,
        },
        headers={"Cache-Control": "no-store"},
    )


async def health(_: web.Request) -> web.Response:
    """Liveness for scripts and tests."""
    return web.json_response({"status": "ok"})


async def no_favicon(_: web.Request) -> web.Response:
    """Browsers ask for one; there is none."""
    return web.Response(status=204)


def create_app(settings: Settings | None = None) -> web.Application:
    """The web application for `settings` (the process-wide settings by default)."""
    settings = settings or get_settings()
    app = web.Application(middlewares=[security_headers], client_max_size=MAX_BODY_BYTES)
    app[SETTINGS_KEY] = settings
    app.router.add_get("/", demo_page)
    app.router.add_get("/healthz", health)
    app.router.add_get("/favicon.ico", no_favicon)
    app.router.add_post("/demo/token", demo_token)
    app.router.add_get("/widget.js", widget_script)
    for path in STATIC_FILES:
        app.router.add_get(path, static_file)
    return app


def main(argv: list[str] | None = None) -> int:
    """Serve the widget and the demo page until interrupted."""
    settings = get_settings()
    return serve(
        "web",
        create_app,
        settings.widget_host,
        settings.widget_port,
        argv,
        description=__doc__.split("\n")[0],
    )


if __name__ == "__main__":
    raise SystemExit(main())
