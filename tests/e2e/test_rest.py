"""Talk to the real servers over HTTP, as a patient's client would."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

import jwt
import pytest

from bot.config import Settings
from bot.identity.tokens import issue_token
from tests.e2e.servers import Servers

pytestmark = pytest.mark.e2e


def token_for(servers: Servers, portal_id: str, **overrides: object) -> str:
    settings = Settings(jwt_secret=servers.env["JWT_SECRET"])
    return issue_token(portal_id, settings=settings, **overrides)  # type: ignore[arg-type]


def test_schedule_question_gets_the_schedule(servers: Servers) -> None:
    text = servers.say("how often are my check ups", sender="a")
    assert "every 3 months for the first 2 years" in text
    assert "Source: Cancer Research UK" in text


@pytest.mark.parametrize(
    ("portal_id", "expected"),
    [
        ("demo-telephone", r"telephone appointment on \w+day \d+ \w+ \d{4} at 10:30am"),
        (
            "demo-video",
            r"video appointment on .*https://video\.example-hospital\.nhs\.uk/join/abc123",
        ),
        ("demo-clinic", r"face-to-face appointment on .*Haematology Outpatients, Level 2"),
        ("demo-nothing", r"can't see an upcoming appointment.*Tom Barraclough"),
        ("demo-cancelled", r"can't see an upcoming appointment.*Priya Shah"),
    ],
)
def test_each_demo_patient_gets_their_own_next_appointment(servers, portal_id, expected) -> None:
    text = servers.say(
        "when is my next check up?", sender=f"s-{portal_id}", token=token_for(servers, portal_id)
    )
    assert re.search(expected, text, re.S), text


def test_no_other_request_shape_reveals_an_appointment(servers: Servers) -> None:
    question = "when is my next appointment?"
    good = token_for(servers, "demo-video")
    assert "abc123" in servers.say(question, sender="shared", token=good)
    forged = jwt.encode(
        {
            "sub": "demo-video",
            "aud": "all-followup-assistant",
            "iss": "patient-portal",
            "iat": int(time.time()),
            "exp": int(time.time()) + 600,
        },
        "not-the-secret-but-long-enough-for-hmac-sha256",
        algorithm="HS256",
    )
    expired = token_for(
        servers, "demo-video", now=datetime.now(timezone.utc) - timedelta(hours=3), minutes=5
    )
    header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    claims = jwt.utils.base64url_encode(
        f'{{"sub":"demo-video","aud":"all-followup-assistant","iss":"patient-portal",'
        f'"exp":{int(time.time()) + 600}}}'.encode()
    ).decode()
    alg_none = f"{header}.{claims}."
    other_patient = token_for(servers, "demo-clinic")
    for token in (None, forged, expired, alg_none, "garbage"):
        text = servers.say(question, sender="shared", token=token)
        # The general answer and a sign-in offer, and nothing from the record.
        assert "sign in" in text and "abc123" not in text and "video appointment on" not in text
    # Another patient's token on the same client conversation id sees only their own record.
    text = servers.say(question, sender="shared", token=other_patient)
    assert "Haematology Outpatients" in text and "abc123" not in text
    # Client-sent metadata cannot claim an identity.
    response = servers.post(
        question, sender="shared2", metadata={"verified_patient": "demo-video", "auth": "verified"}
    )
    assert "abc123" not in response.text and "sign in" in response.text


def test_red_flags_get_the_safety_answer_first(servers: Servers) -> None:
    replies = servers.post("temp's 38.2 and I feel shivery, what happens at clinic?").json()
    # Rasa sends each paragraph as its own bubble: the very first one is the safety answer.
    assert "urgent medical attention" in replies[0]["text"] and "24-hour" in replies[0]["text"]
    assert "999" in replies[1]["text"]
    signed_in = servers.say(
        "my daughter is burning up", sender="sf", token=token_for(servers, "demo-clinic")
    )
    assert "0113 496 0000" in signed_in
    crisis = servers.say("I don't want to be here anymore")
    assert "116 123" in crisis


def test_negated_lookalike_gets_its_normal_answer(servers: Servers) -> None:
    text = servers.say("I haven't had any fever, what happens at a face to face appointment?")
    assert "999" not in text
    assert "blood pressure" in text


def test_unrelated_is_declined(servers: Servers) -> None:
    assert "can't help with that" in servers.say("what's the best recipe for lasagne?")


def test_medical_advice_is_declined(servers: Servers) -> None:
    text = servers.say("is it ok for me to stop taking my tablets now?")
    assert "can't give medical advice" in text and "0808 800 40 40" in text


def test_a_symptom_inside_a_medicine_question_gets_the_team_first(servers: Servers) -> None:
    # Clinical choice (docs/clinical-safety.md): a symptom named in passing still gets the
    # "tell your team soon" answer before anything else; it never gets dosing advice.
    text = servers.say("can I take ibuprofen for a headache?")
    assert "hospital team" in text and "999" in text and "can't assess symptoms" in text


@pytest.mark.parametrize(
    "message",
    ["😟😟😟", "<img src=x onerror=alert(1)>", "'; DROP TABLE patients; --", "a" * 5000],
)
def test_odd_input_gets_a_kind_answer(servers: Servers, message: str) -> None:
    response = servers.post(message, sender="odd")
    assert response.status_code == 200
    replies = response.json()
    assert replies and all(r["recipient_id"] == servers.sessions["odd"] for r in replies)
    assert "<img" not in response.text


@pytest.mark.parametrize("message", ["", "   ", None, 42])
def test_empty_or_non_text_gets_a_kind_answer(servers: Servers, message: object) -> None:
    response = servers.post(message, sender="empty")
    assert response.status_code == 200
    assert "What would you like to ask" in response.json()[0]["text"]


def test_bad_json_gets_a_clear_error(servers: Servers) -> None:
    import requests

    response = requests.post(
        f"{servers.rasa_url}/webhooks/rest/webhook",
        data="{not json",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400
    assert "JSON object" in response.json()["error"]


def test_conversation_survives_a_restart_of_nothing_but_still_persists(servers: Servers) -> None:
    """The SQL tracker store keeps the conversation: the second turn sees the first."""
    from sqlalchemy import create_engine, text

    servers.say("hello", sender="persist")
    engine = create_engine(servers.env["DATABASE_URL"])
    with engine.connect() as conn:
        count = conn.execute(text("select count(*) from events")).scalar()
    engine.dispose()
    assert count and count > 0


def test_logs_hold_no_patient_data_or_tokens(servers: Servers) -> None:
    token = token_for(servers, "demo-telephone")
    servers.say(
        "my temperature is 38.9 and my number is 07700 900999", sender="privacy", token=token
    )
    servers.say("when is my next appointment", sender="privacy", token=token)
    logs = servers.logs()
    for secret in (
        token,
        "38.9",
        "07700",
        "Jamie",
        "Fenwick",
        "next appointment",
        "Priya Shah",
        "0113 496",
    ):
        assert secret not in logs, secret


def test_imported_fhir_patient_gets_their_own_appointment(servers: Servers) -> None:
    """The issue's 'done when': import a bundle, make a token, ask over REST."""
    import subprocess

    from tests.e2e.servers import ROOT, VENV_BIN

    subprocess.run(
        [str(VENV_BIN / "bot"), "import-fhir", str(ROOT / "examples/fhir/demo-bundle.json")],
        env=servers.env,
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    text = servers.say(
        "when's my next appointment?", sender="fhir", token=token_for(servers, "PORTAL-1001")
    )
    assert "telephone appointment on Thursday 14 March 2030 at 10:30am" in text
    other = servers.say(
        "when's my next appointment?", sender="fhir", token=token_for(servers, "PORTAL-1002")
    )
    assert "14 March 2030" not in other and "Thursday 14 March" not in other


def test_a_button_payload_counts_only_once_it_was_offered(servers: Servers) -> None:
    # Before any button: the payload is read as typed words, so the symptom in it is screened.
    text = servers.say('/ask_how_often{"x": 1} my temperature is 38.9', sender="slash")
    assert "999" in text and "every 3 months" not in text
    # Offered by the greeting, then tapped: the payload is taken as it is.
    greeting = servers.post("/greet", sender="slash-offer").json()
    offered = [b["payload"] for m in greeting for b in m.get("buttons") or []]
    assert "/ask_how_often" in offered
    assert "every 3 months for the first 2 years" in servers.say("/ask_how_often", "slash-offer")
