"""Drop a new writer's texts that copy or nearly copy any evaluation text, before merging.

Every helper-written batch of training phrasings (Rasa NLU file) or safety anchors (a YAML
file of `categories:` and `lookalikes:` lists) goes through this before it is merged: a text
is dropped when, lower-cased and without punctuation, it equals any text of the test,
validation or old held-out sets, or when its sentence vector is within cosine 0.92 of one;
texts already in the training data or the anchors are dropped too. Writes the kept texts in
the input's own shape and prints the counts (never the texts).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EVALUATION_SETS = [
    *sorted((ROOT / "tests" / "nlu").glob("*.yml")),
    *sorted((ROOT / "tests" / "safety").glob("*.yml")),
]
ANCHORS = ROOT / "content" / "safety_anchors.yml"
NEAR_COPY = 0.92
# Keys whose values are labels, not messages.
LABELS = {"version", "intent", "intents", "tier", "kind", "style", "category"}


def normalise(text: str) -> str:
    """Lower case, letters, digits and single spaces only."""
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.lower()).split())


def texts_in(data: object) -> list[str]:
    """Every message text in a loaded YAML file of any of our shapes."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        if isinstance(data.get("text"), str):
            return [data["text"]]
        if isinstance(data.get("examples"), str):
            lines = data["examples"].splitlines()
            return [line.strip()[2:].strip() for line in lines if line.strip().startswith("- ")]
        return [t for key, value in data.items() if key not in LABELS for t in texts_in(value)]
    if isinstance(data, list):
        return [t for value in data for t in texts_in(value)]
    return []


def keep(
    candidates: Sequence[str],
    evaluation: Sequence[str],
    known: Iterable[str],
    encode: Callable[[Sequence[str]], np.ndarray],
    near: float = NEAR_COPY,
) -> tuple[list[bool], int, int]:
    """Which candidates to keep; how many were dropped as evaluation copies and as repeats."""
    exact = {normalise(t) for t in evaluation}
    seen = {normalise(t) for t in known}
    closest = np.full(len(candidates), -1.0)
    if candidates and evaluation:
        a, b = encode(list(candidates)), encode(list(evaluation))
        a = a / np.linalg.norm(a, axis=1, keepdims=True)
        b = b / np.linalg.norm(b, axis=1, keepdims=True)
        closest = (a @ b.T).max(axis=1)
    kept, copies, repeats = [], 0, 0
    for text, score in zip(candidates, closest, strict=True):
        key = normalise(text)
        if key in exact or score >= near:
            kept.append(False)
            copies += 1
        elif not key or key in seen:
            kept.append(False)
            repeats += 1
        else:
            kept.append(True)
            seen.add(key)
    return kept, copies, repeats


def filtered(data: object, allowed: set[str]) -> object:
    """The same shape with only the allowed texts."""
    if isinstance(data, dict):
        if isinstance(data.get("examples"), str):
            lines = [f"- {t}" for t in texts_in(data) if t in allowed]
            return {**data, "examples": "\n".join(lines) + "\n"}
        return {k: v if k in LABELS else filtered(v, allowed) for k, v in data.items()}
    if isinstance(data, list):
        return [v for v in (filtered(v, allowed) for v in data) if v not in (None, [], {})]
    if isinstance(data, str):
        return data if data in allowed else None
    return data


def main(argv: Sequence[str] | None = None) -> int:
    """Filter one writer's file and write the kept texts beside it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path, help="the writer's YAML file")
    parser.add_argument("out", type=Path, help="where to write the kept texts")
    args = parser.parse_args(argv)

    from bot.understanding.encoder import get_encoder
    from bot.understanding.examples import nlu_examples

    data = yaml.safe_load(args.source.read_text(encoding="utf-8"))
    candidates = texts_in(data)
    evaluation = [t for path in EVALUATION_SETS for t in texts_in(yaml.safe_load(path.read_text()))]
    anchors = yaml.safe_load(ANCHORS.read_text(encoding="utf-8"))
    known = [t for t, _ in nlu_examples(ROOT / "data")]
    known += texts_in(anchors.get("categories")) + texts_in(anchors.get("lookalikes"))
    flags, copies, repeats = keep(candidates, evaluation, known, get_encoder().encode)
    allowed = {t for t, ok in zip(candidates, flags, strict=True) if ok}
    args.out.write_text(yaml.safe_dump(filtered(data, allowed), sort_keys=False, width=1000))
    print(
        f"{len(allowed)} kept of {len(candidates)}: {copies} copied or nearly copied an "
        f"evaluation text, {repeats} repeated training data or each other"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
