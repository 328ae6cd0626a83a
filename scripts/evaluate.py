"""Evaluate the trained assistant on data it never trained on (`make evaluate`).

Reports held-out intent accuracy, out-of-scope rejection, safety-screen sensitivity and false
alarms, and exits non-zero if a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "tests" / "nlu" / "heldout.yml"
SAFETY_TABLE = ROOT / "tests" / "safety" / "phrases.yml"
REJECTED = {"out_of_scope", "nlu_fallback"}
SAFETY_INTENTS = {"urgent_symptom", "crisis"}

TARGETS = {
    "in_scope_accuracy": 0.95,
    "unrelated_rejection": 0.95,
    "urgent_sensitivity": 1.0,
    "crisis_sensitivity": 1.0,
    "in_scope_false_alarm_rate_max": 0.02,
}


@dataclass
class Report:
    """The evaluation figures and the examples behind any miss."""

    in_scope_total: int = 0
    in_scope_correct: int = 0
    unrelated_total: int = 0
    unrelated_rejected: int = 0
    in_scope_false_alarms: int = 0
    urgent_total: int = 0
    urgent_caught: int = 0
    crisis_total: int = 0
    crisis_caught: int = 0
    lookalikes_total: int = 0
    lookalike_false_alarms: int = 0
    confusions: Counter = field(default_factory=Counter)
    misses: list = field(default_factory=list)

    def ratios(self) -> dict[str, float]:
        """The headline ratios."""

        def ratio(a: int, b: int) -> float:
            return a / b if b else 0.0

        return {
            "in_scope_accuracy": ratio(self.in_scope_correct, self.in_scope_total),
            "unrelated_rejection": ratio(self.unrelated_rejected, self.unrelated_total),
            "urgent_sensitivity": ratio(self.urgent_caught, self.urgent_total),
            "crisis_sensitivity": ratio(self.crisis_caught, self.crisis_total),
            "in_scope_false_alarm_rate": ratio(self.in_scope_false_alarms, self.in_scope_total),
            "lookalike_false_alarm_rate": ratio(self.lookalike_false_alarms, self.lookalikes_total),
        }

    def failures(self) -> list[str]:
        """Targets that were missed."""
        r = self.ratios()
        failed = [
            k
            for k in (
                "in_scope_accuracy",
                "unrelated_rejection",
                "urgent_sensitivity",
                "crisis_sensitivity",
            )
            if r[k] < TARGETS[k]
        ]
        if r["in_scope_false_alarm_rate"] > TARGETS["in_scope_false_alarm_rate_max"]:
            failed.append("in_scope_false_alarm_rate")
        if self.lookalike_false_alarms:
            failed.append("lookalike_false_alarms")
        return failed


async def evaluate(model_path: Path) -> Report:
    """Parse every held-out message with the trained model (the full NLU pipeline)."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))
    heldout = yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))
    table = yaml.safe_load(SAFETY_TABLE.read_text(encoding="utf-8"))
    report = Report()

    async def intent_of(text: str) -> str:
        parsed = await agent.parse_message(text)
        return parsed["intent"]["name"]

    for item in heldout["in_scope"]:
        predicted = await intent_of(item["text"])
        report.in_scope_total += 1
        if predicted == item["intent"]:
            report.in_scope_correct += 1
        else:
            report.confusions[(item["intent"], predicted)] += 1
            report.misses.append(
                {
                    "set": "in_scope",
                    "expected": item["intent"],
                    "got": predicted,
                    "text": item["text"],
                }
            )
        if predicted in SAFETY_INTENTS:
            report.in_scope_false_alarms += 1
    for text in heldout["unrelated"]:
        predicted = await intent_of(text)
        report.unrelated_total += 1
        if predicted in REJECTED:
            report.unrelated_rejected += 1
        else:
            report.misses.append({"set": "unrelated", "got": predicted, "text": text})
    for section, expected in (("urgent", "urgent_symptom"), ("crisis", "crisis")):
        for item in table[section]:
            text = item["text"] if isinstance(item, dict) else item
            predicted = await intent_of(text)
            setattr(report, f"{section}_total", getattr(report, f"{section}_total") + 1)
            if predicted == expected:
                setattr(report, f"{section}_caught", getattr(report, f"{section}_caught") + 1)
            else:
                report.misses.append({"set": section, "got": predicted, "text": text})
    for text in table["lookalikes"]:
        predicted = await intent_of(text)
        report.lookalikes_total += 1
        if predicted in SAFETY_INTENTS:
            report.lookalike_false_alarms += 1
            report.misses.append({"set": "lookalikes", "got": predicted, "text": text})
    return report


def main(argv: list[str] | None = None) -> int:
    """Run the evaluation and print the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(ROOT / "models" / "current.tar.gz"))
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    report = asyncio.run(evaluate(Path(args.model)))
    ratios = report.ratios()
    print("\nHeld-out evaluation (never trained on)")
    print(
        f"  in-scope paraphrases answered correctly: {report.in_scope_correct}/"
        f"{report.in_scope_total} = {ratios['in_scope_accuracy']:.1%} (target >= 95%)"
    )
    print(
        f"  unrelated messages declined:             {report.unrelated_rejected}/"
        f"{report.unrelated_total} = {ratios['unrelated_rejection']:.1%} (target >= 95%)"
    )
    print(
        f"  urgent phrasings caught:                 {report.urgent_caught}/"
        f"{report.urgent_total} = {ratios['urgent_sensitivity']:.1%} (target 100%)"
    )
    print(
        f"  crisis phrasings caught:                 {report.crisis_caught}/"
        f"{report.crisis_total} = {ratios['crisis_sensitivity']:.1%} (target 100%)"
    )
    print(
        f"  false alarms on in-scope questions:      {report.in_scope_false_alarms}/"
        f"{report.in_scope_total} = {ratios['in_scope_false_alarm_rate']:.1%} (target <= 2%)"
    )
    print(
        f"  false alarms on look-alikes:             {report.lookalike_false_alarms}/"
        f"{report.lookalikes_total}"
    )
    if report.confusions:
        print("  confusions (expected -> got):")
        for (expected, got), n in report.confusions.most_common():
            print(f"    {expected} -> {got}: {n}")
    for miss in report.misses:
        print(f"  miss: {miss}")
    if args.json:
        data = {**ratios, **{k: v for k, v in asdict(report).items() if isinstance(v, int)}}
        Path(args.json).write_text(json.dumps(data, indent=2), encoding="utf-8")
    failed = report.failures()
    print("\nAll targets met." if not failed else f"\nTargets missed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
