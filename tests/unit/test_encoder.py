"""The real MiniLM encoder unpacked by `make` (no stand-in)."""

import numpy as np
import pytest

from bot.understanding.encoder import DIMENSIONS, EncoderMissingError, SentenceEncoder, get_encoder


@pytest.fixture(scope="module")
def encoder():
    return get_encoder()


def test_vectors_are_unit_length(encoder):
    v = encoder.encode(["how often are my check ups", "hi"])
    assert v.shape == (2, DIMENSIONS)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)


def test_paraphrases_are_closer_than_unrelated_text(encoder):
    a, b, c = encoder.encode(
        [
            "how often do I have follow up appointments",
            "how frequently will I be seen in clinic",
            "book me a table for two tonight",
        ]
    )
    assert a @ b > a @ c + 0.2


def test_batching_and_length_padding_do_not_change_a_vector(encoder):
    texts = ["short", "a much longer message about my video appointment next week " * 3]
    together = encoder.encode(texts)
    fresh = SentenceEncoder()
    alone = np.stack([fresh.encode_one(t) for t in texts])
    assert np.allclose(together, alone, atol=1e-4)


def test_no_padding_to_128(encoder):
    assert encoder.token_count("hi") < 10


def test_very_long_text_is_truncated_not_an_error(encoder):
    assert encoder.encode_one("word " * 5000).shape == (DIMENSIONS,)


def test_missing_weights_say_how_to_fix(tmp_path):
    with pytest.raises(EncoderMissingError, match="make install"):
        SentenceEncoder(tmp_path)


def test_stored_vectors_are_the_same_and_keyed_by_the_texts(encoder, tmp_path):
    texts = ["my temperature is 38.5", "how often are check ups"]
    first = encoder.encode_stored(texts, store=tmp_path)
    assert np.allclose(first, encoder.encode(texts), atol=1e-6)
    (kept,) = tmp_path.glob("*.npy")
    again = encoder.encode_stored(texts, store=tmp_path)
    assert np.array_equal(first, again)
    encoder.encode_stored([*texts, "a new anchor"], store=tmp_path)
    assert len(list(tmp_path.glob("*.npy"))) == 2  # an edit never reuses the old file
    kept.write_bytes(b"not an array")
    assert np.allclose(encoder.encode_stored(texts, store=tmp_path), first, atol=1e-6)


def test_stored_vectors_without_a_writable_store(encoder, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be")
    vectors = encoder.encode_stored(["hello"], store=blocked / "vectors")
    assert vectors.shape == (1, DIMENSIONS)
