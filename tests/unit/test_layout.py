"""The package's layers: bot/ never imports Rasa, and lower layers never import the apps."""

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[2] / "bot"
MODULES = sorted(p for p in BOT.rglob("*.py") if "migrations" not in p.parts)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(BOT)))
def test_bot_never_imports_rasa(path: Path) -> None:
    bad = {n for n in _imports(path) if n.split(".")[0] in {"rasa", "rasa_sdk", "sanic"}}
    assert not bad, f"{path} imports {bad}"


@pytest.mark.parametrize(
    "path",
    [p for p in MODULES if p.parent.name in {"care", "storage", "identity", "understanding"}],
    ids=lambda p: str(p.relative_to(BOT)),
)
def test_lower_layers_never_import_the_apps(path: Path) -> None:
    bad = {n for n in _imports(path) if n.startswith("bot.apps")}
    assert not bad, f"{path} imports {bad}"


def test_no_module_left_at_the_top_but_shared_ones() -> None:
    top = {p.name for p in BOT.glob("*.py")}
    assert top <= {"__init__.py", "config.py", "clock.py"}
