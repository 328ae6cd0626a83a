"""The attacks of issue 12, against the real servers. Each one worked on the old code.

docs/security.md lists them with the defence each test proves.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from bot.care.wording import say
from bot.identity.tokens import conversation_id, is_anonymous_session, issue_token
from tests.e2e.servers import Servers, start_servers
from tests.e2e.test_socketio import Chat

pytestmark = pytest.mark.e2e


def token_for(servers: Servers, portal_id: str) -> str:
    return issue_token(portal_id, settings=servers.settings())


def action_call(
    servers: Servers, action: str, sender: str, metadata: dict[str, Any], text: str = ""
) -> requests.Response:
    """Call the action server directly, as any local process (or a forged request) could."""
    tracker = {
        "sender_id": sender,
        "slots": {},
        "latest_message": {
            "intent": {"name": "ask_next_appointment", "confidence": 1.0},
            "entities": [],
            "text": text,
            "message_id": "m-forged",
            "metadata": metadata,
        },
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    body = {"next_action": action, "sender_id": sender, "tracker": tracker, "domain": {}}
    assert servers.action_url is not None
    # text/plain needs no CORS preflight: a web page could send exactly this.
    return requests.post(
        servers.action_url,
        data=json.dumps(body),
        headers={"Content-Type": "text/plain"},
        timeout=30,
    )


def corrections(servers: Servers) -> int:
    engine = create_engine(servers.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return conn.execute(text("select count(*) from number_corrections")).scalar_one()
    finally:
        engine.dispose()


def stored_claim(servers: Servers, sender: str) -> tuple[str, str]:
    """The identity claim and message id Rasa stored for a conversation's last user turn."""
    engine = create_engine(servers.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("select data from events where sender_id = :s and type_name = 'user'"),
                {"s": sender},
            ).all()
    finally:
        engine.dispose()
    event = json.loads(rows[-1][0])
    return event["metadata"]["identity_claim"], event["message_id"]


# -- 2. the action server checks who is asking ------------------------------------------


def test_forged_metadata_sent_to_the_action_server_reads_nothing(servers: Servers) -> None:
    forged = {"verified_patient": "demo-video", "auth": "verified"}
    response = action_call(servers, "action_next_appointment", "attacker", forged)
    assert response.status_code == 200, response.text
    said = json.dumps(response.json()["responses"])
    assert "abc123" not in said and "video appointment" not in said and "sign in" in said


def test_forged_metadata_cannot_change_a_record(servers: Servers) -> None:
    before = corrections(servers)
    forged = {"verified_patient": "demo-video", "auth": "verified"}
    response = action_call(
        servers, "action_update_phone", "attacker", forged, "my new number is 07700 900777"
    )
    assert response.status_code == 200
    assert corrections(servers) == before


def test_a_real_claim_replayed_elsewhere_is_refused(servers: Servers) -> None:
    sender = "victim-" + secrets.token_hex(6)
    token = token_for(servers, "demo-video")
    assert "abc123" in servers.say("when is my next appointment?", sender=sender, token=token)
    conversation = conversation_id("demo-video", sender, servers.settings())
    claim, message_id = stored_claim(servers, conversation)
    metadata = {"verified_patient": "demo-video", "auth": "verified", "identity_claim": claim}
    # In another conversation, or for another message of the same one: anonymous.
    for target in ("attacker", conversation):
        response = action_call(servers, "action_next_appointment", target, metadata)
        said = json.dumps(response.json()["responses"])
        assert "abc123" not in said and "sign in" in said, target
    assert message_id  # the claim was bound to the real message, not "m-forged"


# -- 4. anonymous sessions the client can't choose ---------------------------------------


def test_a_chosen_anonymous_sender_is_replaced(servers: Servers) -> None:
    response = requests.post(
        f"{servers.rasa_url}/webhooks/rest/webhook",
        json={"sender": "a", "message": "hello"},
        timeout=60,
    )
    issued = response.json()[0]["recipient_id"]
    assert issued != "a" and is_anonymous_session(issued, servers.settings())
    assert servers.user_turns(conversation_id(None, "a", servers.settings())) == 0
    # The issued id is kept: the same conversation continues.
    again = requests.post(
        f"{servers.rasa_url}/webhooks/rest/webhook",
        json={"sender": issued, "message": "how often are my check ups"},
        timeout=60,
    )
    assert again.json()[0]["recipient_id"] == issued
    assert servers.user_turns(conversation_id(None, issued, servers.settings())) == 2


def test_two_anonymous_people_with_the_same_id_do_not_share_a_list(servers: Servers) -> None:
    url = f"{servers.rasa_url}/webhooks/rest/webhook"
    first = requests.post(
        url, json={"sender": "shared", "message": "add a question: can I go swimming?"}
    )
    assert "swimming" in first.text
    second = requests.post(url, json={"sender": "shared", "message": "show my questions"})
    assert "swimming" not in second.text


async def test_socket_anonymous_session_is_server_issued(servers: Servers) -> None:
    chat = Chat(servers)
    try:
        chosen = "chosen-by-the-client-" + "x" * 10
        confirmed = await chat.start(chosen)
        issued = confirmed["session_id"]
        assert issued != chosen and is_anonymous_session(issued, servers.settings())
        assert (await chat.start(issued))["session_id"] == issued
    finally:
        await chat.close()


# -- 5. limits ----------------------------------------------------------------------------


def test_big_bodies_get_a_kind_413(servers: Servers) -> None:
    url = f"{servers.rasa_url}/webhooks/rest/webhook"
    for size in (20_000, 2_000_000):
        response = requests.post(url, json={"sender": "big", "message": "a" * size}, timeout=60)
        assert response.status_code == 413, size
        assert response.json()["error"] == say("errors", "too_large")


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    """Servers with low limits: 12 messages a minute per address, 3 per patient, 1 queued."""
    workdir = tmp_path_factory.mktemp("e2e-limits")
    running = start_servers(
        workdir,
        f"sqlite:///{workdir / 'records.db'}",
        extra_env={
            "RATE_LIMIT_PER_IP": "12/minute",
            "RATE_LIMIT_PER_PATIENT": "3/minute",
            "SOCKET_QUEUE_MAX": "1",
        },
    )
    try:
        yield running
    finally:
        running.stop()


async def test_queue_and_rate_limits_answer_kindly(limited: Servers) -> None:
    # A socket may have only SOCKET_QUEUE_MAX messages waiting.
    chat = Chat(limited)
    try:
        await chat.start(None)
        acks = await asyncio.gather(*(chat.send(f"hello {i}") for i in range(3)))
        refused = [a for a in acks if not a.get("ok")]
        assert {"ok": True} in acks and refused
        assert all(
            a == {"ok": False, "error": "queue_full", "text": say("errors", "slow_down")}
            for a in refused
        )
    finally:
        await chat.close()
    # Per patient: the 4th message in a minute is refused, with Retry-After.
    token = token_for(limited, "demo-video")
    statuses = [limited.post("hello", sender="p", token=token) for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert statuses[-1].json()[0]["text"] == say("errors", "slow_down")
    assert int(statuses[-1].headers["Retry-After"]) > 0
    # Per address: anonymous messages from the same address soon hit the address limit.
    codes = [limited.post("hello", sender="ip").status_code for _ in range(10)]
    assert 429 in codes and codes.count(200) <= 12
    # Socket.IO shares the address limit.
    chat = Chat(limited)
    try:
        await chat.start(None)
        ack = await chat.send("hello again")
        assert ack == {"ok": False, "error": "rate_limited", "text": say("errors", "slow_down")}
    finally:
        await chat.close()
