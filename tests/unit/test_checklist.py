import copy
import json
import re
from pathlib import Path

import pytest
import yaml

from bot.care import checklist
from bot.care.checklist import (
    CHECKLIST_FILE,
    ITEMS,
    answer,
    current_item,
    is_finished,
    items_for,
    load_checklist_content,
    new_state,
    parse_checklist_content,
    prompt_for,
    remaining,
    summary,
)

SOURCE = Path(__file__).resolve().parents[3] / "shared" / "source" / "follow-up-for-all.txt"


def test_items_for_each_kind() -> None:
    assert items_for("telephone") == [
        "call_time",
        "number",
        "quiet",
        "support",
        "questions",
        "face_to_face",
    ]
    assert items_for("video") == [
        "call_time",
        "invite",
        "quiet",
        "support",
        "questions",
        "face_to_face",
    ]
    with pytest.raises(ValueError):
        items_for("face_to_face")


def test_new_state_is_serialisable() -> None:
    state = new_state("video", 7)
    assert state == {
        "kind": "video",
        "items": items_for("video"),
        "index": 0,
        "answers": {},
        "appointment_id": 7,
    }
    assert json.loads(json.dumps(state)) == state
    assert new_state("telephone", None)["appointment_id"] is None
    with pytest.raises(ValueError):
        new_state("carrier pigeon", None)


def test_answering_walks_through_the_items_without_mutating() -> None:
    state = new_state("telephone", 3)
    before = copy.deepcopy(state)
    assert current_item(state) == "call_time"
    after = answer(state, "done")
    assert state == before
    assert after is not state and after["answers"] is not state["answers"]
    assert after["items"] is not state["items"]
    assert current_item(after) == "number"
    after = answer(after, "not_yet")
    assert after["answers"] == {"call_time": "done", "number": "not_yet"}
    assert after["appointment_id"] == 3 and after["kind"] == "telephone"
    for _ in range(4):
        assert not is_finished(after)
        after = answer(after, "done")
    assert is_finished(after)
    assert current_item(after) is None
    assert remaining(after) == ["number"]
    with pytest.raises(ValueError, match="finished"):
        answer(after, "done")


def test_answer_refuses_unknown_replies() -> None:
    with pytest.raises(ValueError):
        answer(new_state("video", None), "maybe")


def test_state_survives_a_json_round_trip() -> None:
    # The assistant keeps the state in a slot, so it comes back as decoded JSON.
    state = json.loads(json.dumps(answer(new_state("video", None), "done")))
    assert current_item(state) == "invite"
    assert current_item(answer(state, "done")) == "quiet"


def test_remaining_counts_not_yet_and_unanswered() -> None:
    state = new_state("video", None)
    assert remaining(state) == items_for("video")
    state = answer(answer(answer(state, "done"), "not_yet"), "done")
    assert remaining(state) == ["invite", "support", "questions", "face_to_face"]


def _finish(kind: str, replies: list[str]) -> dict:
    state = new_state(kind, None)
    for reply in replies:
        state = answer(state, reply)
    return state


def test_summary_when_everything_is_done() -> None:
    text = summary(_finish("telephone", ["done"] * 6))
    assert "Still to do" not in text
    assert "\n" not in text and 0 < len(text) < 120


def test_summary_lists_what_is_left_by_label() -> None:
    text = summary(_finish("video", ["done", "not_yet", "done", "not_yet", "done", "done"]))
    content = load_checklist_content()
    assert text.splitlines() == [
        "Still to do:",
        f"• {content['invite']['label']}",
        f"• {content['support']['label']}",
    ]


def test_every_item_has_its_wording() -> None:
    content = load_checklist_content()
    for item in ITEMS:
        entry = content[item]
        for name in ("prompt", "help", "label"):
            assert isinstance(entry[name], str) and entry[name].strip(), f"{item} lacks {name}"
        assert entry["source_section"] == "Telephone or video appointments"
        assert entry["prompt"].strip().endswith("?"), f"{item}'s prompt is not a question"
        assert len(entry["label"]) <= 45
    assert "{masked_number}" in content["number"]["prompt_with_number"]
    assert "{video_link}" in content["invite"]["prompt_with_link"]


def test_prompt_for_fills_in_the_number_and_link() -> None:
    assert prompt_for("number", masked_number="ending 4321") == (
        "The team will call you on your number ending 4321. Is that the right number?"
    )
    assert prompt_for("number") == load_checklist_content()["number"]["prompt"].strip()
    link = "https://video.example.nhs.uk/join/{abc}"
    assert link in prompt_for("invite", video_link=link)
    assert "{" not in prompt_for("invite")
    # Details for other items are ignored.
    assert prompt_for("quiet", masked_number="ending 1", video_link="x") == prompt_for("quiet")
    with pytest.raises(KeyError):
        prompt_for("nope")


def test_help_and_label_helpers() -> None:
    content = load_checklist_content()
    assert checklist.help_for("quiet") == content["quiet"]["help"].strip()
    assert checklist.label_for("support") == content["support"]["label"].strip()


def test_content_validation_catches_gaps() -> None:
    raw = yaml.safe_load(CHECKLIST_FILE.read_text(encoding="utf-8"))
    assert parse_checklist_content(copy.deepcopy(raw)) == raw
    broken = copy.deepcopy(raw)
    del broken["quiet"]["help"]
    with pytest.raises(ValueError, match="quiet"):
        parse_checklist_content(broken)
    broken = copy.deepcopy(raw)
    broken["number"]["prompt_with_number"] = "Is this your number?"
    with pytest.raises(ValueError, match="masked_number"):
        parse_checklist_content(broken)
    with pytest.raises(ValueError):
        parse_checklist_content([])


@pytest.mark.skipif(not SOURCE.exists(), reason="the shared source text is not beside the repo")
def test_no_run_of_eight_words_is_copied_from_the_source() -> None:
    """The checklist is in our own words: no run of 8 words matches the source."""

    def words(text: str) -> list[str]:
        return re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))

    source_words = words(SOURCE.read_text(encoding="utf-8"))
    source_runs = {tuple(source_words[i : i + 8]) for i in range(len(source_words) - 7)}

    def strings(node: object) -> list[str]:
        if isinstance(node, dict):
            return [s for value in node.values() for s in strings(value)]
        return [node] if isinstance(node, str) else []

    texts = strings(load_checklist_content())
    assert len(texts) > 20
    for text in texts:
        text_words = words(text)
        for i in range(len(text_words) - 7):
            assert tuple(text_words[i : i + 8]) not in source_runs, (
                f"copies: {' '.join(text_words[i : i + 8])}"
            )


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("checklist for my phone appointment", "telephone"),
        ("help me get ready for my telephone appt", "telephone"),
        ("get me ready for the video call", "video"),
        ("prep for my zoom on tuesday", "video"),
        ("its a teams call", "video"),
        ("video call on my phone", "video"),
        ("prep for in person appt", "face_to_face"),
        ("checklist for my face-to-face", "face_to_face"),
        ("help me get ready", None),
        ("telephonic", None),
    ],
)
def test_kind_from_text(text, kind):
    assert checklist.kind_from_text(text) == kind
