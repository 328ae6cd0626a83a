"""The project's own spaCy pipeline: blank English, lookup lemmas and rules, built offline."""

from __future__ import annotations

from pathlib import Path

import spacy
from spacy.language import Language

from bot.config import get_settings

PIPELINE_VERSION = "1"


def build_pipeline() -> Language:
    """Return a blank English pipeline with a lookup lemmatiser (from spacy-lookups-data)."""
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    nlp.meta["name"] = "en_lookup_followup"
    nlp.meta["version"] = f"0.0.{PIPELINE_VERSION}"
    nlp.meta["description"] = "Blank English with lookup lemmas, built by bot.understanding.nlp"
    return nlp


def save_pipeline(target: Path | None = None) -> Path:
    """Build the pipeline and write it where the Rasa config and screening expect it."""
    target = Path(target or get_settings().spacy_model_dir)
    nlp = build_pipeline()
    target.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(target)
    return target


def load_pipeline(path: Path | None = None) -> Language:
    """Load the saved pipeline, building it first if it is not there yet."""
    path = Path(path or get_settings().spacy_model_dir)
    if not (path / "meta.json").exists():
        save_pipeline(path)
    return spacy.load(path)


if __name__ == "__main__":
    print(save_pipeline())
