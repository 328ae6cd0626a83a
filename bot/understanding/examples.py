"""The training examples in Rasa NLU files (data/*.yml), read without Rasa."""

from __future__ import annotations

from pathlib import Path

import yaml


def nlu_examples(folder: Path) -> list[tuple[str, str]]:
    """(text, intent) for every intent example in the folder's NLU files, in file order."""
    examples = []
    for path in sorted(folder.glob("*.yml")):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []):
            if "intent" not in block:
                continue
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples.append((line[2:].strip(), block["intent"]))
    return examples
