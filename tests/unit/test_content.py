import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from bot.care.content import ANSWERS_FILE, load_library, parse_library

SOURCE = Path(__file__).resolve().parents[3] / "shared" / "source" / "follow-up-for-all.txt"


def test_every_answer_names_the_reviewed_source() -> None:
    library = load_library()
    assert len(library.answers) >= 11
    for answer in library.answers.values():
        assert answer.source.publisher == "Cancer Research UK"
        assert answer.source.last_reviewed == date(2025, 1, 17)
        assert answer.source.next_review == date(2028, 1, 17)
        assert answer.section


def test_review_note_appears_only_after_next_review_date() -> None:
    library = load_library()
    answer = library.get("how_often")
    assert library.review_note(answer, date(2028, 1, 17)) is None
    note = library.review_note(answer, date(2028, 1, 18))
    assert note and "17 January 2028" in note


def test_unknown_source_is_refused() -> None:
    raw = yaml.safe_load(ANSWERS_FILE.read_text())
    raw["answers"]["how_often"]["source"] = "nowhere"
    with pytest.raises(ValueError, match="unknown source"):
        parse_library(raw)


@pytest.mark.parametrize(
    ("topic", "facts"),
    [
        (
            "how_often",
            [
                "3 months",
                "first 2 years",
                "4 months",
                "6 months",
                "5 years",
                "late effects",
                "maintenance",
                "example",
                "before you leave hospital",
            ],
        ),
        (
            "face_to_face",
            [
                "temperature",
                "blood pressure",
                "breathing rate",
                "weight",
                "blood test",
                "bone marrow",
            ],
        ),
        (
            "remote_prepare",
            [
                "roughly",
                "right number",
                "invite",
                "face to face",
                "questions",
                "quiet",
                "listen in",
            ],
        ),
        ("remote_feelings", ["relieved", "less personal", "face-to-face"]),
        (
            "during_appointment",
            [
                "getting on",
                "blood test results",
                "examine",
                "side effects",
                "write",
                "symptoms to watch",
                "who to contact",
            ],
        ),
        ("coping", ["anxious", "someone close", "counselling", "reassuring", "Cancer Chat"]),
        ("why_follow_up", ["how you are", "worry", "concerned"]),
        ("who_see", ["doctor", "specialist nurse"]),
        ("appointment_types", ["face to face", "video", "telephone", "team will tell you"]),
        ("no_appointment_heard", ["specialist nurse"]),
        ("helpline", ["0808 800 40 40", "9am to 5pm", "Monday to Friday", "email"]),
    ],
)
def test_answers_carry_the_source_facts(topic: str, facts: list[str]) -> None:
    text = load_library().get(topic).text
    for fact in facts:
        assert fact.lower() in text.lower(), f"{topic} lacks {fact!r}"


@pytest.mark.skipif(not SOURCE.exists(), reason="the shared source text is not beside the repo")
def test_no_sentence_is_pasted_from_the_source() -> None:
    """Answers are in our own words: no run of 8 words is copied from the source."""

    def words(text: str) -> list[str]:
        return re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))

    source_words = words(SOURCE.read_text(encoding="utf-8"))
    source_runs = {tuple(source_words[i : i + 8]) for i in range(len(source_words) - 7)}
    for answer in load_library().answers.values():
        answer_words = words(answer.text)
        for i in range(len(answer_words) - 7):
            assert tuple(answer_words[i : i + 8]) not in source_runs, (
                f"{answer.topic} copies: {' '.join(answer_words[i : i + 8])}"
            )
