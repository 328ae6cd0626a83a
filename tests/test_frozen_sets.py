"""The blind evaluation sets are frozen: tuning must not quietly edit them."""

import hashlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FROZEN = {
    "tests/nlu/blind_test.yml": "dbb4f80f2a2e5e9e05a20bbae2afcc46923aebea1f3e1f2210bcf071cf44a4cc",
    "tests/nlu/validation.yml": "eda4bfc1c6174beeaa8ce22cba93f82fdf72febad9ce352e8bd830bdf7190783",
    "tests/safety/blind_test.yml": "7f993e29f48ddae342ab9a8ecba9650310108bdd901816594d46fc08f6fd147c",
    "tests/safety/validation.yml": "fc9ac00a8ea8fc9d841a899b09212ac70f2713940173e78fb2ba074c21ef4dc7",
}


@pytest.mark.parametrize(("path", "digest"), FROZEN.items())
def test_set_is_unchanged(path: str, digest: str) -> None:
    assert hashlib.sha256((ROOT / path).read_bytes()).hexdigest() == digest

