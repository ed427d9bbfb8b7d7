"""Vosk recognisers kept between answers, one shelf per grammar.

In grammar mode a `KaldiRecognizer` decodes over a graph composed lazily from the model's
HCLr and the grammar: each state is built the first time the search reaches it and then
cached *in that recogniser*. A fresh recogniser per answer builds the same states again on
every answer. For the garbage-path grammar of `speech.hearing` (every syllable of the
model beside the phrases) that was a third of its decoding: 0.028 against 0.018 CPU-s per
audio second once its graph is built (0.015 against 0.014 for a plain grammar;
docs/benchmarks.md, "Session 11").

So an answer *leases* a recogniser for its grammar and gives it back when it is done; the
next answer with the same grammar (the same step of the flow, another caller) gets it.
Nothing of one caller reaches the next: a recogniser is put back only finalised
(`FinalResult`), and Vosk starts a finalised recogniser on a new feature pipeline (new
CMVN and i-vector state) and a new decoder; only the composed graph stays. Vosk's word
times keep counting over a recogniser's whole life, so `Lease.offset_seconds` says where
this lease began: subtract it to read times from the lease's first sample.

A recogniser is retired after `lifetime_seconds` of audio (Vosk keeps that count in a
32-bit int and divides it in floating point); each grammar keeps at most `per_grammar`
idle recognisers, and all grammars together at most `max_idle` (about 1 MB each once
used: 256 MB at worst), taken first from the grammar least recently used.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

import vosk

log = logging.getLogger(__name__)

_FINALISE = b"\0\0" * 80  # 10 ms of silence: puts an idle recogniser back in the running


class Lease:
    """One recogniser for one answer: the `KaldiRecognizer` calls the recogniser uses,
    counting the audio fed so the pool knows the time offset of the next lease."""

    def __init__(self, recognizer: Any, key: tuple[vosk.Model, int, str | None],
                 fed_bytes: int, pool: RecognizerPool | None) -> None:
        self._recognizer = recognizer
        self._key = key
        self._pool = pool
        self.fed_bytes = fed_bytes       # audio this recogniser decoded before and in this lease
        self.offset_seconds = fed_bytes / (2 * key[1])
        # Vosk's own state, which it does not expose: "running" once fed, "endpoint" after
        # a Result or Reset of a running one, "finalised" after a FinalResult of a running
        # one (and for a new or shelved recogniser: nothing of earlier audio is kept)
        self.state = "finalised"

    def AcceptWaveform(self, data: bytes) -> bool:  # noqa: N802 - vosk's names
        self.fed_bytes += len(data)
        self.state = "running"
        return bool(self._recognizer.AcceptWaveform(data))

    def Result(self) -> str:  # noqa: N802
        if self.state == "running":
            self.state = "endpoint"
        return str(self._recognizer.Result())

    def PartialResult(self) -> str:  # noqa: N802
        return str(self._recognizer.PartialResult())

    def FinalResult(self) -> str:  # noqa: N802
        if self.state == "running":
            self.state = "finalised"
        return str(self._recognizer.FinalResult())

    def Reset(self) -> None:  # noqa: N802
        if self.state == "running":
            self.state = "endpoint"
        self._recognizer.Reset()

    def SetWords(self, enabled: bool) -> None:  # noqa: N802
        self._recognizer.SetWords(enabled)

    def SetMaxAlternatives(self, count: int) -> None:  # noqa: N802
        self._recognizer.SetMaxAlternatives(count)

    def give_back(self) -> None:
        """Return the recogniser to its pool (once; a lease without a pool just ends)."""
        pool, self._pool = self._pool, None
        recognizer, self._recognizer = self._recognizer, None
        if pool is not None and recognizer is not None:
            pool._shelve(self._key, recognizer, self.fed_bytes, self.state == "finalised")


class RecognizerPool:
    """Idle recognisers per (model, sample rate, grammar); thread-safe."""

    def __init__(self, *, per_grammar: int = 64, max_idle: int = 256,
                 lifetime_seconds: float = 3600.0) -> None:
        self.per_grammar = per_grammar
        self.max_idle = max_idle
        self._idle = 0
        self.lifetime_seconds = lifetime_seconds
        self._shelves: OrderedDict[tuple[vosk.Model, int, str | None],
                                   list[tuple[Any, int]]] = OrderedDict()
        self._lock = threading.Lock()
        self.leased = 0    # leases handed out
        self.reused = 0    # ... of which with a recogniser that had decoded before

    def lease(self, model: vosk.Model, rate: int, grammar: str | None) -> Lease:
        """A recogniser for `grammar` (Vosk's JSON list; None: free-form) at `rate`."""
        key = (model, rate, grammar)
        with self._lock:
            self.leased += 1
            shelf = self._shelves.get(key)
            if shelf:
                self._shelves.move_to_end(key)
                recognizer, fed = shelf.pop()
                self._idle -= 1
                self.reused += 1
                return Lease(recognizer, key, fed, self)
        return Lease(_new_recognizer(*key), key, 0, self)

    def idle(self) -> int:
        """Recognisers on the shelves now."""
        with self._lock:
            return self._idle

    def _shelve(self, key: tuple[vosk.Model, int, str | None], recognizer: Any, fed: int,
                finalised: bool) -> None:
        if fed / (2 * key[1]) >= self.lifetime_seconds:
            return  # retired: dropped here, freed by vosk
        if not finalised:
            # Only a finalised recogniser starts its next use on a new feature pipeline;
            # a few ms of silence makes sure there is something to finalise.
            try:
                recognizer.AcceptWaveform(_FINALISE)
                recognizer.FinalResult()
            except Exception:  # whatever went wrong, this one is not used again
                log.exception("a recogniser could not be finalised; dropped")
                return
            fed += len(_FINALISE)
        dropped = []
        with self._lock:
            shelf = self._shelves.setdefault(key, [])
            self._shelves.move_to_end(key)
            if len(shelf) < self.per_grammar:
                shelf.append((recognizer, fed))
                self._idle += 1
            while self._idle > self.max_idle:
                oldest = next(iter(self._shelves))
                dropped.append(self._shelves[oldest].pop(0))
                self._idle -= 1
                if not self._shelves[oldest]:
                    del self._shelves[oldest]
        del dropped  # freed outside the lock: a grammar's graphs take milliseconds to free


def fresh_lease(model: vosk.Model, rate: int, grammar: str | None) -> Lease:
    """A recogniser of its own, not pooled (no pool configured)."""
    return Lease(_new_recognizer(model, rate, grammar), (model, rate, grammar), 0, None)


def _new_recognizer(model: vosk.Model, rate: int, grammar: str | None) -> Any:
    return (vosk.KaldiRecognizer(model, rate, grammar) if grammar is not None
            else vosk.KaldiRecognizer(model, rate))
