"""Time the sentence encoder alone (`make bench-encoder`): per-message latency by length,
batched throughput, and a cache hit. Figures go into docs/understanding.md."""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.understanding.encoder import SentenceEncoder  # noqa: E402

TEXTS = {
    "short (about 7 tokens)": "how often are my check ups",
    "medium (about 25 tokens)": "my son finished treatment last spring and I wanted to ask how "
    "often he will need to come back to clinic now",
    "long (128 tokens, truncated)": "I wanted to ask about parking and the cafe. " * 20,
}


def main() -> None:
    """Print median milliseconds for each case."""
    for threads in (1, 2):
        encoder = SentenceEncoder(threads=threads, cache_size=0)
        for name, text in TEXTS.items():
            encoder.encode([text])
            times = []
            for _ in range(30):
                start = time.perf_counter()
                encoder._run([text])
                times.append((time.perf_counter() - start) * 1000)
            print(f"threads={threads} {name}: p50 {statistics.median(times):.1f} ms")
        batch = [f"question number {i} about my video appointment" for i in range(256)]
        start = time.perf_counter()
        encoder._run(batch)
        per = (time.perf_counter() - start) * 1000 / len(batch)
        print(f"threads={threads} batched training-style (256 texts): {per:.2f} ms per text")
    cached = SentenceEncoder()
    cached.encode_one("how often are my check ups")
    start = time.perf_counter()
    for _ in range(1000):
        cached.encode_one("how often are my check ups")
    print(f"cache hit: {(time.perf_counter() - start):.3f} ms per message")


if __name__ == "__main__":
    main()
