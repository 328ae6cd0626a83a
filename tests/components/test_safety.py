import logging

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.care.safety import Screening
from bot.care.triage import Triage
from components.safety import SafetyScreen, apply_triage


def message(text: str, ranking: list[tuple[str, float]]) -> Message:
    msg = Message({TEXT: text})
    ranked = [{"name": n, "confidence": c} for n, c in ranking]
    msg.set(INTENT, ranked[0], add_to_output=True)
    msg.set(INTENT_RANKING_KEY, ranked, add_to_output=True)
    return msg


URGENT = Screening(category="urgent", signals=("fever",))


@pytest.mark.parametrize(
    ("triage", "intent", "tier"),
    [
        (Triage("act_now", "fever", "rules"), "urgent_symptom", "act_now"),
        (Triage("team_soon", "bone_pain", "net"), "urgent_symptom", "team_soon"),
        (Triage("crisis", "hopeless", "net"), "crisis", "crisis"),
        (Triage(None, "fever", "set_aside"), "symptom_info", None),
    ],
)
def test_triage_overrules_the_classifier(triage, intent, tier) -> None:
    msg = message("...", [("ask_coping", 0.9), ("ask_helpline", 0.1)])
    apply_triage(msg, URGENT, triage)
    assert msg.get(INTENT)["name"] == intent
    assert msg.get(INTENT_RANKING_KEY)[0]["name"] == intent
    assert [r["name"] for r in msg.get(INTENT_RANKING_KEY)].count(intent) == 1
    assert msg.get("safety")["tier"] == tier
    assert msg.get("safety")["classifier_intent"] == "ask_coping"


def test_nothing_found_leaves_the_classifier_alone() -> None:
    msg = message("when is clinic", [("ask_next_appointment", 0.9)])
    apply_triage(msg, Screening(category=None), Triage(None))
    assert msg.get(INTENT)["name"] == "ask_next_appointment"


def test_a_stray_safety_guess_is_replaced_by_the_next_best() -> None:
    msg = message("...", [("urgent_symptom", 0.6), ("ask_coping", 0.4)])
    apply_triage(msg, Screening(category=None), Triage(None))
    assert msg.get(INTENT)["name"] == "ask_coping"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("my daughter is burning up and shivering", "urgent_symptom"),
        ("what's the point of any of this any more", "crisis"),
        ("when is my next appointment", "ask_coping"),
    ],
)
def test_component_screens_real_text_and_logs_no_text(
    caplog: pytest.LogCaptureFixture, text: str, intent: str
) -> None:
    component = SafetyScreen({"semantic_net": True})
    msg = message(text, [("ask_coping", 0.7)])
    with caplog.at_level(logging.DEBUG):
        component.process([msg])
    assert msg.get(INTENT)["name"] == intent
    for word in ("daughter", "burning", "point", "appointment"):
        assert word not in caplog.text


def test_the_whole_long_message_is_screened() -> None:
    # A red flag after 2,000 characters of chat is still seen (nothing trims before the screen).
    text = "I wanted to ask about parking and the cafe. " * 60 + "Also my nose won't stop bleeding."
    assert len(text) > 2000
    msg = message(text, [("ask_face_to_face", 0.7)])
    SafetyScreen({"semantic_net": True}).process([msg])
    assert msg.get(INTENT)["name"] == "urgent_symptom"
