import logging

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.care.safety import Screening
from components.safety import SafetyScreen, apply_screening


def message(text: str, ranking: list[tuple[str, float]]) -> Message:
    msg = Message({TEXT: text})
    ranked = [{"name": n, "confidence": c} for n, c in ranking]
    msg.set(INTENT, ranked[0], add_to_output=True)
    msg.set(INTENT_RANKING_KEY, ranked, add_to_output=True)
    return msg


def test_screen_flag_overrules_the_classifier() -> None:
    msg = message("temp 38.5, what happens at clinic", [("ask_face_to_face", 0.9)])
    apply_screening(msg, Screening("urgent", ("temperature_reading",)), 0.8, 0.35)
    assert msg.get(INTENT) == {"name": "urgent_symptom", "confidence": 1.0}
    assert msg.get("safety")["classifier_intent"] == "ask_face_to_face"


def test_crisis_category_maps_to_crisis_intent() -> None:
    msg = message("...", [("ask_coping", 0.9)])
    apply_screening(msg, Screening("crisis", ("suicidal",)), 0.8, 0.35)
    assert msg.get(INTENT)["name"] == "crisis"


def test_discounted_words_demote_a_classifier_red_flag() -> None:
    msg = message(
        "no fever, when is clinic", [("urgent_symptom", 0.95), ("ask_face_to_face", 0.04)]
    )
    apply_screening(msg, Screening(None, (), discounted=("fever",)), 0.8, 0.35)
    assert msg.get(INTENT)["name"] == "ask_face_to_face"
    assert all(r["name"] != "urgent_symptom" for r in msg.get(INTENT_RANKING_KEY))


def test_unsure_classifier_red_flag_is_demoted_and_renormalised() -> None:
    msg = message("hmm", [("urgent_symptom", 0.5), ("greet", 0.3), ("thank", 0.2)])
    apply_screening(msg, Screening(None), 0.8, 0.35)
    assert msg.get(INTENT) == {"name": "greet", "confidence": 0.6}


def test_demoted_guess_with_unsure_rest_becomes_fallback() -> None:
    msg = message(
        "hmm",
        [("urgent_symptom", 0.6), ("greet", 0.1), ("thank", 0.1), ("affirm", 0.1), ("deny", 0.1)],
    )
    apply_screening(msg, Screening(None), 0.8, 0.35)
    assert msg.get(INTENT)["name"] == "nlu_fallback"


def test_forced_intent_is_not_duplicated_in_the_ranking() -> None:
    msg = message("temp 39", [("urgent_symptom", 0.97), ("greet", 0.01)])
    apply_screening(msg, Screening("urgent", ("temperature_reading",)), 0.8, 0.35)
    names = [r["name"] for r in msg.get(INTENT_RANKING_KEY)]
    assert names.count("urgent_symptom") == 1


def test_confident_classifier_red_flag_stands_as_second_net() -> None:
    msg = message("unlisted symptom words", [("urgent_symptom", 0.9), ("greet", 0.05)])
    assert apply_screening(msg, Screening(None), 0.8, 0.35) == "classifier"
    assert msg.get(INTENT)["name"] == "urgent_symptom"


def test_only_safety_intents_left_means_fallback() -> None:
    msg = message("x", [("crisis", 0.5)])
    apply_screening(msg, Screening(None), 0.8, 0.35)
    assert msg.get(INTENT)["name"] == "nlu_fallback"


def test_component_screens_real_text_and_logs_no_text(caplog: pytest.LogCaptureFixture) -> None:
    component = SafetyScreen({"classifier_min_confidence": 0.8, "fallback_threshold": 0.35})
    msg = message("my daughter is burning up and shivering", [("ask_coping", 0.7)])
    with caplog.at_level(logging.DEBUG):
        component.process([msg])
    assert msg.get(INTENT)["name"] == "urgent_symptom"
    assert msg.get("safety")["about_someone_else"] is True
    assert "burning" not in caplog.text and "daughter" not in caplog.text
