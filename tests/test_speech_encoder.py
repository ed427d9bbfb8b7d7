"""The sentence encoder: the real packaged model, its on-disk store, its caches."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from speech.encoder import DIMENSIONS, EmbeddingStore, SentenceEncoder


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

    def no_model(precision: str) -> object:
        raise AssertionError("the model must not be needed for stored examples")

    second = SentenceEncoder(store=EmbeddingStore(tmp_path), loader=no_model)
    assert np.array_equal(second.embed_examples(["ho un problema con la bolletta"]), stored)


def test_a_corrupt_store_file_is_recomputed_not_trusted(tmp_path: Path) -> None:
    store = EmbeddingStore(tmp_path)
    encoder = SentenceEncoder(store=store)
    good = encoder.embed_examples(["la luce non va"])[0]
    path = store._path(encoder.model_id, "la luce non va")
    path.write_bytes(b"not a numpy file")
    assert store.load(encoder.model_id, "la luce non va") is None
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


def test_a_store_directory_others_can_write_to_is_not_trusted(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    assert EmbeddingStore(shared).directory is None
    private = EmbeddingStore(tmp_path / "ours")
    assert private.directory is not None
    assert private.directory.stat().st_mode & 0o777 == 0o700


def test_the_engine_computes_on_the_calling_thread_and_leaves_the_environment_alone() -> None:
    # Spinning OpenMP threads made one sentence take ~1 s on a busy machine (the C engine
    # used before): every embedding must be computed on the caller's thread (onnxruntime
    # starts one idle helper thread at import; it must stay idle), and other libraries
    # must keep their OpenMP settings.
    script = """
import os, threading
os.environ["OMP_NUM_THREADS"] = "7"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
from speech.encoder import SentenceEncoder
encoder = SentenceEncoder()
for n in range(40):
    encoder.embed([f"la luce non va, e il frigorifero è spento da ieri sera ({n})"])
main = threading.get_native_id()
ticks = {}
for task in os.listdir("/proc/self/task"):
    fields = open(f"/proc/self/task/{task}/stat").read().rsplit(")", 1)[1].split()
    ticks[int(task)] = int(fields[11]) + int(fields[12])
print(ticks.pop(main), max(ticks.values(), default=0), os.environ["OMP_NUM_THREADS"],
      os.environ.get("OMP_WAIT_POLICY"))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[1]).stdout.split()
    main_ticks, busiest_other, threads, policy = out
    assert int(main_ticks) > 10  # the work was done, on this thread
    assert int(busiest_other) <= 2  # clock ticks (10 ms): no other thread worked
    assert (threads, policy) == ("7", "None")


def test_the_precision_is_part_of_the_model_id(tmp_path: Path) -> None:
    # Stored example vectors of one precision are never compared with utterances of another.
    int8 = SentenceEncoder(store=EmbeddingStore(tmp_path), precision="int8")
    float32 = SentenceEncoder(store=EmbeddingStore(tmp_path), precision="float32")
    assert int8.model_id != float32.model_id
    stored = int8.embed_examples(["la luce non va"])[0]
    assert float32.store.load(float32.model_id, "la luce non va") is None
    assert float(stored @ float32.embed_examples(["la luce non va"])[0]) > 0.99


def test_load_builds_the_engine_even_when_every_example_is_stored(tmp_path: Path) -> None:
    # A preloaded gunicorn master must build the engine before it forks, or every worker
    # builds its own (+140 MB each); with all examples on disk nothing else builds it.
    SentenceEncoder(store=EmbeddingStore(tmp_path)).embed_examples(["la luce non va"])
    encoder = SentenceEncoder(store=EmbeddingStore(tmp_path))
    encoder.embed_examples(["la luce non va"])
    assert not encoder.loaded
    encoder.load()
    assert encoder.loaded
