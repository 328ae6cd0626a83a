"""The getting-ready journey over REST, then what staff see (issue 'done when')."""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e.servers import ROOT, VENV_BIN, Servers
from tests.e2e.test_rest import token_for

pytestmark = pytest.mark.e2e


def bot(servers: Servers, *args: str) -> str:
    result = subprocess.run(
        [str(VENV_BIN / "bot"), *args],
        env=servers.env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def test_checklist_number_questions_and_face_to_face(servers: Servers) -> None:
    token = token_for(servers, "demo-telephone")

    def say(message: str) -> str:
        return servers.say(message, sender="ready", token=token)

    assert "(1 of 6)" in say("can you go through the checklist with me for my call")
    assert "ending 0123" in say("/affirm")
    assert "What number" in say("/update_phone_number")
    reply = say("07700 900999")
    assert "ending 0999" in reply and "(3 of 6)" in reply
    assert "(4 of 6)" in say("/affirm")
    assert "(5 of 6)" in say("/affirm")
    assert "1 on your list" in say("add a question: can I go back to work?")
    assert "2 on your list" in say("remind me to ask about my tiredness")
    assert "(6 of 6)" in say("/affirm")
    reply = say("I'd rather come in instead because I find the phone hard")
    assert "passed on your request" in reply
    assert "Still to do" not in reply  # every item ticked: the summary says all done

    requests = bot(servers, "requests")
    assert "demo-telephone" in requests
    assert "07700 900999" in requests and "I find the phone hard" in requests
    assert requests.count("demo-telephone") == 2

    questions = bot(servers, "export-questions", "demo-telephone")
    assert "1. Can I go back to work?" in questions
    assert "tiredness" in questions
