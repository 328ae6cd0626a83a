"""The rule that keeps patient wording in content/: no wording in the code that speaks.

An AST scan of actions/, bot/care/ and components/ (and a scan of the widget's script) fails
on any string literal that looks like something a patient reads: a capitalised phrase of 20+
characters, a lower-case phrase of five or more words, the title of a (title, "/payload")
quick reply or a {"title": ...} button. Docstrings, logging calls, exception messages and
regular expressions are not wording; the few other exceptions are in ALLOWED, each with its
reason. It also checks every say()/buttons() call against the files (the entry exists, the
fields are its placeholders), that each file names the modules that use it, and that no
entry is left that no code asks for.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.care.wording import CONCERNS, CONTENT_DIR, load_wording
from bot.config import PROJECT_ROOT

# Patient-facing code. components/ other than the channels holds no replies: health checks,
# NLU plug-ins, stores; they are scanned too, so a reply added there is caught.
SCANNED = sorted(
    [
        *PROJECT_ROOT.glob("actions/*.py"),
        *PROJECT_ROOT.glob("bot/care/*.py"),
        *PROJECT_ROOT.glob("components/*.py"),
    ]
)
# Modules that speak to staff, not patients (left alone by design).
STAFF_FACING = {
    "bot/care/notifications.py": "the e-mail to the care team's mailbox",
    "bot/care/requests.py": "the staff work queue's labels and errors",
}
# (module, text): why this literal is not patient wording.
ALLOWED = {
    (
        "components/channels.py",
        "Please send a JSON object with 'sender' and 'message'.",
    ): "400 for a malformed REST body: for the portal's developers; the widget never sends one",
}
WIDGET = PROJECT_ROOT / "web" / "widget.js"
_JS_STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"|\'((?:[^\'\\\n]|\\.)*)\'')
LOGGERS = {"logger", "log", "logging"}
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
SPEAKERS = {"say", "buttons", "wording_buttons"}


def _rel(path: Path) -> str:
    return path.relative_to(PROJECT_ROOT).as_posix()


def _literal(node: ast.AST) -> str | None:
    """A str constant, or an f-string with {} where its values go."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value if isinstance(v, ast.Constant) else "{}" for v in node.values
        )  # fmt: skip
    return None


def _not_wording(tree: ast.Module) -> set[int]:
    """ids of nodes whose strings are docstrings, log lines, exception or regex text."""
    skip: set[int] = set()

    def drop(node: ast.AST) -> None:
        skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        # A string on its own is a docstring (of a module, class, function or attribute).
        if isinstance(node, ast.Expr) and _literal(node.value) is not None:
            drop(node)
        if isinstance(node, ast.Raise) and node.exc is not None:
            drop(node.exc)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name) and (
                (owner.id in LOGGERS and node.func.attr in LOG_METHODS) or owner.id == "re"
            ):
                drop(node)
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "__doc__":
                    drop(value)
    return skip


def _looks_like_wording(text: str) -> bool:
    words = re.findall(r"[A-Za-z][A-Za-z']*", text)
    capitalised = bool(re.match(r"[A-Z][a-z]", text)) and " " in text and len(text) >= 20
    plain = text.replace("{}", "x")  # an f-string's values count as words
    prose = bool(re.fullmatch(r"[a-z][a-z' ,]*[a-z.?!]", plain)) and len(words) >= 5
    return capitalised or prose


def _findings(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _not_wording(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Tuple) and len(node.elts) == 2:
            title, payload = (_literal(e) for e in node.elts)
            if title and payload and payload.startswith("/"):
                yield node.lineno, title
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "title" and _literal(value):
                    yield node.lineno, _literal(value) or ""
        if isinstance(node, (ast.Constant, ast.JoinedStr)):
            text = _literal(node)
            if text and _looks_like_wording(text.strip()):
                yield node.lineno, text


@pytest.mark.parametrize("path", SCANNED, ids=_rel)
def test_no_patient_wording_in_code(path: Path) -> None:
    if _rel(path) in STAFF_FACING:
        pytest.skip(f"staff-facing: {STAFF_FACING[_rel(path)]}")
    found = sorted(
        {(line, text) for line, text in _findings(path) if (_rel(path), text) not in ALLOWED}
    )
    assert not found, (
        f"patient wording in {_rel(path)}: move it to content/ and ask for it with "
        f"bot.care.wording.say() (or add it to ALLOWED with a reason):\n"
        + "\n".join(f"  line {line}: {text!r}" for line, text in found)
    )


def test_the_allow_list_has_nothing_stale() -> None:
    for module, text in ALLOWED:
        assert text in {t for _, t in _findings(PROJECT_ROOT / module)}, (module, text)


def _js_strings(path: Path) -> list[str]:
    """The string literals of a script, comments left out."""
    source = re.sub(r"/\*.*?\*/", "", path.read_text(encoding="utf-8"), flags=re.S)
    source = re.sub(r"^\s*//.*$", "", source, flags=re.M)
    return [a or b for a, b in _JS_STRING.findall(source)]


def test_no_patient_wording_in_the_widget_script() -> None:
    """The widget's words are in content/widget.yml; the web server writes them in."""
    found = [text for text in _js_strings(WIDGET) if _looks_like_wording(text.strip())]
    assert not found, f"patient wording in web/widget.js: move it to content/widget.yml: {found}"


def test_the_guard_catches_what_it_should() -> None:
    source = '''
"""A docstring That Looks Like Wording is fine."""
import logging, re
logger = logging.getLogger(__name__)
def f():
    """Another docstring, also fine."""
    logger.info("Something happened that is long enough")
    re.compile(r"Some pattern that is long (enough)")
    raise ValueError("A message for developers, long enough")
A = "Please sign in to your patient portal."
B = ("Add to my calendar", "/add_to_calendar")
C = {"title": "Carry on", "payload": "/x"}
D = f"your specialist nurse, {name}, on the phone"
'''
    path = PROJECT_ROOT / "var" / "guard_probe.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(source, encoding="utf-8")
    try:
        found = {text for _, text in _findings(path)}
    finally:
        path.unlink()
    assert found == {
        "Please sign in to your patient portal.",
        "Add to my calendar",
        "Carry on",
        "your specialist nurse, {}, on the phone",
    }


# --- every say()/buttons() call, checked against the files -------------------------------


def _module_names(tree: ast.Module) -> dict[str, str]:
    """Module-level NAME = "text" assignments (e.g. WORDING = "appointments")."""
    names = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], _literal(node.value)
            if isinstance(target, ast.Name) and value is not None:
                names[target.id] = value
    return names


def _resolve(node: ast.AST, names: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _keys(node: ast.AST, names: dict[str, str]) -> list[tuple[str, bool]]:
    """(key, exact) for a key argument: a literal, an f-string prefix, or both branches."""
    if isinstance(node, ast.IfExp):
        return _keys(node.body, names) + _keys(node.orelse, names)
    if isinstance(node, ast.JoinedStr):
        first = node.values[0]
        prefix = first.value if isinstance(first, ast.Constant) else ""
        return [(str(prefix), False)]
    resolved = _resolve(node, names)
    return [(resolved, True)] if resolved is not None else []


def _is_speaker(func: ast.AST) -> bool:
    if isinstance(func, ast.Name):
        return func.id in SPEAKERS
    return isinstance(func, ast.Attribute) and func.attr in {"say", "buttons"}


def _calls() -> Iterator[tuple[str, ast.Call, str | None, list[tuple[str, bool]]]]:
    for path in SCANNED:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _module_names(tree)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _is_speaker(node.func)):
                continue
            if node.args and isinstance(node.args[0], ast.Starred):
                continue  # say(*pair): the pair itself is checked by test_every_pair_exists
            concern = _resolve(node.args[0], names) if node.args else None
            keys = [k for arg in node.args[1:] for k in _keys(arg, names)]
            yield _rel(path), node, concern, keys


CALLS = list(_calls())


def test_every_call_names_an_existing_entry_with_its_fields() -> None:
    problems = []
    for module, call, concern, keys in CALLS:
        where = f"{module}:{call.lineno}"
        if concern not in CONCERNS:
            problems.append(f"{where}: concern must be a literal wording file, not {concern!r}")
            continue
        # Keys held in variables (a helper's parameter) are checked when the code runs.
        entries = load_wording(concern).entries
        fields = {k.arg for k in call.keywords}
        for key, exact in keys:
            matches = [
                e for k, e in entries.items() if k == key or (not exact and k.startswith(key))
            ]
            if not matches:
                problems.append(f"{where}: no entry {concern}.{key}{'' if exact else '*'}")
            elif (
                exact
                and _is_say(call)
                and None not in fields
                and fields != set(matches[0].placeholders)
            ):
                problems.append(
                    f"{where}: {concern}.{key} fills in {sorted(matches[0].placeholders)}, "
                    f"the code gives {sorted(f for f in fields if f)}"
                )
        if module not in load_wording(concern).used_in:
            problems.append(f"{where}: content/{concern}.yml's used_in doesn't list {module}")
    assert not problems, "\n".join(problems)


def _is_say(call: ast.Call) -> bool:
    func = call.func
    return (isinstance(func, ast.Name) and func.id == "say") or (
        isinstance(func, ast.Attribute) and func.attr == "say"
    )


def test_every_pair_exists() -> None:
    """(concern, key) tuples in code, e.g. signed_in_offer = ("appointments", "offer_...")."""
    problems = []
    for path in SCANNED:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _module_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Tuple) and len(node.elts) == 2:
                concern, key = (_resolve(e, names) for e in node.elts)
                known = concern in CONCERNS and key is not None
                if known and key not in load_wording(str(concern)).entries:
                    problems.append(f"{_rel(path)}:{node.lineno}: no {concern}.{key}")
    assert not problems, "\n".join(problems)


def test_used_in_names_real_modules() -> None:
    for concern in CONCERNS:
        for module in load_wording(concern).used_in:
            assert (PROJECT_ROOT / module).is_file(), f"{concern}.yml: no module {module}"


@pytest.mark.parametrize("concern", CONCERNS)
def test_no_entry_is_left_unused(concern: str) -> None:
    """Each entry under `entries` is asked for by a module its file names in used_in.

    A key counts as asked for when one of those modules holds it as a literal, or an
    f-string key's literal start (f"kind_{kind}") begins it.
    """
    raw = yaml.safe_load((CONTENT_DIR / f"{concern}.yml").read_text(encoding="utf-8"))
    keys = set((raw.get("entries") or {}).keys())
    literals: set[str] = set()
    prefixes: set[str] = set()
    for module in load_wording(concern).used_in:
        if module.endswith(".js"):
            literals.update(_js_strings(PROJECT_ROOT / module))
            continue
        for node in ast.walk(ast.parse((PROJECT_ROOT / module).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.add(node.value)
            if isinstance(node, ast.JoinedStr) and isinstance(node.values[0], ast.Constant):
                prefixes.add(str(node.values[0].value))
    unused = {k for k in keys if k not in literals and not any(k.startswith(p) for p in prefixes)}
    assert not unused, f"content/{concern}.yml: nothing asks for {sorted(unused)}"
