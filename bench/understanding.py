"""Understanding benchmark: training and classification time, held-out accuracy, calibration.

Run: `python -m bench.understanding`. Figures go to docs/benchmarks.md ("Understanding").
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import yaml

from speech.evaluate import evaluate_cases, load_cases
from speech.intents import IntentClassifier, classifier_for

ROOT = Path(__file__).resolve().parents[1]
SETS = [("ivr/flows/main.yaml", "tests/data/eval/default_it.yaml"),
        ("ivr/flows/main.yaml", "tests/data/eval/default_en.yaml"),
        ("tests/data/flows/ko_intents.yaml", "tests/data/eval/ko.yaml")]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def timing() -> None:
    """Training time (fresh) and cached lookup, classification latency."""
    flow = yaml.safe_load((ROOT / SETS[0][0]).read_text())
    intents, languages = flow["intents"], ["it", "en"]
    IntentClassifier.train(intents, languages)  # warm imports
    runs = []
    for _ in range(10):
        started = time.perf_counter()
        IntentClassifier.train(intents, languages)
        runs.append(time.perf_counter() - started)
    print(f"train (6 intents, it+en): median {_ms(statistics.median(runs))}, "
          f"max {_ms(max(runs))}")
    classifier_for(intents, languages)
    started = time.perf_counter()
    for _ in range(100):
        classifier_for(intents, languages)
    print(f"cached classifier_for: {_ms((time.perf_counter() - started) / 100)}")
    classifier = classifier_for(intents, languages)
    texts = ["ho un problema con la bolletta di marzo", "my electricity isn't working"]
    started = time.perf_counter()
    for _ in range(200):
        for text in texts:
            classifier.classify(text, "it")
    print(f"classify: {_ms((time.perf_counter() - started) / 400)} per utterance")


def held_out() -> None:
    """Accuracy, misroutes, safe fallbacks and a reliability table per held-out set."""
    all_cases = []
    for flow_path, cases_path in SETS:
        flow = yaml.safe_load((ROOT / flow_path).read_text())
        report = evaluate_cases(flow, load_cases(ROOT / cases_path))
        all_cases += report.cases
        print(f"{cases_path}: n={report.total} accuracy {report.accuracy:.1%} "
              f"misroutes {report.misroute_rate:.1%} "
              f"safe fallbacks {report.safe_fallback_rate:.1%}")
    print("reliability (is the top intent right? out-of-domain cases never are):")
    bands = [(0.0, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.01)]
    error = 0.0
    for lo, hi in bands:
        inside = [c for c in all_cases if lo <= c.confidence < hi and c.expected != "none"]
        ood = [c for c in all_cases if lo <= c.confidence < hi and c.expected == "none"]
        if inside or ood:
            right = sum(c.top_intent == c.expected for c in inside)
            mean = statistics.mean(c.confidence for c in inside + ood)
            share = right / len(inside + ood)
            error += abs(mean - share) * len(inside + ood)
            print(f"  [{lo:.1f}, {min(hi, 1):.1f}): n={len(inside + ood)} "
                  f"(out-of-domain {len(ood)}) mean confidence {mean:.2f} right {share:.0%}")
    print(f"expected calibration error: {error / len(all_cases):.3f}")


def main(argv: list[str] | None = None) -> int:
    """Timing, then held-out accuracy and calibration."""
    timing()
    held_out()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
