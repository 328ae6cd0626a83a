"""Tune and cross-validate the intent model outside Rasa (`make tune-nlu`).

Reads the training data (data/*.yml) and the VALIDATION set (tests/nlu/validation.yml),
never the test set. Prints validation scores for a grid of settings, and with --cv the
5-fold cross-validation on the training data with per-intent precision and recall.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.understanding.encoder import get_encoder  # noqa: E402
from bot.understanding.examples import nlu_examples  # noqa: E402
from bot.understanding.intents import (  # noqa: E402
    FALLBACK,
    NEVER_PREDICTED,
    OUT_OF_SCOPE,
    IntentModel,
    Settings,
)
from bot.understanding.nlp import load_pipeline  # noqa: E402

VALIDATION = ROOT / "tests" / "nlu" / "validation.yml"
REJECTED = {OUT_OF_SCOPE, FALLBACK}


def training_examples() -> tuple[list[str], list[str]]:
    """(texts, intents) from the Rasa NLU files under data/."""
    examples = nlu_examples(ROOT / "data")
    return [text for text, _ in examples], [intent for _, intent in examples]


def labelled_set(path: Path) -> tuple[list[str], list[list[str]]]:
    """(texts, acceptable intents) from a blind set; unrelated messages want out_of_scope."""
    data = yaml.safe_load(path.read_text())
    texts = [e["text"] for e in data["in_scope"]] + [e["text"] for e in data["out_of_scope"]]
    wanted = [list(e["intents"]) for e in data["in_scope"]] + [
        [OUT_OF_SCOPE] for _ in data["out_of_scope"]
    ]
    return texts, wanted


def lemmatise(texts: list[str]) -> list[str]:
    """Lower-cased lookup lemmas joined by spaces, as the Rasa component sees them."""
    nlp = load_pipeline()
    return [" ".join(t.lemma_.lower() or t.lower_ for t in doc) for doc in nlp.pipe(texts)]


def configured_settings() -> Settings:
    """The intent model's settings as config.yml sets them."""
    config = yaml.safe_load((ROOT / "config.yml").read_text())
    entry = next(c for c in config["pipeline"] if c["name"].endswith("SentenceIntentClassifier"))
    names = set(Settings.__dataclass_fields__)
    return Settings(**{k: v for k, v in entry.items() if k in names})


def is_right(intent: str, wanted: list[str]) -> bool:
    """An in-scope message needs one of its intents; an unrelated one, to be declined."""
    return intent in (REJECTED if wanted == [OUT_OF_SCOPE] else wanted)


def score(predictions, wanted) -> dict[str, float]:
    """In-scope answered right, and unrelated declined."""
    ins = [(p, w) for p, w in zip(predictions, wanted, strict=True) if w != [OUT_OF_SCOPE]]
    outs = [(p, w) for p, w in zip(predictions, wanted, strict=True) if w == [OUT_OF_SCOPE]]
    return {
        "in_scope": sum(is_right(p.intent, w) for p, w in ins) / max(len(ins), 1),
        "unrelated": sum(is_right(p.intent, w) for p, w in outs) / max(len(outs), 1),
        "in_scope_fallback": sum(p.intent == FALLBACK for p, _ in ins) / max(len(ins), 1),
    }


def cross_validate(texts, lemmas, vectors, labels, settings: Settings, folds: int = 5) -> dict:
    """Stratified k-fold on the training data: accuracy, per-intent P/R, top confusions."""
    from sklearn.model_selection import StratifiedKFold

    labels_arr = np.array(labels)
    keep = np.array([lab not in NEVER_PREDICTED for lab in labels])
    idx = np.nonzero(keep)[0]
    gold, guess = [], []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=7)
    for train, test in splitter.split(idx, labels_arr[idx]):
        tr, te = idx[train], idx[test]
        model = IntentModel(settings).fit(
            [texts[i] for i in tr], [lemmas[i] for i in tr], vectors[tr], list(labels_arr[tr])
        )
        preds = model.predict_many([texts[i] for i in te], [lemmas[i] for i in te], vectors[te])
        gold += list(labels_arr[te])
        guess += [OUT_OF_SCOPE if p.intent in REJECTED else p.intent for p in preds]
    per_intent = {}
    for intent in sorted(set(gold)):
        tp = sum(g == intent and p == intent for g, p in zip(gold, guess, strict=True))
        predicted = sum(p == intent for p in guess)
        actual = sum(g == intent for g in gold)
        per_intent[intent] = {
            "precision": tp / predicted if predicted else 0.0,
            "recall": tp / actual if actual else 0.0,
            "support": actual,
        }
    confusions = Counter((g, p) for g, p in zip(gold, guess, strict=True) if g != p)
    return {
        "accuracy": sum(g == p for g, p in zip(gold, guess, strict=True)) / len(gold),
        "examples": len(gold),
        "per_intent": per_intent,
        "confusions": confusions.most_common(10),
    }


def main() -> None:
    """Grid over the model's settings on the validation set; optional cross-validation."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cv", action="store_true", help="5-fold CV with the chosen settings")
    parser.add_argument("--grid", action="store_true", help="try a grid of settings")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument(
        "--set",
        choices=("1", "2", "3"),
        default="1",
        help="which validation set (2: validation_2.yml, 3: validation_3.yml)",
    )
    parser.add_argument(
        "--misses", action="store_true", help="list the validation messages scored wrong"
    )
    args = parser.parse_args()
    suffix = "" if args.set == "1" else f"_{args.set}"
    validation = VALIDATION.with_name(f"validation{suffix}.yml")

    encoder = get_encoder()
    texts, labels = training_examples()
    vectors = encoder.encode(texts)
    lemmas = lemmatise(texts)
    val_texts, wanted = labelled_set(validation)
    val_vectors = encoder.encode(val_texts)
    val_lemmas = lemmatise(val_texts)
    print(f"training examples: {len(texts)}; validation messages: {len(val_texts)}")

    results = {}
    base = configured_settings()
    grid = [base]
    if args.grid:
        grid = [
            Settings(dense_weight=w, c=c, min_similarity=s, fallback_threshold=f)
            for w, c, s, f in itertools.product(
                (1.0, 2.0, 3.0), (5.0, 10.0, 30.0), (0.35, 0.4, 0.45, 0.5), (0.2, 0.3, 0.4)
            )
        ]
    fitted: dict[tuple, IntentModel] = {}
    for settings in grid:
        key = (settings.dense_weight, settings.c)
        if key not in fitted:
            fitted[key] = IntentModel(settings).fit(texts, lemmas, vectors, labels)
        model = fitted[key]
        model.settings = settings
        preds = model.predict_many(val_texts, val_lemmas, val_vectors)
        figures = score(preds, wanted)
        name = (
            f"w={settings.dense_weight} C={settings.c} sim={settings.min_similarity} "
            f"fb={settings.fallback_threshold}"
        )
        results[name] = figures
        print(
            f"{name}: in-scope {figures['in_scope']:.3f} unrelated {figures['unrelated']:.3f}"
            f" (in-scope fallbacks {figures['in_scope_fallback']:.3f})"
        )
        if args.misses:
            for text, prediction, want in zip(val_texts, preds, wanted, strict=True):
                if not is_right(prediction.intent, want):
                    print(f"  missed: {'/'.join(want)} -> {prediction.intent}: {text}")
    if args.cv:
        results["cv"] = cross_validate(texts, lemmas, vectors, labels, base)
        print(json.dumps(results["cv"], indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
