"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest

import bot.understanding.nlp


@pytest.fixture(scope="session")
def nlp(tmp_path_factory: pytest.TempPathFactory):
    """The project's spaCy pipeline (blank English with lookup lemmas), built once per run."""
    target = tmp_path_factory.mktemp("spacy") / "nlp"
    bot.understanding.nlp.save_pipeline(target)
    return bot.understanding.nlp.load_pipeline(target)
