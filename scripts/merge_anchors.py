"""Append a writer's kept anchors to content/safety_anchors.yml, each at the end of its list.

Run after scripts/guard_writer.py, on its output. The anchors file is edited as text, so its
comments (the tuning history) stay; every category or look-alike kind must already exist.

    python scripts/merge_anchors.py kept.yml [--anchors content/safety_anchors.yml]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
ANCHORS = ROOT / "content" / "safety_anchors.yml"


def _list_end(lines: list[str], section: str, name: str, item_indent: str) -> int:
    """The index just after the last list item of `name` under the top-level `section`."""
    start = lines.index(f"{section}:\n")
    header = next(
        (i for i in range(start + 1, len(lines)) if lines[i].rstrip() == f"  {name}:"), None
    )
    if header is None:
        raise KeyError(f"{section} has no {name!r}")
    end = header + 1
    for i in range(header + 1, len(lines)):
        line = lines[i]
        if line.startswith(item_indent + "- "):
            end = i + 1
        elif line.strip() and not line.startswith("    "):
            break  # the next category or kind (comments and keys inside it are indented)
    return end


def merge(text: str, new: dict[str, Any]) -> str:
    """The anchors file's text with `new`'s categories and look-alikes appended in place."""
    lines = text.splitlines(keepends=True)
    plan = [
        ("categories", name, "      ", items)
        for name, items in (new.get("categories") or {}).items()
    ] + [
        ("lookalikes", kind, "    ", items) for kind, items in (new.get("lookalikes") or {}).items()
    ]
    # From the bottom up, so earlier insertion points stay valid.
    spots = sorted(
        ((_list_end(lines, s, n, indent), indent, items) for s, n, indent, items in plan),
        reverse=True,
    )
    for at, indent, items in spots:
        lines[at:at] = [f"{indent}- {json.dumps(str(t), ensure_ascii=False)}\n" for t in items]
    return "".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Merge one kept file and check every text landed where it belongs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kept", type=Path)
    parser.add_argument("--anchors", type=Path, default=ANCHORS)
    args = parser.parse_args(argv)
    new = yaml.safe_load(args.kept.read_text(encoding="utf-8"))
    try:
        merged = merge(args.anchors.read_text(encoding="utf-8"), new)
    except KeyError as error:
        print(f"not merged: {error}", file=sys.stderr)
        return 1
    data = yaml.safe_load(merged)
    landed = {
        **{
            ("categories", n): data["categories"][n]["anchors"] for n in new.get("categories") or {}
        },
        **{("lookalikes", k): data["lookalikes"][k] for k in new.get("lookalikes") or {}},
    }
    for (part, name), texts in landed.items():
        missing = set(new[part][name]) - set(texts)
        if missing:
            print(f"{name}: {len(missing)} texts did not land", file=sys.stderr)
            return 1
    args.anchors.write_text(merged, encoding="utf-8")
    count = sum(
        len(v) for part in ("categories", "lookalikes") for v in (new.get(part) or {}).values()
    )
    print(f"merged {count} anchors into {args.anchors}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
