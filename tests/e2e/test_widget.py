"""The chat widget in a real Chromium, against the real servers and the widget's web server.

Chromium is Debian's (/usr/bin/chromium, installed by `make install`); Playwright's own browser
downloads are not used. Screenshots land in docs/screenshots/.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, WebSocketRoute, expect, sync_playwright

from bot.care.timefmt import UK, uk_date
from bot.config import Settings
from bot.identity.tokens import conversation_id
from tests.e2e.servers import MODEL, ROOT, Servers, start_servers

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
XSS = "<img src=x onerror=alert(1)>"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """Action server, Rasa and the widget server; browsers may connect from its origin."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` first")
    workdir = tmp_path_factory.mktemp("e2e-widget")
    servers = start_servers(workdir, f"sqlite:///{workdir / 'records.db'}", web=True)
    try:
        yield servers
    finally:
        servers.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make install` (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Watched:
    """A page, and what it did that a patient must never see happen."""

    page: Page
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sockets: list[WebSocketRoute] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)


def open_page(browser: Browser, width: int = 1280, height: int = 800) -> Watched:
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watched = Watched(page)

    def on_dialog(dialog: Dialog) -> None:
        watched.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    page.on("request", lambda request: watched.urls.append(request.url))
    page.on("websocket", lambda ws: watched.urls.append(ws.url))

    # Pass the widget's WebSocket through untouched, keeping a handle to inject messages.
    def route(ws: WebSocketRoute) -> None:
        ws.connect_to_server()
        watched.sockets.append(ws)

    page.route_web_socket(re.compile(r"/socket\.io/"), route)
    return watched


@pytest.fixture
def tab(browser: Browser, web: Servers) -> Iterator[Watched]:
    watched = open_page(browser)
    yield watched
    watched.page.context.close()
    assert not watched.dialogs, watched.dialogs
    assert not watched.errors, watched.errors


def sign_in(page: Page, web: Servers, patient: str | None) -> None:
    """On the demo portal, sign in as `patient` (or stay anonymous) and open the widget."""
    assert web.web_url
    page.goto(web.web_url)
    page.check(f"#p-{patient or 'anonymous'}")
    page.get_by_role("button", name="Open the assistant").click()
    expect(page.locator(".allchat-panel")).to_be_visible()
    identity = "Signed in" if patient else "Not signed in"
    expect(page.locator(".allchat-identity")).to_contain_text(identity)
    wait_for_turn(page)


def wait_for_turn(page: Page) -> None:
    """Until every message is acknowledged and the assistant has finished answering."""
    expect(page.locator(".allchat-msg--pending")).to_have_count(0)
    expect(page.locator(".allchat-typing")).to_be_hidden()
    expect(page.locator(".allchat-msg--bot").first).to_be_visible()


def ask(page: Page, message: str) -> str:
    """Type a message, send it with Enter, and return the text of the assistant's answer."""
    before = page.locator(".allchat-msg--bot").count()
    box = page.get_by_label("Type your question")
    box.fill(message)
    box.press("Enter")
    expect(page.locator(".allchat-msg--bot")).not_to_have_count(before)
    wait_for_turn(page)
    answers = page.locator(".allchat-msg--bot .allchat-bubble").all_inner_texts()[before:]
    return "\n".join(answers)


def stored_session_id(page: Page) -> str:
    ids = page.evaluate(
        """() => Object.keys(sessionStorage)
              .filter((k) => k.startsWith("allchat:") && k.endsWith(":session"))
              .map((k) => JSON.parse(sessionStorage.getItem(k)))"""
    )
    assert len(ids) == 1, ids
    return ids[0]


def video_appointment_date() -> str:
    """demo-video's appointment: 9 UK days from now (bot/storage/demo.py)."""
    return uk_date((datetime.now(UK) + timedelta(days=9)).date())


def test_signed_in_patient_sees_their_appointment_uses_replies_and_keeps_history(
    tab: Watched, web: Servers
) -> None:
    page = tab.page
    sign_in(page, web, "demo-video")
    answer = ask(page, "when is my next appointment")
    assert video_appointment_date() in answer and "video appointment" in answer

    # The video link is a safe link; the text around it stays text.
    link = page.locator(".allchat-msg--bot a.allchat-link").last
    expect(link).to_have_attribute("href", "https://video.example-hospital.nhs.uk/join/abc123")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(link).to_have_attribute("target", "_blank")

    # A quick reply sends its payload and shows its title; old suggestions go away.
    page.get_by_role("button", name="Tips for a video appointment").click()
    expect(page.locator(".allchat-msg--user").last).to_have_text(
        re.compile(r"Tips for a video appointment$")
    )
    wait_for_turn(page)
    assert "/ask_remote_prepare" not in page.locator(".allchat-log").inner_text()
    expect(page.get_by_role("button", name="Add to my calendar")).to_have_count(0)

    # A reload keeps the transcript and resumes the same server conversation.
    session_id = stored_session_id(page)
    page.reload()
    log = page.locator(".allchat-log")
    expect(log).to_contain_text(video_appointment_date())
    expect(log).to_contain_text("Tips for a video appointment")
    expect(page.locator(".allchat-identity")).to_contain_text("Signed in")
    assert "every 3 months" in ask(page, "how often are my check ups")
    assert stored_session_id(page) == session_id
    settings = Settings(jwt_secret=web.env["JWT_SECRET"])
    # greeting + typed question + quick reply + question after the reload, one conversation.
    assert web.user_turns(conversation_id("demo-video", session_id, settings)) == 4

    # The token travelled only in socket.io's auth packet: never in a URL or in storage.
    assert any("/socket.io/" in url for url in tab.urls)
    for url in tab.urls:
        assert "eyJ" not in url, url
        if "/socket.io/" in url:
            assert "token" not in url.lower() and "auth" not in url.lower(), url
    stored = page.evaluate("() => JSON.stringify(Object.entries(sessionStorage))")
    assert "eyJ" not in stored


def test_calendar_file_downloads_from_the_widget(tab: Watched, web: Servers) -> None:
    page = tab.page
    sign_in(page, web, "demo-clinic")
    ask(page, "when is my next appointment")
    page.get_by_role("button", name="Add to my calendar").click()
    wait_for_turn(page)
    link = page.get_by_role("link", name=re.compile("Download the calendar file"))
    expect(link).to_have_attribute("download", "follow-up-appointment.ics")
    assert link.get_attribute("href").startswith("blob:")
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == "follow-up-appointment.ics"
    assert Path(download.path()).read_text().startswith("BEGIN:VCALENDAR")


def test_a_stale_token_is_renewed_through_get_token(tab: Watched, web: Servers) -> None:
    """A page that mounts with an expired token and a getToken callback ends up signed in."""
    page = tab.page
    assert web.web_url
    page.goto(web.web_url)
    expect(page.get_by_role("button", name="Questions about your follow-up?")).to_be_visible()
    page.evaluate(
        """(serverUrl) => {
            window.ALLChat.destroy({ forget: true });
            window.ALLChat.mount({
              serverUrl, token: "not-a-valid-token", open: true,
              getToken: () => fetch("/demo/token", {
                method: "POST", headers: { "Content-Type": "application/json" },
                body: JSON.stringify({ patient: "demo-telephone" }),
              }).then((r) => r.json()).then((d) => d.token),
            });
        }""",
        web.env["RASA_URL"],
    )
    expect(page.locator(".allchat-identity")).to_contain_text("Signed in")
    wait_for_turn(page)
    assert "telephone appointment" in ask(page, "when is my next appointment")


def test_anonymous_patient_gets_the_sign_in_answer(tab: Watched, web: Servers) -> None:
    page = tab.page
    sign_in(page, web, None)
    answer = ask(page, "when is my next appointment?")
    assert "sign in" in answer
    log = page.locator(".allchat-log").inner_text()
    for personal in ("abc123", "video appointment on", "Haematology Outpatients", "Robin"):
        assert personal not in log


def test_markup_is_shown_as_text_and_runs_nothing(tab: Watched, web: Servers) -> None:
    page = tab.page
    sign_in(page, web, None)
    ask(page, XSS)
    expect(page.locator(".allchat-msg--user .allchat-text").last).to_have_text(XSS)
    assert page.locator(".allchat img").count() == 0
    # A bot message with markup and a javascript: URL, straight into the socket.
    tab.sockets[-1].send(
        "42"
        + json.dumps(
            [
                "bot_uttered",
                {
                    "text": f"{XSS} javascript:alert(2) see https://example.org/a?b=1.",
                    "quick_replies": [{"title": "<b>bold</b>", "payload": "/greet"}],
                },
            ]
        )
    )
    bubble = page.locator(".allchat-msg--bot .allchat-text").last
    expect(bubble).to_contain_text(XSS)
    links = bubble.locator("a")
    expect(links).to_have_count(1)
    expect(links.first).to_have_attribute("href", "https://example.org/a?b=1")
    expect(page.get_by_role("button", name="<b>bold</b>")).to_be_visible()
    assert page.locator(".allchat img, .allchat b").count() == 0
    page.wait_for_timeout(300)
    assert tab.dialogs == []


def test_printable_list_has_a_print_button(tab: Watched, web: Servers) -> None:
    page = tab.page
    sign_in(page, web, "demo-telephone")
    # The real notebook flow: two additions, then the printable list.
    ask(page, "add: can I travel abroad?")
    ask(page, "remind me to ask about my tiredness")
    ask(page, "show me my questions")
    card = page.locator(".allchat-printable")
    expect(card.get_by_role("heading")).to_have_text("Questions for my follow-up appointment")
    expect(card.locator("li")).to_have_text(["Can I travel abroad?", "My tiredness"])
    # Printing shows only the list: the page and the rest of the chat are hidden.
    page.evaluate("() => { window.print = () => { window.__printed = true; }; }")
    page.get_by_role("button", name=re.compile("Print this list")).click()
    assert page.evaluate("() => window.__printed") is True
    page.emulate_media(media="print")
    page.evaluate(
        "() => { document.documentElement.classList.add('allchat-print-mode');"
        " document.querySelector('.allchat-printable').closest('.allchat-msg')"
        ".classList.add('allchat-printing'); }"
    )
    expect(card).to_be_visible()
    expect(page.locator("main")).to_be_hidden()
    expect(page.locator(".allchat-form")).to_be_hidden()
    expect(page.locator(".allchat-msg:not(.allchat-printing)").first).to_be_hidden()


def test_keyboard_only(tab: Watched, web: Servers) -> None:
    page = tab.page
    assert web.web_url
    page.goto(web.web_url)
    launcher = page.get_by_role("button", name="Questions about your follow-up?")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    page.wait_for_timeout(500)
    # A page where the chat is never opened opens no socket.
    assert not [url for url in tab.urls if "/socket.io/" in url]
    launcher.focus()
    page.keyboard.press("Enter")
    box = page.get_by_label("Type your question")
    expect(box).to_be_focused()
    wait_for_turn(page)
    page.keyboard.type("how often are my check ups")
    page.keyboard.press("Enter")
    expect(page.locator(".allchat-log")).to_contain_text("every 3 months")
    wait_for_turn(page)
    # Shift+Tab from the input reaches the quick replies; Enter picks one.
    page.keyboard.press("Shift+Tab")
    focused = page.evaluate("() => document.activeElement.className")
    assert "allchat-reply" in focused or "allchat-log" in focused, focused
    if "allchat-reply" in focused:
        page.keyboard.press("Enter")
        wait_for_turn(page)
        expect(box).to_be_focused()
    # Focus is always visible.
    box.focus()
    page.keyboard.press("Tab")
    send = page.get_by_role("button", name="Send")
    expect(send).to_be_focused()
    outline = send.evaluate("(el) => getComputedStyle(el).outlineStyle")
    assert outline == "solid"
    # Escape closes the chat and puts focus back on the launcher.
    page.keyboard.press("Escape")
    expect(page.locator(".allchat-panel")).to_be_hidden()
    expect(launcher).to_be_focused()


def test_a_dropped_connection_keeps_what_was_typed(tab: Watched, web: Servers) -> None:
    page = tab.page
    sign_in(page, web, None)
    page.context.set_offline(True)
    status = page.get_by_role("status").filter(has_text="Reconnecting")
    expect(status).to_be_visible()
    box = page.get_by_label("Type your question")
    box.fill("how often are my check ups")
    box.press("Enter")
    # Queued, not lost: the bubble waits, and the input keeps the text until it is sent.
    expect(page.locator(".allchat-msg--pending")).to_contain_text("Waiting to send")
    expect(box).to_have_value("how often are my check ups")
    page.wait_for_timeout(1500)
    expect(box).to_have_value("how often are my check ups")
    page.context.set_offline(False)
    expect(page.locator(".allchat-msg--pending")).to_have_count(0, timeout=20_000)
    expect(box).to_have_value("")
    expect(status).to_have_count(0)
    expect(page.locator(".allchat-log")).to_contain_text("every 3 months")


def serious_violations(page: Page) -> list[str]:
    results = page.evaluate(
        """async () => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            return result.violations.map((v) => ({
              id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5),
            }));
        }"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes']}"
        for v in results
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("width", [1280, 320])
def test_accessibility_and_screenshots(browser: Browser, web: Servers, width: int) -> None:
    if not AXE.exists():
        pytest.fail("node_modules/axe-core missing: run `make install` (npm ci)")
    tab = open_page(browser, width=width, height=800 if width > 320 else 640)
    page = tab.page
    # An init script is not subject to the page's CSP (which forbids inline scripts).
    page.add_init_script(path=str(AXE))
    try:
        assert web.web_url
        page.goto(web.web_url)
        expect(page.get_by_role("button", name="Questions about your follow-up?")).to_be_visible()
        assert serious_violations(page) == []
        sign_in(page, web, "demo-video")
        ask(page, "when is my next appointment")
        page.get_by_role("button", name="Add to my calendar").click()
        wait_for_turn(page)
        ask(page, "add a question: can I go back to work?")
        ask(page, "show me my questions")
        expect(page.locator(".allchat-printable")).to_be_visible()
        assert serious_violations(page) == []
        if width < 400:
            # The chat fills a small screen, with nothing wider than it.
            panel = page.locator(".allchat-panel").bounding_box()
            assert panel and panel["width"] <= width
            scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
            assert scroll_width <= width
        page.locator(".allchat-log").evaluate("(el) => { el.scrollTop = el.scrollHeight; }")
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        page.mouse.move(0, 0)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = "widget-desktop.png" if width > 320 else "widget-320.png"
        page.screenshot(path=str(SCREENSHOTS / name))
        assert not tab.dialogs and not tab.errors
    finally:
        page.context.close()
