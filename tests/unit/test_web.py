"""The widget's web server (bot/apps/web.py): demo tokens, security headers, the files it serves."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.apps.web import (
    STATIC_FILES,
    WIDGET_TEXT_MARKER,
    content_security_policy,
    create_app,
    render_widget_script,
)
from bot.care.wording import load_wording
from bot.config import PROJECT_ROOT, Settings
from bot.identity.tokens import verify_token
from bot.storage.demo import DEMO_SPECS

SECRET = "unit-test-secret-that-is-long-enough-for-hs256"
# Browsers send Origin with every POST; the demo page is served from an allowed origin.
PAGE = {"Origin": "http://localhost:8080"}
DEMO_IDS = [spec.portal_id for spec in DEMO_SPECS]
MakeClient = Callable[..., Awaitable[TestClient]]


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "development",
        "jwt_secret": SECRET,
        "rasa_url": "http://localhost:5005",
        "allowed_origins": "http://localhost:8080,http://127.0.0.1:8080",
        "demo_tokens_enabled": True,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def client_for() -> AsyncIterator[MakeClient]:
    clients: list[TestClient] = []

    async def make(**overrides: object) -> TestClient:
        client = TestClient(TestServer(create_app(make_settings(**overrides))))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


def test_demo_ids_are_the_five_demo_patients() -> None:
    assert DEMO_IDS == [
        "demo-telephone",
        "demo-video",
        "demo-clinic",
        "demo-nothing",
        "demo-cancelled",
    ]


@pytest.mark.parametrize("portal_id", DEMO_IDS)
async def test_demo_token_for_each_demo_patient(client_for: MakeClient, portal_id: str) -> None:
    client = await client_for()
    response = await client.post("/demo/token", json={"patient": portal_id}, headers=PAGE)
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = await response.json()
    assert body["patient"] == portal_id and body["name"]
    assert verify_token(body["token"], make_settings()) == portal_id
    # Signed with the configured secret only.
    assert verify_token(body["token"], make_settings(jwt_secret="x" * 40)) is None


@pytest.mark.parametrize(
    "body",
    [
        {"patient": "demo-unknown"},
        {"patient": "real-patient-123"},
        {"patient": ""},
        {"patient": None},
        {"patient": 42},
        {"patient": ["demo-video"]},
        {"patient": " demo-video"},
        {"patient": "DEMO-VIDEO"},
        {},
        ["demo-video"],
        "demo-video",
    ],
)
async def test_demo_token_only_for_demo_patients(client_for: MakeClient, body: object) -> None:
    client = await client_for()
    response = await client.post("/demo/token", json=body, headers=PAGE)
    assert response.status == 400
    assert "token" not in await response.json()


async def test_demo_token_bad_json(client_for: MakeClient) -> None:
    client = await client_for()
    response = await client.post(
        "/demo/token", data="{not json", headers={"Content-Type": "application/json", **PAGE}
    )
    assert response.status == 400


async def test_demo_token_refuses_huge_bodies(client_for: MakeClient) -> None:
    client = await client_for()
    response = await client.post(
        "/demo/token", json={"patient": "demo-video", "x": "a" * 10000}, headers=PAGE
    )
    assert response.status == 413


async def test_demo_token_only_by_get_is_not_allowed(client_for: MakeClient) -> None:
    client = await client_for()
    response = await client.get("/demo/token")
    assert response.status == 405


async def test_demo_tokens_can_be_turned_off(client_for: MakeClient) -> None:
    client = await client_for(demo_tokens_enabled=False)
    response = await client.post("/demo/token", json={"patient": "demo-video"}, headers=PAGE)
    assert response.status == 404
    assert "token" not in await response.json()
    page = await (await client.get("/")).text()
    assert 'data-demo="off"' in page and "demo-video" not in page


@pytest.mark.parametrize("environment", ["production", "test"])
async def test_demo_tokens_only_in_development(client_for: MakeClient, environment: str) -> None:
    client = await client_for(environment=environment, demo_tokens_enabled=True)
    response = await client.post("/demo/token", json={"patient": "demo-video"}, headers=PAGE)
    assert response.status == 404
    assert "demo-video" not in await (await client.get("/")).text()


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        ("http://evil.example", 403),
        ("null", 403),
        ("http://localhost:8080", 200),
        ("http://127.0.0.1:8080", 200),
        (None, 403),
    ],
)
async def test_demo_token_refuses_other_sites(
    client_for: MakeClient, origin: str | None, status: int
) -> None:
    client = await client_for()
    headers = {"Origin": origin} if origin else {}
    response = await client.post("/demo/token", json={"patient": "demo-video"}, headers=headers)
    assert response.status == status


async def test_demo_token_from_its_own_origin(client_for: MakeClient) -> None:
    client = await client_for(allowed_origins="")
    own = f"http://{client.host}:{client.port}"
    response = await client.post(
        "/demo/token", json={"patient": "demo-video"}, headers={"Origin": own}
    )
    assert response.status == 200


@pytest.mark.parametrize(
    "path", ["/", "/widget.js", "/widget.css", "/healthz", "/no-such-page", "/demo/token"]
)
async def test_security_headers_on_every_response(client_for: MakeClient, path: str) -> None:
    client = await client_for()
    response = await client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self';" in csp
    assert "connect-src 'self' http://localhost:5005 ws://localhost:5005;" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_csp_follows_the_configured_rasa_origin() -> None:
    csp = content_security_policy(make_settings(rasa_url="https://chat.example.nhs.uk/"))
    assert "connect-src 'self' https://chat.example.nhs.uk wss://chat.example.nhs.uk;" in csp
    csp = content_security_policy(make_settings(rasa_url="not a url"))
    assert "connect-src 'self';" in csp


@pytest.mark.parametrize(
    ("path", "content_type", "marker"),
    [
        ("/widget.js", "text/javascript", "window.ALLChat"),
        ("/widget.css", "text/css", ".allchat-log"),
        ("/demo.js", "text/javascript", "/demo/token"),
        ("/demo.css", "text/css", ".skip-link"),
        ("/vendor/socket.io.min.js", "text/javascript", "Socket.IO"),
    ],
)
async def test_static_files_served(
    client_for: MakeClient, path: str, content_type: str, marker: str
) -> None:
    client = await client_for()
    response = await client.get(path)
    assert response.status == 200, "socket.io-client missing? run `make install` (npm ci)"
    assert response.headers["Content-Type"].startswith(content_type)
    assert marker in await response.text()


async def test_demo_page(client_for: MakeClient) -> None:
    client = await client_for()
    response = await client.get("/")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = await response.text()
    assert 'data-server-url="http://localhost:5005"' in page
    for portal_id in DEMO_IDS:
        assert f'value="{portal_id}"' in page
    assert 'src="/widget.js"' in page and 'src="/demo.js"' in page
    # No inline script: the CSP would block it.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert "%%" not in page


async def test_demo_page_escapes_settings(client_for: MakeClient) -> None:
    client = await client_for(rasa_url='http://localhost:5005/"><script>alert(1)</script>')
    page = await (await client.get("/")).text()
    assert "<script>alert(1)" not in page
    assert "&quot;&gt;&lt;script&gt;" in page


@pytest.mark.parametrize(
    "path",
    [
        "/web/widget.js",
        "/web/demo.html",
        "/demo.html",
        "/vendor/../bot/config.py",
        "/vendor/%2e%2e/%2e%2e/bot/config.py",
        "/node_modules/socket.io-client/package.json",
        "/.env",
        "/vendor/",
    ],
)
async def test_nothing_else_is_served(client_for: MakeClient, path: str) -> None:
    client = await client_for()
    response = await client.get(path)
    assert response.status == 404
    assert "JWT" not in await response.text()


async def test_healthz(client_for: MakeClient) -> None:
    client = await client_for()
    response = await client.get("/healthz")
    assert response.status == 200 and (await response.json()) == {"status": "ok"}


async def test_widget_script_is_served_with_its_words(client_for: MakeClient) -> None:
    client = await client_for()
    response = await client.get("/widget.js")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/javascript")
    body = await response.text()
    assert WIDGET_TEXT_MARKER not in body and "%%" not in body
    literal = re.search(r"^  var TEXT = (.*);$", body, re.MULTILINE)
    assert literal, "widget.js lost its `var TEXT = ...;` line"
    words = {key: entry.text for key, entry in load_wording("widget").entries.items()}
    assert json.loads(literal.group(1)) == words
    assert "<" not in literal.group(1)
    # The file on disk holds the marker, not the words.
    raw = (PROJECT_ROOT / "web" / "widget.js").read_text()
    assert raw.count(WIDGET_TEXT_MARKER) == 1 and words["launcher"] not in raw


@pytest.mark.skipif(shutil.which("node") is None, reason="node is installed by `make install`")
def test_served_widget_script_is_valid_javascript(tmp_path) -> None:
    script = tmp_path / "widget.js"
    script.write_text(render_widget_script(), encoding="utf-8")
    subprocess.run(["node", "--check", str(script)], check=True)


def test_every_served_file_exists() -> None:
    for path, (file, _) in STATIC_FILES.items():
        if "vendor" in path and not (PROJECT_ROOT / "node_modules").exists():
            pytest.fail("node_modules missing: run `make install` (npm ci)")
        assert file.is_file(), path


@pytest.mark.parametrize("name", ["widget.js", "demo.js"])
def test_scripts_never_parse_html_from_strings(name: str) -> None:
    source = (PROJECT_ROOT / "web" / name).read_text()
    for risky in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert risky not in source, risky


def test_widget_keeps_the_token_out_of_urls_and_logs() -> None:
    source = (PROJECT_ROOT / "web" / "widget.js").read_text()
    assert "console." not in source
    assert "query:" not in source and "?token" not in source
    assert "auth: function" in source


def test_web_server_does_not_import_rasa() -> None:
    code = "import sys, bot.apps.web; sys.exit(any(m.split('.')[0] == 'rasa' for m in sys.modules))"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PROJECT_ROOT)
