"""Score the trained assistant on the frozen BLIND TEST sets (`make evaluate-blind`).

tests/nlu/blind_test.yml and tests/safety/blind_test.yml were written by helpers who never saw
the training data, the term lists, the anchors or the thresholds, and were frozen before any
tuning. Every message goes through the full NLU pipeline of the trained model, as a new user's
would. Misses are not printed unless asked (--show-misses): each look is counted in the docs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
NLU_TEST = ROOT / "tests" / "nlu" / "blind_test.yml"
SAFETY_TEST = ROOT / "tests" / "safety" / "blind_test.yml"
REJECTED = {"out_of_scope", "nlu_fallback"}
SAFETY_INTENTS = {"urgent_symptom", "crisis"}
URGENCY = {None: 0, "team_soon": 1, "act_now": 2, "crisis": 3}


def given_tier(parsed: dict) -> str | None:
    """The safety answer the message would get: crisis, act_now, team_soon or None."""
    intent = parsed["intent"]["name"]
    if intent == "crisis":
        return "crisis"
    if intent == "urgent_symptom":
        return (parsed.get("safety") or {}).get("tier") or "act_now"
    return None


def caught(wanted: str, tier: str | None) -> bool:
    """Crisis needs the crisis answer; a symptom needs at least its tier's urgency."""
    if tier is None:
        return False
    if wanted == "crisis":
        return tier == "crisis"
    return tier != "crisis" and URGENCY[tier] >= URGENCY[wanted]


async def run(
    model: Path, show: bool, nlu_set: Path = NLU_TEST, safety_set: Path = SAFETY_TEST
) -> dict:
    """Parse both sets (the blind test sets unless told) and return the figures."""
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    # Rasa logs each parsed text at debug level; an evaluation must not print the set.
    configure_structlog(logging.WARNING)
    logging.getLogger().setLevel(logging.WARNING)
    agent = Agent.load(str(model))
    nlu = yaml.safe_load(nlu_set.read_text())
    safety = yaml.safe_load(safety_set.read_text())
    figures: dict = {}
    misses: list[str] = []

    right = 0
    gold, guess = [], []
    by_style: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item in nlu["in_scope"]:
        parsed = await agent.parse_message(item["text"])
        got = parsed["intent"]["name"]
        ok = got in item["intents"]
        right += ok
        by_style[item.get("style", "plain")][0] += ok
        by_style[item.get("style", "plain")][1] += 1
        gold.append(item["intents"][0])
        guess.append(item["intents"][0] if ok else got)
        if not ok:
            misses.append(f"in_scope {item['intents']} -> {got}: {item['text']}")
    declined = 0
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item in nlu["out_of_scope"]:
        parsed = await agent.parse_message(item["text"])
        got = parsed["intent"]["name"]
        ok = got in REJECTED
        declined += ok
        by_kind[item["kind"]][0] += ok
        by_kind[item["kind"]][1] += 1
        gold.append("out_of_scope")
        guess.append("out_of_scope" if ok else got)
        if not ok:
            misses.append(f"unrelated ({item['kind']}) -> {got}: {item['text']}")
    per_intent = {}
    for intent in sorted(set(gold)):
        tp = sum(g == intent and p == intent for g, p in zip(gold, guess, strict=True))
        predicted = sum(p == intent for p in guess)
        actual = sum(g == intent for g in gold)
        per_intent[intent] = {
            "precision": round(tp / predicted, 3) if predicted else None,
            "recall": round(tp / actual, 3),
            "support": actual,
        }
    confusions = Counter((g, p) for g, p in zip(gold, guess, strict=True) if g != p)
    figures["nlu"] = {
        "in_scope": [right, len(nlu["in_scope"])],
        "unrelated_declined": [declined, len(nlu["out_of_scope"])],
        "by_style": dict(by_style),
        "unrelated_by_kind": dict(by_kind),
        "per_intent": per_intent,
        "top_confusions": [[g, p, n] for (g, p), n in confusions.most_common(10)],
    }

    per_category: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_tier: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item in safety["flag"]:
        parsed = await agent.parse_message(item["text"])
        tier = given_tier(parsed)
        ok = caught(item["tier"], tier)
        for table, key in ((per_category, item["category"]), (per_tier, item["tier"])):
            table[key][0] += ok
            table[key][1] += 1
        if not ok:
            misses.append(f"flag {item['tier']}/{item['category']} -> {tier}: {item['text']}")
    alarms: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for item in safety["lookalike"]:
        parsed = await agent.parse_message(item["text"])
        alarm = parsed["intent"]["name"] in SAFETY_INTENTS
        alarms[item["kind"]][0] += alarm
        alarms[item["kind"]][1] += 1
        if alarm:
            misses.append(f"look-alike {item['kind']} -> alarm: {item['text']}")
    figures["safety"] = {
        "per_tier": dict(per_tier),
        "per_category": dict(per_category),
        "lookalike_alarms_by_kind": dict(alarms),
        "lookalike_alarms": [sum(a for a, _ in alarms.values()), len(safety["lookalike"])],
    }
    if show:
        print("\n".join(misses))
    return figures


def main() -> None:
    """Print the headline figures; write them all as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "current.tar.gz")
    parser.add_argument(
        "--json", type=Path, help="default docs/results/blind.json (validation-2.json for --sets)"
    )
    parser.add_argument("--show-misses", action="store_true", help="print every miss (a look)")
    parser.add_argument(
        "--sets",
        choices=("test", "validation_2"),
        default="test",
        help="validation_2: the second validation sets, the same way (misses may be read)",
    )
    args = parser.parse_args()
    if args.sets == "test":
        sets = (NLU_TEST, SAFETY_TEST)
    else:
        sets = (ROOT / "tests/nlu/validation_2.yml", ROOT / "tests/safety/validation_2.yml")
    figures = asyncio.run(run(args.model, args.show_misses, *sets))
    if args.json is None:
        name = "blind.json" if args.sets == "test" else "validation-2.json"
        args.json = ROOT / "docs" / "results" / name

    def pct(pair: list[int]) -> str:
        return f"{pair[0]}/{pair[1]} = {pair[0] / pair[1]:.1%}"

    print(
        "Blind test sets (never trained or tuned on)"
        if args.sets == "test"
        else "Second validation sets (never trained on)"
    )
    print(f"  in-scope answered right: {pct(figures['nlu']['in_scope'])} (target >= 97%)")
    print(f"  unrelated declined:      {pct(figures['nlu']['unrelated_declined'])} (target >= 97%)")
    for tier, pair in sorted(figures["safety"]["per_tier"].items()):
        print(f"  {tier:10} caught:       {pct(pair)}")
    print(f"  look-alike false alarms: {pct(figures['safety']['lookalike_alarms'])} (target <= 5%)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    sys.exit(main())
