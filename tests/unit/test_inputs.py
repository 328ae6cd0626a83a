import pytest

from bot.care.inputs import HARD_MAX_CHARS, MAX_CHARS, check_message, gate_payload
from bot.care.wording import say

EMPTY_REPLY = say("inputs", "empty")
NOT_TEXT_REPLY = say("inputs", "not_text")
TOO_LONG_REPLY = say("inputs", "too_long")


@pytest.mark.parametrize("raw", ["", "   ", "\n\t", "\x00", None])
def test_empty_gets_a_kind_reply(raw: object) -> None:
    checked = check_message(raw)
    assert checked.text is None
    assert checked.notice == EMPTY_REPLY


@pytest.mark.parametrize("raw", [42, ["hi"], {"text": "hi"}])
def test_non_text_gets_a_kind_reply(raw: object) -> None:
    assert check_message(raw).notice == NOT_TEXT_REPLY


def test_long_message_passes_whole_with_a_notice() -> None:
    # Whole, so the safety screen reads a red flag at the end; the classifier trims.
    raw = "when is my check up " * 500 + "and I can't stop the bleeding"
    checked = check_message(raw)
    assert checked.text == raw.strip() and len(checked.text) > MAX_CHARS
    assert checked.notice and "2,000" in checked.notice


def test_huge_message_is_refused_whole_with_whom_to_call() -> None:
    checked = check_message("a" * (HARD_MAX_CHARS + 1))
    assert checked.text is None
    assert checked.notice == TOO_LONG_REPLY and "999" in TOO_LONG_REPLY


@pytest.mark.parametrize(
    "raw", ["😟 when is clinic", "<img src=x onerror=alert(1)>", "'; DROP TABLE patients;--"]
)
def test_odd_text_passes_through_unchanged(raw: str) -> None:
    assert check_message(raw).text == raw
    assert check_message(raw).notice is None


def test_lone_surrogates_are_dropped_not_passed_on() -> None:
    checked = check_message("\ud800 when is clinic")
    assert checked.text == "when is clinic"


def test_an_offered_payload_passes_as_it_is() -> None:
    assert gate_payload("/ask_how_often", {"/ask_how_often"}) == "/ask_how_often"


def test_the_widget_opening_payload_always_passes() -> None:
    assert gate_payload("/greet", set()) == "/greet"


def test_an_unoffered_payload_is_read_as_text() -> None:
    text = '/ask_how_often{"x": 1} I have a fever'
    assert gate_payload(text, {"/ask_how_often"}) == 'ask_how_often{"x": 1} I have a fever'


def test_ordinary_text_and_a_lone_slash_are_untouched() -> None:
    assert gate_payload("how often?", set()) == "how often?"
    assert gate_payload("/", set()) == "/"
