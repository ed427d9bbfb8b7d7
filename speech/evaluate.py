"""`python -m speech evaluate FLOW CASES`: how well a flow's intents route real phrasings.

Admins run it before publishing a flow (the admin console calls `evaluate_cases`).
Cases are YAML (a list, or a mapping with `cases:`) or CSV with columns `text`, `lang`,
`expected` (an intent name or "none"); a case may give `audio` (a WAV path) instead of
text, which then goes through the real recogniser with the flow's phrase list.

Each case is decided with the flow's thresholds: accepted (confidence >= confirm_below),
confirmed ("You need help with X, is that right?") or rejected (below reject_below: the
caller is asked again or offered a human). The report gives accuracy, a confusion table,
the misroute rate (a wrong intent accepted without confirmation) and the safe-fallback
rate (confirmation asked or human offered).
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from speech.understanding import Understanding, decide, flow_languages, thresholds

NONE = "none"
Transcriber = Callable[[str, str, list[str]], str]
"""(audio path, lang, phrases) -> transcript."""


@dataclass(frozen=True)
class CaseResult:
    """One labelled case and what the hotline would do with it."""

    text: str
    lang: str
    expected: str
    predicted: str
    confidence: float
    decision: str  # "accept" | "confirm" | "reject"
    outcome: str  # "correct" | "misroute" | "fallback"
    top_intent: str | None = None  # the classifier's best guess, before thresholds


@dataclass
class EvaluationReport:
    """Figures for a set of cases under one flow's thresholds."""

    confirm_below: float
    reject_below: float
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Number of cases."""
        return len(self.cases)

    def _rate(self, count: int) -> float:
        return count / self.total if self.total else 0.0

    @property
    def accuracy(self) -> float:
        """Share of cases whose routed label (intent, or none when rejected) is right."""
        return self._rate(sum(c.predicted == c.expected for c in self.cases))

    @property
    def misroute_rate(self) -> float:
        """Share of cases where a wrong intent was accepted without confirmation."""
        return self._rate(sum(c.outcome == "misroute" for c in self.cases))

    @property
    def safe_fallback_rate(self) -> float:
        """Share of cases where the caller was asked to confirm or offered a human."""
        return self._rate(sum(c.decision != "accept" for c in self.cases))

    @property
    def confusion(self) -> dict[str, dict[str, int]]:
        """expected -> predicted -> count."""
        table: dict[str, dict[str, int]] = {}
        for case in self.cases:
            row = table.setdefault(case.expected, {})
            row[case.predicted] = row.get(case.predicted, 0) + 1
        return table

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary with every case."""
        return {"total": self.total, "accuracy": round(self.accuracy, 4),
                "misroute_rate": round(self.misroute_rate, 4),
                "safe_fallback_rate": round(self.safe_fallback_rate, 4),
                "confirm_below": self.confirm_below, "reject_below": self.reject_below,
                "confusion": self.confusion, "cases": [asdict(c) for c in self.cases]}

    def to_text(self) -> str:
        """Human-readable report: figures, confusion table, misroutes."""
        lines = [f"cases: {self.total}  accuracy: {self.accuracy:.1%}  "
                 f"misroutes: {self.misroute_rate:.1%}  "
                 f"safe fallbacks: {self.safe_fallback_rate:.1%}  "
                 f"(confirm below {self.confirm_below}, reject below {self.reject_below})",
                 ""]
        labels = sorted({c.expected for c in self.cases} | {c.predicted for c in self.cases})
        width = max([len(label) for label in labels] + [8])
        first = max(width, 14) + 2
        lines.append("expected \\ got".ljust(first) + " ".join(
            label[:width].rjust(width) for label in labels))
        for expected in labels:
            row = self.confusion.get(expected, {})
            if row:
                lines.append(expected.ljust(first) + " ".join(
                    str(row.get(label, 0)).rjust(width) for label in labels))
        wrong = [c for c in self.cases if c.outcome == "misroute"]
        if wrong:
            lines += ["", "misroutes (accepted without confirmation):"]
            lines += [f"  [{c.lang}] {c.text!r}: expected {c.expected}, got {c.predicted} "
                      f"({c.confidence:.2f})" for c in wrong]
        return "\n".join(lines)


def load_cases(path: str | Path) -> list[dict[str, str]]:
    """Cases from a YAML or CSV file; `audio` paths are made relative to the file."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            rows: list[dict[str, str]] = [dict(row) for row in csv.DictReader(handle)]
    else:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        rows = list(data.get("cases", []) if isinstance(data, Mapping) else data or [])
    for row in rows:
        if row.get("audio") and not Path(row["audio"]).is_absolute():
            row["audio"] = str(path.parent / row["audio"])
    return rows


def evaluate_cases(flow_doc: Mapping, cases: Iterable[Mapping[str, str]], *,
                   understanding: Understanding | None = None,
                   transcribe: Transcriber | None = None) -> EvaluationReport:
    """Run labelled cases through the flow's intents and thresholds."""
    understanding = understanding or Understanding()
    confirm_below, reject_below = thresholds(flow_doc)
    languages = flow_languages(flow_doc)
    report = EvaluationReport(confirm_below, reject_below)
    for case in cases:
        lang = str(case.get("lang") or (languages[0] if languages else "it"))
        text = str(case.get("text") or "")
        if case.get("audio"):
            if transcribe is None:
                raise ValueError("audio cases need a transcriber (speech models)")
            text = transcribe(str(case["audio"]), lang,
                              understanding.phrases(flow_doc, lang, "intent"))
        expected = str(case.get("expected") or NONE)
        result = understanding.classify(flow_doc, text, lang, languages)
        decision = decide(result, confirm_below, reject_below)
        predicted = result.intent if decision != "reject" and result.intent else NONE
        if decision == "accept":
            outcome = "correct" if predicted == expected else "misroute"
        else:
            outcome = "correct" if decision == "reject" and expected == NONE else "fallback"
        report.cases.append(CaseResult(text, lang, expected, predicted,
                                       round(result.confidence, 4), decision, outcome,
                                       result.intent))
    return report


def _recogniser_transcriber(config: Mapping[str, Any]) -> Transcriber:
    """Transcriber backed by the real Vosk models (imported only when audio is used)."""
    from speech.models import ModelRegistry
    from speech.transcribe import transcribe_file

    registry = ModelRegistry.from_config(config)

    def transcribe(path: str, lang: str, phrases: list[str]) -> str:
        return transcribe_file(path, lang, registry, phrases).text

    return transcribe


def main(argv: list[str]) -> int:
    """Command line: `python -m speech evaluate FLOW CASES [--json]`; 0 on success."""
    parser = argparse.ArgumentParser(prog="python -m speech evaluate",
                                     description="Evaluate a flow's intents on labelled cases.")
    parser.add_argument("flow", help="flow document (YAML) with an `intents` section")
    parser.add_argument("cases", help="labelled cases (YAML or CSV)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--max-misroute", type=float, default=None,
                        help="exit 1 when the misroute rate is above this share")
    args = parser.parse_args(argv)
    flow_doc = yaml.safe_load(Path(args.flow).read_text(encoding="utf-8")) or {}
    cases = load_cases(args.cases)
    transcribe = _recogniser_transcriber({}) if any(c.get("audio") for c in cases) else None
    report = evaluate_cases(flow_doc, cases, transcribe=transcribe)
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) if args.json
          else report.to_text())
    if args.max_misroute is not None and report.misroute_rate > args.max_misroute:
        return 1
    return 0
