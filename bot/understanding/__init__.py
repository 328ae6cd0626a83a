"""Language tools for the NLU components: spaCy pipeline, sentence encoder, intent model."""

from __future__ import annotations

import hashlib
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def code_fingerprint(*extra: Path) -> str:
    """A hash of this package's source (and of `extra` files, by size and time).

    Rasa's training cache keys a component on its own class's source and config only, so a
    change here (a new feature setting, a new encoder) would otherwise reuse the old output.
    """
    digest = hashlib.sha256()
    for path in sorted(_HERE.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    for path in extra:
        if path.exists():
            stat = path.stat()
            digest.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()
