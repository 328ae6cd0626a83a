"""The blind evaluation sets are frozen: tuning must not quietly edit them."""

import hashlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FROZEN = {
    "tests/nlu/blind_test.yml": "dbb4f80f2a2e5e9e05a20bbae2afcc46923aebea1f3e1f2210bcf071cf44a4cc",
    "tests/nlu/validation.yml": "eda4bfc1c6174beeaa8ce22cba93f82fdf72febad9ce352e8bd830bdf7190783",
    "tests/safety/blind_test.yml": "7f993e29f48ddae342ab9a8ecba9650310108bdd901816594d46fc08f6fd147c",  # noqa: E501
    "tests/safety/validation.yml": "fc9ac00a8ea8fc9d841a899b09212ac70f2713940173e78fb2ba074c21ef4dc7",  # noqa: E501
    "tests/nlu/validation_2.yml": "d3a5ed733f0fd9bcbc80777c0d598c7d10046cc256eae171ec5d962588636109",  # noqa: E501
    "tests/nlu/validation_3.yml": "0b8c9ff2c24739efd5fa0e3c867f56d644d32546fbcbb827fa586c0e6c5a4d56",  # noqa: E501
    "tests/safety/validation_2.yml": "ec44fc07955f5867ec481a8cbc8c5b582468b597fbe75fbebcfd422f5debbe86",  # noqa: E501
    "tests/safety/validation_3.yml": "df871210be8ce7754efa39eb4f2ecabbc2502c2be714706aa41f6b6108b15976",  # noqa: E501
    "tests/safety/validation_4.yml": "d76592bbff292264b937b61b2404ea48757a41dc0ff0bc121672a77fd0d1f019",  # noqa: E501
    "tests/safety/validation_5.yml": "4afb2da5117611bf0d2e992f583d53766ae8eaeb9e5d63c65304339c5646fb83",  # noqa: E501
    "tests/safety/validation_6.yml": "94fa8e237766b820a1a67269133bd3bea02481a79518d338462b0b11c05fdf2c",  # noqa: E501
    "tests/safety/validation_7.yml": "f78132d9cff498aa7f2a3e92ba902e44b067bfa8ef5af28c29ce36a8c79fcda8",  # noqa: E501
    "tests/safety/validation_8.yml": "d160c03ab24cc05b4754c31a4c50996e6d3aac99d096c66c49e1c8f75e412cb8",  # noqa: E501
}


@pytest.mark.parametrize(("path", "digest"), FROZEN.items())
def test_set_is_unchanged(path: str, digest: str) -> None:
    assert hashlib.sha256((ROOT / path).read_bytes()).hexdigest() == digest
