"""Understanding benchmark: the issue's figures on our own development and held-out sets.

Run: `python -m bench.understanding [--set dev|dev2|heldout|blind|blind2|...|blind5|both|all]
[--lexical] [--precision auto|int8|float32] [--cv K] [--cue-cv K] [--timing]`.
Figures go to docs/benchmarks.md ("Understanding").

Sets (tests/data/eval/, see its README): `dev/` is what we tune on; `heldout/` was written
before tuning by someone who never saw the training examples, and is never tuned on;
`blind/` was written later by someone who read nothing of the project (no flow, no training
data, no other set), and only its totals are ever looked at; `blind2/` likewise, by another
writer in session 5, after `blind/` had been run twice; `blind3/` by a third, at the start of
session 6, before that session changed anything; `blind4/` by a fourth, at the start of
session 7, likewise; `blind5/` by a fifth, at the start of session 9. `dev2/` (cues only,
session 9) is a second tuning set by another writer. `-v` refuses the blind sets, so their
errors are never printed and never tuned on.

Per language it prints, under the flow's own thresholds:
* understood: the right intent accepted or confirmed (for "none": nothing routed);
* misroutes: a wrong intent acted on without confirmation;
* top intent right on in-scope cases (before thresholds);
* per intent: cases, understood, misrouted;
* cues: "not digital" recall, ordinary callers wrongly flagged, "asks for a person"
  recall, and person wrongly heard on ordinary callers.
`--cv K` adds K-fold cross-validation over the flow's own examples, `--cue-cv K` over the
cue examples; `--timing` the cost per
utterance of intent + cues as a webhook pays it (fresh utterances, cache cold).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections import defaultdict
from pathlib import Path

import yaml

# Measured as a webhook runs: app.py gives each native pool (BLAS, OpenMP) one thread before
# numpy loads. With the default (a BLAS thread per core), the semantic model's few small
# products per utterance were handed to a second thread: ~4 ms of CPU and ~15 ms of wall
# per utterance on a busy machine, which the webhook never pays (docs/benchmarks.md).
for _pool in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_pool, "1")

from speech.encoder import shared_encoder  # noqa: E402
from speech.evaluate import EvaluationReport, evaluate_cases, load_cases  # noqa: E402
from speech.understanding import Understanding, decide, thresholds  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FLOW = ROOT / "ivr/flows/main.yaml"
EVAL = ROOT / "tests/data/eval"
LANGS = ("it", "en")


def _pct(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


def intent_figures(report: EvaluationReport) -> dict[str, float]:
    """understood, misroutes and in-scope top-intent accuracy of one report."""
    in_scope = [c for c in report.cases if c.expected != "none"]
    return {"n": report.total, "understood": report.accuracy,
            "misroutes": report.misroute_rate,
            "top_right": (sum(c.top_intent == c.expected for c in in_scope) / len(in_scope)
                          if in_scope else 0.0)}


def print_intents(report: EvaluationReport, name: str, verbose: bool) -> dict[str, float]:
    """Print one set's figures, per intent, and (verbose) every wrong case."""
    figures = intent_figures(report)
    print(f"{name}: n={report.total} understood {figures['understood']:.1%} "
          f"misroutes {figures['misroutes']:.1%} top-intent right (in scope) "
          f"{figures['top_right']:.1%}")
    per: dict[str, list] = defaultdict(list)
    for case in report.cases:
        per[case.expected].append(case)
    print("  " + "  ".join(
        f"{intent} {sum(c.predicted == intent for c in cases)}/{len(cases)}"
        f"{'(' + str(sum(c.outcome == 'misroute' for c in cases)) + ' misr.)' if any(c.outcome == 'misroute' for c in cases) else ''}"  # noqa: E501
        for intent, cases in sorted(per.items())))
    if verbose:
        for case in report.cases:
            if case.predicted != case.expected:
                print(f"    {case.outcome:8} {case.decision:7} {case.confidence:.2f} "
                      f"exp={case.expected} got={case.predicted} top={case.top_intent} "
                      f"| {case.text}")
    return figures


def cue_figures(understanding: Understanding, flow: dict, path: Path,
                verbose: bool) -> dict[str, float]:
    """Recall of both cues and their false flags on ordinary callers, for one cue set."""
    cases = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("cases", [])
    counts: dict[str, int] = defaultdict(int)
    for case in cases:
        found = understanding.cues(flow, case["text"], case["lang"])
        for kind in ("not_digital", "human"):
            truth, said = bool(case.get(kind)), found[kind] is not None
            counts[f"{kind}_{'pos' if truth else 'neg'}"] += 1
            if truth and said:
                counts[f"{kind}_hit"] += 1
            if said and not truth:
                counts[f"{kind}_false"] += 1
            if verbose and truth != said:
                cue = found[kind]
                evidence = cue.evidence if cue is not None else ""
                print(f"    {'missed' if truth else 'FALSE '} {kind:11} | {case['text']}"
                      f"{' [' + evidence + ']' if evidence else ''}")
    print(f"{path.relative_to(ROOT)}: not digital {_pct(counts['not_digital_hit'], counts['not_digital_pos'])} "  # noqa: E501
          f"of {counts['not_digital_pos']}, wrongly flagged "
          f"{_pct(counts['not_digital_false'], counts['not_digital_neg'])} of "
          f"{counts['not_digital_neg']}; person {_pct(counts['human_hit'], counts['human_pos'])}"
          f" of {counts['human_pos']}, wrongly heard "
          f"{_pct(counts['human_false'], counts['human_neg'])} of {counts['human_neg']}")
    return {key: float(value) for key, value in counts.items()}


def cross_validation(understanding: Understanding, flow: dict, folds: int) -> None:
    """K-fold over the flow's own examples: train on K-1 folds, route the rest."""
    rows = [(name, lang, text) for name, spec in flow["intents"].items()
            for lang, texts in (spec.get("examples") or {}).items() for text in texts]
    random.Random(7).shuffle(rows)
    confirm_below, reject_below = thresholds(flow)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for fold in range(folds):
        test = rows[fold::folds]
        held = {id(r) for r in test}
        intents: dict = {name: {**spec, "examples": defaultdict(list), "keywords": spec.get(
            "keywords", {})} for name, spec in flow["intents"].items()}
        for row in rows:
            if id(row) not in held:
                intents[row[0]]["examples"][row[1]].append(row[2])
        fold_flow = {**flow, "intents": {k: {**v, "examples": dict(v["examples"])}
                                         for k, v in intents.items()}}
        for name, lang, text in test:
            result = understanding.classify(fold_flow, text, lang)
            decision = decide(result, confirm_below, reject_below)
            total = totals[lang]
            total[0] += 1
            total[1] += decision != "reject" and result.intent == name
            total[2] += decision == "accept" and result.intent != name
    for lang, (n, right, wrong) in sorted(totals.items()):
        print(f"cross-validation ({folds} folds) {lang}: n={n} understood {_pct(right, n)} "
              f"misroutes {_pct(wrong, n)}")


CUE_SWEEP = (0.35, 0.4, 0.45, 0.5, 0.55)
"""Thresholds the cue cross-validation reports (the shipped one is among them)."""


def cue_cross_validation(understanding: Understanding, flow: dict, folds: int) -> None:
    """K-fold over the cue examples (speech/data/cues.yaml), guards and rules included:
    how the shipped thresholds were chosen."""
    from speech.cue_model import BOTH, KINDS, CueDetector, load_examples

    encoder = understanding.encoder
    if encoder is None:
        print("cue cross-validation needs the sentence encoder")
        return
    ordinary = [(str(e), lang) for spec in flow["intents"].values()
                for lang, texts in (spec.get("examples") or {}).items() for e in texts]
    rows = [(lang, kind, text) for lang, sets in load_examples().items()
            for kind, texts in sets.items() for text in texts]
    random.Random(3).shuffle(rows)
    counts: dict[tuple[str, str, float, str], int] = defaultdict(int)
    for fold in range(folds):
        test = rows[fold::folds]
        held = {id(r) for r in test}
        train: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for row in rows:
            if id(row) not in held:
                train[row[0]][row[1]].append(row[2])
        detector = CueDetector.train(encoder, train, ordinary)
        for lang, kind, text in test:
            for threshold in CUE_SWEEP:  # the same text again: the encoder's cache answers
                detector.thresholds = {"not_digital": threshold, "human": threshold}
                found = detector.detect(text, lang)
                for cue in KINDS:
                    positive = kind in (cue, BOTH)
                    counts[(lang, cue, threshold, "pos" if positive else "neg")] += 1
                    counts[(lang, cue, threshold, "hit" if positive else "false")] += (
                        found[cue] is not None)
    for lang in LANGS:
        for cue in ("not_digital", "human"):
            sweep = "  ".join(
                f"{t:.2f}: {_pct(counts[(lang, cue, t, 'hit')], counts[(lang, cue, t, 'pos')])}"
                f" / {_pct(counts[(lang, cue, t, 'false')], counts[(lang, cue, t, 'neg')])}"
                for t in CUE_SWEEP)
            print(f"cue cross-validation ({folds} folds) {lang} {cue}, threshold: found / false"
                  f" -> {sweep}")


def timing(understanding: Understanding, flow: dict) -> None:
    """Per-utterance cost of intent + cues on fresh utterances (as a webhook pays it).

    Wall time depends on what else the machine runs; the thread's CPU time does not (the
    encoder works on one thread), so both are printed, with the load average."""
    texts = [(c["text"], c["lang"]) for lang in LANGS
             for c in load_cases(EVAL / "dev" / f"intents_{lang}.yaml")]
    understanding.classify(flow, "warm up", "it")
    understanding.cues(flow, "warm up", "it")
    wall, cpu = [], []
    for text, lang in texts:
        encoder = understanding.encoder
        if encoder is not None and hasattr(encoder, "clear_recent"):
            encoder.clear_recent()  # as a webhook meets it: never heard before
        started, started_cpu = time.perf_counter(), time.thread_time()
        understanding.classify(flow, text, lang)
        understanding.cues(flow, text, lang)
        wall.append(time.perf_counter() - started)
        cpu.append(time.thread_time() - started_cpu)
    for name, runs in (("wall", wall), ("CPU", cpu)):
        runs.sort()
        print(f"intent + cues per utterance, {name} (n={len(runs)}, cold cache): median "
              f"{statistics.median(runs) * 1000:.1f} ms, p95 "
              f"{runs[int(len(runs) * 0.95)] * 1000:.1f} ms, max {runs[-1] * 1000:.1f} ms")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


def main(argv: list[str] | None = None) -> int:
    """Figures per set and language; see the module docstring for the flags."""
    parser = argparse.ArgumentParser(prog="python -m bench.understanding")
    parser.add_argument("--set", default="both",
                        choices=["dev", "dev2", "heldout", "blind", "blind2", "blind3",
                                 "blind4", "blind5", "both", "all"],
                        help="both = dev + heldout; all = dev + heldout + blind")
    parser.add_argument("--flow", default=str(FLOW), help="flow document (default: main)")
    parser.add_argument("--lexical", action="store_true",
                        help="the lexical model and the rules only (no sentence encoder)")
    parser.add_argument("--precision", default="auto", choices=["auto", "int8", "float32"],
                        help="the sentence encoder's arithmetic (speech.e5_engine)")
    parser.add_argument("--cv", type=int, default=0, help="K-fold cross-validation")
    parser.add_argument("--cue-cv", type=int, default=0,
                        help="K-fold cross-validation of the cue detectors")
    parser.add_argument("--timing", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every error")
    args = parser.parse_args(argv)
    if args.verbose and (args.set.startswith("blind") or args.set == "all"):
        parser.error("the blind sets are only ever run for totals (no -v)")
    flow = yaml.safe_load(Path(args.flow).read_text(encoding="utf-8"))
    understanding = Understanding(shared_encoder(precision=args.precision),
                                  semantic=not args.lexical)
    if not args.lexical:
        print(f"encoder: {shared_encoder().model_id}")
    sets = {"both": ["dev", "heldout"], "all": ["dev", "heldout", "blind"]}.get(
        args.set, [args.set])
    for which in sets:
        print(f"--- {which} ({'lexical' if args.lexical else 'lexical + semantic'}) ---")
        for lang in LANGS:
            path = EVAL / which / f"intents_{lang}.yaml"
            if path.exists():
                report = evaluate_cases(flow, load_cases(path), understanding=understanding)
                print_intents(report, str(path.relative_to(ROOT)), args.verbose)
        for lang in LANGS:
            path = EVAL / which / f"cues_{lang}.yaml"
            if path.exists():
                cue_figures(understanding, flow, path, args.verbose)
    if args.cv:
        cross_validation(understanding, flow, args.cv)
    if args.cue_cv:
        cue_cross_validation(understanding, flow, args.cue_cv)
    if args.timing:
        timing(understanding, flow)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
