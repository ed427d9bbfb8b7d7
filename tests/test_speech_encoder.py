"""The sentence encoder: the real packaged model, its on-disk store, its caches."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from speech.encoder import DIMENSIONS, MODEL_ID, EmbeddingStore, SentenceEncoder


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder()


def test_sentences_that_mean_the_same_are_closer_than_unrelated_ones_across_languages(
        encoder: SentenceEncoder) -> None:
    power, luce, pizza = encoder.embed(["the lights went out and the fridge is off",
                                        "è andata via la corrente in casa",
                                        "vorrei ordinare una pizza margherita"])
    assert power @ luce > power @ pizza
    assert power @ luce > luce @ pizza


def test_vectors_are_unit_length_and_one_per_text(encoder: SentenceEncoder) -> None:
    vectors = encoder.embed(["bolletta", "bill", "bolletta"])
    assert vectors.shape == (3, DIMENSIONS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    assert np.array_equal(vectors[0], vectors[2])


def test_examples_come_back_from_the_disk_store_without_the_model(tmp_path: Path,
                                                                 encoder: SentenceEncoder) -> None:
    first = SentenceEncoder(store=EmbeddingStore(tmp_path))
    stored = first.embed_examples(["ho un problema con la bolletta"])

    def no_model() -> object:
        raise AssertionError("the model must not be needed for stored examples")

    second = SentenceEncoder(store=EmbeddingStore(tmp_path), loader=no_model)
    assert np.array_equal(second.embed_examples(["ho un problema con la bolletta"]), stored)


def test_a_corrupt_store_file_is_recomputed_not_trusted(tmp_path: Path) -> None:
    store = EmbeddingStore(tmp_path)
    encoder = SentenceEncoder(store=store)
    good = encoder.embed_examples(["la luce non va"])[0]
    path = store._path(MODEL_ID, "la luce non va")
    path.write_bytes(b"not a numpy file")
    assert store.load(MODEL_ID, "la luce non va") is None
    assert np.allclose(SentenceEncoder(store=store).embed_examples(["la luce non va"])[0], good)


def test_concurrent_calls_share_one_model_safely(encoder: SentenceEncoder) -> None:
    texts = [f"frase numero {i} sulla bolletta" for i in range(12)]
    expected = encoder.embed(texts)
    fresh = SentenceEncoder()
    results: dict[int, np.ndarray] = {}

    def work(index: int) -> None:
        results[index] = fresh.embed([texts[index]])[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, vector in results.items():
        assert np.allclose(vector, expected[index], atol=1e-5)
