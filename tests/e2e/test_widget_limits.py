"""The widget tells the patient to slow down when the server's rate limit refuses a message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.e2e.servers import MODEL, Servers, start_servers
from tests.e2e.test_widget import browser, open_page, sign_in  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """The three servers, allowing only 3 messages a minute from one address."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` first")
    workdir = tmp_path_factory.mktemp("e2e-widget-limits")
    servers = start_servers(
        workdir,
        f"sqlite:///{workdir / 'records.db'}",
        web=True,
        extra_env={"RATE_LIMIT_PER_IP": "3/minute"},
    )
    try:
        yield servers
    finally:
        servers.stop()


def test_the_widget_shows_please_slow_down(browser, web: Servers) -> None:  # noqa: F811
    tab = open_page(browser)
    page = tab.page
    try:
        sign_in(page, web, None)  # the greeting is message 1
        box = page.get_by_label("Type your question")
        for question in ("how often are my check ups", "who will I see", "what is a video call"):
            box.fill(question)
            box.press("Enter")
        expect(page.locator(".allchat-msg--bot").last).to_contain_text(
            "faster than I can answer", timeout=30_000
        )
        # The refused message waits to be sent again, nothing is lost.
        expect(page.locator(".allchat-msg--pending")).not_to_have_count(0)
        assert not tab.errors and not tab.dialogs
    finally:
        page.context.close()
