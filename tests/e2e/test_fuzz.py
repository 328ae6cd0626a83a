"""Hostile input against a real Rasa server: never a 5xx, a crash or an unhandled error.

Hypothesis generates REST bodies (random Unicode, empty and blank text, 100 kB text,
control characters, emoji, right-to-left text, HTML and SQL-looking text, wrong types for
every field, malformed JSON and bytes) and Socket.IO events. Each reply must be a valid
answer (200 with a list of messages) or a clean 4xx with a JSON error. `make test` sends
FUZZ_EXAMPLES=200 over REST (and a tenth of that over Socket.IO); `make fuzz` sends 10,000.

Lone surrogates (`"\\ud800"` in JSON) used to crash Rasa's spaCy tokenizer (a 500);
bot/care/inputs.py now drops them, and a test below sends one.
The server runs on PostgreSQL, the stricter store about odd text.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import socketio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import Settings
from bot.identity.tokens import issue_token
from tests.conftest import fresh_database_url
from tests.e2e.servers import MODEL, Servers, start_servers

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
SOCKET_EXAMPLES = max(20, EXAMPLES // 10)
STATUS = Counter()

HOSTILE = [
    "",
    " ",
    "\t\n\r  \u3000",
    "\x00",
    "\x00\x01\x02\x1b[31m\x7f",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "'; DROP TABLE events; --",
    "1 OR 1=1",
    "{{7*7}} ${7*7} %s%s%n",
    "مرحبا، متى موعدي القادم؟",
    "\u202eevil\u202c when is my appointment",
    "שלום",
    "🤒🌡️ 39.5 🆘",
    "👩🏽‍⚕️" * 50,
    "a" * 100_000,
    "when is my next appointment? " * 4000,
    "/affirm",
    "/ask_next_appointment",
    '/start_checklist{"checklist_kind":"<b>x</b>"}',
    '/start_checklist{"checklist_kind": 1e999}',
    "/nlu_fallback{",
]

# Socket.IO refuses packets over 64 kB by closing the socket (tested on its own below).
SMALL_HOSTILE = [h for h in HOSTILE if len(h) < 10_000]


def text_strategy(samples: list[str]) -> st.SearchStrategy[str]:
    """Hostile samples, random Unicode (no lone surrogates), control, format and symbol text."""
    return st.one_of(
        st.sampled_from(samples),
        st.text(max_size=300),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=3000),
        st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), max_size=50),
        st.text(alphabet=st.characters(categories=["So", "Sk", "Mn"]), max_size=100),
        st.builds("".join, st.lists(st.sampled_from(HOSTILE[4:14]), max_size=5)),
    )


texts = text_strategy(HOSTILE)
small_texts = text_strategy(SMALL_HOSTILE)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | texts,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=6,
)
small_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | small_texts,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=6,
)
senders = st.one_of(st.text(max_size=80), st.sampled_from(["fuzz", "fuzz-2", ""]), json_values)
message_ids = st.one_of(st.none(), st.text(max_size=80), st.just("same-id"), json_values)


@st.composite
def rest_bodies(draw: st.DrawFn) -> bytes:
    """A request body: usually a JSON object with odd fields, sometimes not JSON at all."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=2000))
    if kind == 1:
        good = json.dumps({"sender": "fuzz", "message": draw(texts)})
        return good[: draw(st.integers(0, len(good)))].encode("utf-8", "surrogatepass")
    if kind == 2:
        return json.dumps(draw(json_values)).encode("utf-8", "surrogatepass")
    body: dict[str, Any] = {}
    if draw(st.booleans()):
        body["sender"] = draw(senders)
    body["message"] = draw(st.one_of(texts, texts, json_values))
    if draw(st.booleans()):
        body["message_id"] = draw(message_ids)
    if draw(st.booleans()):
        body[draw(st.text(max_size=10))] = draw(json_values)
    if draw(st.booleans()):
        body["metadata"] = draw(json_values)
    return json.dumps(body).encode("utf-8", "surrogatepass")


@pytest.fixture(scope="module")
def fuzz_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` first")
    workdir = tmp_path_factory.mktemp("e2e-fuzz")
    with fresh_database_url("postgresql", workdir) as url:
        running = start_servers(workdir, url)
        try:
            yield running
        finally:
            running.stop()


def check_reply(reply: requests.Response) -> None:
    STATUS[reply.status_code] += 1
    assert reply.status_code < 500, reply.text[:500]
    payload = reply.json()  # every answer, error or not, is JSON
    if reply.status_code == 200:
        assert isinstance(payload, list) and payload
        assert all(isinstance(m, dict) and ("text" in m or "custom" in m) for m in payload)
    else:
        assert 400 <= reply.status_code < 500 and payload


def test_rest_survives_hostile_input(fuzz_servers: Servers) -> None:
    url = f"{fuzz_servers.rasa_url}/webhooks/rest/webhook"
    http = requests.Session()
    token = issue_token("demo-video", settings=Settings(jwt_secret=fuzz_servers.env["JWT_SECRET"]))
    auth_headers = st.sampled_from(
        [{}, {"Authorization": f"Bearer {token}"}, {"Authorization": "Bearer x.y.z"}]
    )
    content_types = st.sampled_from(
        ["application/json", "text/plain", "application/x-www-form-urlencoded"]
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(body=rest_bodies(), headers=auth_headers, content_type=content_types)
    def send(body: bytes, headers: dict[str, str], content_type: str) -> None:
        reply = http.post(
            url, data=body, headers={**headers, "Content-Type": content_type}, timeout=60
        )
        check_reply(reply)

    send()
    sent = sum(STATUS.values())
    print(f"REST fuzz: {sent} requests, statuses {dict(sorted(STATUS.items()))}")
    assert sent >= EXAMPLES
    assert requests.get(f"{fuzz_servers.rasa_url}/webhooks/rest/", timeout=5).ok
    logs = fuzz_servers.logs()
    assert "Traceback" not in logs, logs[logs.find("Traceback") - 500 :][:3000]
    assert "no reply produced" not in logs


def test_socketio_survives_hostile_events(fuzz_servers: Servers) -> None:
    origin = Settings().origins[0]
    client = socketio.Client(reconnection=False)
    done: list[Any] = []
    confirmed = threading.Event()
    client.on("bot_turn_done", lambda data: done.append(data))
    client.on("session_confirm", lambda _: confirmed.set())
    client.connect(fuzz_servers.rasa_url, headers={"Origin": origin}, transports=["polling"])
    acks: Counter = Counter()
    client.emit("session_request", {"session_id": uuid.uuid4().hex * 2})
    assert confirmed.wait(10), "no session_confirm"

    @settings(
        max_examples=SOCKET_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        event=st.sampled_from(["user_uttered", "user_uttered", "session_request", "other"]),
        data=st.one_of(
            small_json_values,
            st.fixed_dictionaries(
                {"message": st.one_of(small_texts, small_json_values)},
                optional={
                    "message_id": st.one_of(st.none(), st.text(max_size=80)),
                    "session_id": st.text(max_size=80),
                },
            ),
        ),
    )
    def send(event: str, data: Any) -> None:
        if event != "user_uttered":
            client.emit(event, data)
            return
        ack = client.call(event, data, timeout=30)
        assert isinstance(ack, dict) and "ok" in ack, ack
        acks["ok" if ack["ok"] else ack.get("error", "?")] += 1

    send()
    client.disconnect()
    print(f"Socket.IO fuzz: acknowledgements {dict(acks)}, turns done {len(done)}")
    assert sum(acks.values()) > 0
    assert requests.get(f"{fuzz_servers.rasa_url}/webhooks/socketio/", timeout=5).ok
    logs = fuzz_servers.logs()
    assert "Traceback" not in logs, logs[logs.find("Traceback") - 500 :][:3000]
    assert "answering failed" not in logs


def test_a_retried_message_id_is_answered_once(fuzz_servers: Servers) -> None:
    sender = f"retry-{uuid.uuid4().hex[:8]}"
    # An anonymous conversation starts with a session id the server issues (docs/security.md);
    # retries are recognised within it, so the test opens one first.
    assert fuzz_servers.post("hello", sender).status_code == 200
    first = fuzz_servers.post("how often are my check ups", sender, message_id="m-1")
    again = fuzz_servers.post("how often are my check ups", sender, message_id="m-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again.headers.get("X-Repeat") == "1"
    other = fuzz_servers.post("how often are my check ups", sender, message_id="m-2")
    assert other.status_code == 200 and other.headers.get("X-Repeat") is None
    from bot.identity.tokens import conversation_id

    settings_ = Settings(jwt_secret=fuzz_servers.env["JWT_SECRET"])
    session = fuzz_servers.sessions[sender]
    assert fuzz_servers.user_turns(conversation_id(None, session, settings=settings_)) == 3


def test_a_bad_message_id_gets_a_clean_400(fuzz_servers: Servers) -> None:
    for bad in (5, "", "x" * 65, ["a"], {"a": 1}):
        reply = fuzz_servers.post("hello", "bad-id", message_id=bad)
        assert reply.status_code == 400 and "message_id" in reply.json()["error"]


def test_an_oversized_socketio_packet_closes_only_that_socket(fuzz_servers: Servers) -> None:
    origin = Settings().origins[0]
    client = socketio.Client(reconnection=False)
    client.connect(fuzz_servers.rasa_url, headers={"Origin": origin}, transports=["polling"])
    try:
        client.call("user_uttered", {"message": "a" * 100_000}, timeout=10)
    except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
        pass  # refused: engine.io drops a packet over 64 kB with its connection
    finally:
        client.disconnect()
    again = socketio.Client(reconnection=False)
    again.connect(fuzz_servers.rasa_url, headers={"Origin": origin}, transports=["polling"])
    again.disconnect()
    assert requests.get(f"{fuzz_servers.rasa_url}/webhooks/socketio/", timeout=5).ok


def test_a_lone_surrogate_gets_a_kind_answer_not_a_500(fuzz_servers: Servers) -> None:
    reply = requests.post(
        f"{fuzz_servers.rasa_url}/webhooks/rest/webhook",
        data=b'{"sender": "surrogate", "message": "\\ud800 hello"}',
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert reply.status_code < 500


def test_a_lone_surrogate_message_id_is_refused_cleanly(fuzz_servers: Servers) -> None:
    reply = requests.post(
        f"{fuzz_servers.rasa_url}/webhooks/rest/webhook",
        data=b'{"sender": "surrogate-id", "message": "hello", "message_id": "\\udc80"}',
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert reply.status_code == 400
