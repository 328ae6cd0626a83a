"""Choose the safety net's thresholds on the VALIDATION sets (`make tune-safety`).

Reads tests/safety/validation.yml (flags and look-alikes) and, as ordinary messages that must
not alarm, tests/nlu/validation.yml. Never reads the test sets. For each setting it combines
the net with the rules exactly as the screen does, and prints recall per tier and false
alarms; the chosen thresholds are then written by hand into content/safety_anchors.yml.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.care.safety import get_screener  # noqa: E402
from bot.care.safety_net import TIERS, get_net, is_short  # noqa: E402

SAFETY_VALIDATION = ROOT / "tests" / "safety" / "validation.yml"
NLU_VALIDATION = ROOT / "tests" / "nlu" / "validation.yml"
# A flag is caught when the answer is at least as urgent as the tier asks for.
URGENCY = {"team_soon": 1, "act_now": 2, "crisis": 3}


def caught(wanted: str, given: str | None) -> bool:
    """Crisis needs the crisis answer; a symptom needs at least its tier's urgency."""
    if given is None:
        return False
    if wanted == "crisis":
        return given == "crisis"
    return given != "crisis" and URGENCY[given] >= URGENCY[wanted]


def main() -> None:
    """Grid the thresholds and print the best settings under the false-alarm ceilings."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-lookalike-alarms", type=float, default=0.05)
    parser.add_argument("--max-ordinary-alarms", type=float, default=0.02)
    parser.add_argument(
        "--current",
        action="store_true",
        help="score only the thresholds in content/safety_anchors.yml; list validation misses",
    )
    parser.add_argument(
        "--set",
        choices=("1", "2", "3", "4", "5", "6", "7", "8"),
        default="1",
        help="which validation sets (2: validation_2.yml; 3 to 7: safety sets with no NLU "
        "twin, scored with the second NLU set as ordinary messages; 8: with the third)",
    )
    args = parser.parse_args()
    suffix = "" if args.set == "1" else f"_{args.set}"
    safety_validation = SAFETY_VALIDATION.with_name(f"validation{suffix}.yml")
    nlu_suffix = {"1": "", "2": "_2", "8": "_3"}.get(args.set, "_2")
    nlu_validation = NLU_VALIDATION.with_name(f"validation{nlu_suffix}.yml")

    from bot.care import triage  # the same decision the screen makes

    data = yaml.safe_load(safety_validation.read_text())
    nlu = yaml.safe_load(nlu_validation.read_text())
    flags = [(e["text"], e["tier"]) for e in data["flag"]]
    lookalikes = [e["text"] for e in data["lookalike"]]
    ordinary = [e["text"] for e in nlu["in_scope"] + nlu["out_of_scope"]]
    screener, net = get_screener(), get_net()

    def prepare(texts):
        out = []
        for text in texts:
            screening = screener.screen(text)
            best, negative, ordinary = net.scores(text)
            out.append((screening, best, negative, ordinary, is_short(text)))
        return out

    flag_rows = prepare([t for t, _ in flags])
    look_rows, ordinary_rows = prepare(lookalikes), prepare(ordinary)
    print(
        f"validation: {len(flags)} flags, {len(lookalikes)} look-alikes, {len(ordinary)} ordinary"
    )

    def decide(row, thresholds, margin, suppress, framed):
        return decide_row(net, row, thresholds, margin, suppress, framed)

    if args.current:
        report_current(net, flags, data["lookalike"], ordinary, flag_rows, look_rows, ordinary_rows)
        return

    results = []
    grid = (0.45, 0.5, 0.55, 0.6)
    combos = itertools.product(
        grid, grid, grid, (0.0, 0.05, 0.1), (0.1, 0.15, 0.2), (-9.0, 0.0, 0.03, 0.06, 0.1)
    )
    for act, soon, crisis, margin, suppress, framed in combos:
        setting = (act, soon, crisis, margin, suppress, framed)
        thresholds = dict(zip(TIERS, (act, soon, crisis), strict=True))
        per_tier = {t: [0, 0] for t in TIERS}
        for (_, tier), row in zip(flags, flag_rows, strict=True):
            per_tier[tier][1] += 1
            per_tier[tier][0] += caught(tier, decide(row, thresholds, margin, suppress, framed))
        look = sum(
            decide(r, thresholds, margin, suppress, framed) is not None for r in look_rows
        ) / len(look_rows)
        plain = sum(
            decide(r, thresholds, margin, suppress, framed) is not None for r in ordinary_rows
        )
        plain /= len(ordinary_rows)
        if look > args.max_lookalike_alarms or plain > args.max_ordinary_alarms:
            continue
        recall = {t: c / n for t, (c, n) in per_tier.items()}
        results.append(
            (
                min(recall.values()),
                sum(recall.values()),
                recall,
                look,
                plain,
                setting,
            )
        )
    results.sort(key=lambda r: (r[0], r[1]), reverse=True)
    rules_only = {t: [0, 0] for t in TIERS}
    for (_, tier), row in zip(flags, flag_rows, strict=True):
        rules_only[tier][1] += 1
        rules_only[tier][0] += caught(tier, triage.rules_tier(row[0]))

    def alarms(rows) -> float:
        return sum(triage.rules_tier(r[0]) is not None for r in rows) / len(rows)

    print(
        "rules alone:",
        {t: round(c / n, 3) for t, (c, n) in rules_only.items()},
        f"look-alike alarms {alarms(look_rows):.3f}, ordinary alarms {alarms(ordinary_rows):.3f}",
    )
    for worst, _, recall, look, plain, setting in results[:10]:
        print(
            f"act_now/team_soon/crisis/margin/suppress/framed={setting}: worst {worst:.3f} "
            + " ".join(f"{t} {r:.3f}" for t, r in recall.items())
            + f" | look-alike alarms {look:.3f}, ordinary alarms {plain:.3f}"
        )


def decide_row(net, row, thresholds, margin, suppress, framed) -> str | None:
    """The tier the screen gives one prepared message (screening, net scores, shortness)."""
    from bot.care import triage

    screening, best, negative, ordinary, short = row
    judged = net.judge(best, negative, thresholds, margin, ordinary, screening.lasting)
    return triage.decide(screening, judged, suppress, short, framed).tier


def report_current(net, flags, lookalikes, ordinary, flag_rows, look_rows, ordinary_rows) -> None:
    """Recall per tier and alarms per look-alike kind at the thresholds in use (validation only)."""

    def tier(row):
        return decide_row(net, row, net.thresholds, net.margin, net.suppress, net.framed)

    per_tier: dict[str, list[int]] = {t: [0, 0] for t in TIERS}
    for (text, wanted), row in zip(flags, flag_rows, strict=True):
        given = tier(row)
        per_tier[wanted][1] += 1
        if caught(wanted, given):
            per_tier[wanted][0] += 1
        else:
            print(f"  missed {wanted}: {text!r} -> {given}")
    kinds: dict[str, list[int]] = {}
    for entry, row in zip(lookalikes, look_rows, strict=True):
        given = tier(row)
        counts = kinds.setdefault(entry.get("kind", "?"), [0, 0])
        counts[1] += 1
        if given is not None:
            counts[0] += 1
            print(f"  look-alike alarm ({entry.get('kind')}): {entry['text']!r} -> {given}")
    plain = 0
    for text, row in zip(ordinary, ordinary_rows, strict=True):
        given = tier(row)
        if given is not None:
            plain += 1
            print(f"  ordinary alarm: {text!r} -> {given}")
    for name, (c, n) in per_tier.items():
        print(f"{name}: {c}/{n} = {c / max(n, 1):.3f}")
    alarms = sum(c for c, _ in kinds.values())
    print(f"look-alike alarms: {alarms}/{len(look_rows)} = {alarms / len(look_rows):.3f}")
    print("  by kind: " + ", ".join(f"{k} {c}/{n}" for k, (c, n) in sorted(kinds.items())))
    print(f"ordinary alarms: {plain}/{len(ordinary_rows)} = {plain / len(ordinary_rows):.3f}")


if __name__ == "__main__":
    main()
