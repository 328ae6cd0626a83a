"""No patient text, portal id, number or token reaches any log of the real servers.

A unique sentinel goes through every path the review found leaking (issue 12, finding 3):
a normal turn, an action that raises (a valid token for a portal id with no record, then
adding a question), a "/" message that fails to parse, the Socket.IO channel, an oversized
body, and the action server being down. Then every log line the three servers wrote is
searched for the sentinel, the portal id and the tokens.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator

import pytest
import requests

from bot.identity.tokens import issue_token
from tests.e2e.servers import Servers, start_servers
from tests.e2e.test_socketio import Chat

pytestmark = pytest.mark.e2e

SENTINEL = "Zebulon" + secrets.token_hex(5)
PHONE = "07700 900" + str(secrets.randbelow(900) + 100)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """Rasa, the action server and the widget server, on their own database."""
    workdir = tmp_path_factory.mktemp("e2e-logs")
    running = start_servers(workdir, f"sqlite:///{workdir / 'records.db'}", web=True)
    try:
        yield running
    finally:
        running.stop()


def test_no_sentinel_token_or_number_in_any_log(servers: Servers) -> None:
    settings = servers.settings()
    token = issue_token("demo-video", settings=settings)
    ghost_id = "ghost-" + SENTINEL  # a valid token for a portal id with no record
    ghost = issue_token(ghost_id, settings=settings)
    url = f"{servers.rasa_url}/webhooks/rest/webhook"

    # A normal signed-in turn, with a name and a number in it.
    servers.say(f"my name is {SENTINEL} and my number is {PHONE}", sender="n", token=token)
    # An action that raises: no record for this portal id, then adding a question.
    servers.say("when is my next appointment?", sender="g", token=ghost)
    servers.say(f"add a question: can I tell {SENTINEL} about it?", sender="g", token=ghost)
    # "/" messages that fail to parse, anonymous and signed in.
    servers.say(f'/ask_next_appointment{{"name": "{SENTINEL}"', sender="s")
    servers.say(f"/{SENTINEL} {PHONE}", sender="s", token=token)
    # A body too big, a bad token and bad JSON, each with the sentinel.
    requests.post(url, json={"sender": "b", "message": SENTINEL * 5000}, timeout=30)
    requests.post(
        url,
        json={"sender": "b", "message": SENTINEL},
        headers={"Authorization": f"Bearer {token}x"},
        timeout=30,
    )
    requests.post(url, data=f'{{"message": "{SENTINEL}"', timeout=30)

    # The Socket.IO channel, signed in.
    async def socket_turn() -> None:
        chat = Chat(servers, token, origin=servers.web_url)
        try:
            await chat.start(None)
            await chat.say(f"{SENTINEL} here, is my appointment on the phone? {PHONE}")
        finally:
            await chat.close()

    asyncio.run(socket_turn())
    # The demo page's token endpoint and a static file with the sentinel in the query.
    assert servers.web_url is not None
    requests.get(f"{servers.web_url}/widget.js?x={SENTINEL}", timeout=10)
    requests.post(f"{servers.web_url}/demo/token", json={"patient": SENTINEL}, timeout=10)

    # The action server goes down mid-conversation.
    action_server = servers.processes[0]
    action_server.terminate()
    action_server.wait(timeout=20)
    reply = servers.say(f"when is my next appointment, {SENTINEL}?", sender="d", token=token)
    assert "something went wrong" in reply

    logs = servers.logs()
    assert "rest message handled" in logs  # the servers did log
    for secret in (SENTINEL, PHONE, PHONE.replace(" ", ""), token, ghost, ghost_id):
        assert secret not in logs, f"{secret!r} found in the logs"
    assert "demo-video" not in logs
