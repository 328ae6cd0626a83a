"""The trained model understands patients: held-out targets and the conversation-test texts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from scripts.evaluate import TARGETS, evaluate

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "current.tar.gz"


@pytest.fixture(scope="module")
def agent():
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make train` first")
    from rasa.core.agent import Agent

    return Agent.load(str(MODEL))


def story_steps() -> list[tuple[str, str]]:
    stories = yaml.safe_load((ROOT / "tests" / "test_stories.yml").read_text())["stories"]
    return [
        (step["user"].strip(), step["intent"])
        for story in stories
        for step in story["steps"]
        if "user" in step
    ]


@pytest.mark.parametrize(("text", "intent"), story_steps())
def test_conversation_test_texts_get_their_intent(agent, text: str, intent: str) -> None:
    parsed = asyncio.run(agent.parse_message(text))
    assert parsed["intent"]["name"] == intent


def test_held_out_targets_are_met() -> None:
    """The older held-out set (written beside the training data) as a regression floor.

    The acceptance figures are the blind sets' (`make evaluate-blind`). Here the floors are
    the figures measured on 2026-12-02. Since the safety tiers (issue 11), a how-to question
    ("what temperature counts as a fever?") gets information that says what to do if it
    happens, not the alarm, so three of that table's "urgent" rows now get `symptom_info` by
    design; two more ("think its petechiae", "is 37.8 a fever?") are real misses, recorded in
    docs/clinical-safety.md. The in-scope floor went from 0.96 to 0.95 in the second session
    (96.8% -> 95.3%): the safety net's crisis anchors from a third writer send a few ordinary
    questions to the crisis answer; a crisis threshold that avoided them missed quiet
    hopelessness ("what is even the point of carrying on"), which was judged worse.
    """
    report = asyncio.run(evaluate(MODEL))
    ratios = report.ratios()
    assert ratios["in_scope_accuracy"] >= 0.95, report.misses
    assert ratios["unrelated_rejection"] >= 0.97, report.misses
    assert ratios["urgent_sensitivity"] >= 0.96, report.misses
    assert ratios["crisis_sensitivity"] == 1.0, report.misses
    assert ratios["in_scope_false_alarm_rate"] <= TARGETS["in_scope_false_alarm_rate_max"]
    assert report.lookalike_false_alarms == 0, report.misses
