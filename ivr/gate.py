"""The evaluation gate: a flow's test cases run on a draft and on the published version.

Audio cases go through the real recogniser with each version's own phrase list (the
draft's examples are what the hotline would listen for), so a draft can win or lose on
recordings too. The gate passes when the draft is at least as accurate as the published
version and misroutes no more; otherwise an admin may still publish, knowingly.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ivr.admin_models import FlowTestCase
from speech.evaluate import EvaluationReport, evaluate_cases
from speech.understanding import Understanding


@dataclass
class GateResult:
    """Draft and published reports side by side, and whether the draft may go out."""

    draft: EvaluationReport
    current: EvaluationReport | None

    @property
    def passed(self) -> bool:
        """True when the draft is no worse than the published version on the cases."""
        if self.current is None:
            return self.draft.misroute_rate == 0.0
        return (self.draft.accuracy >= self.current.accuracy
                and self.draft.misroute_rate <= self.current.misroute_rate)

    def changed(self) -> list[dict[str, Any]]:
        """Cases whose routed intent differs between the published version and the draft."""
        if self.current is None:
            return []
        rows = []
        for new, old in zip(self.draft.cases, self.current.cases, strict=True):
            if new.predicted != old.predicted or new.outcome != old.outcome:
                rows.append({"text": new.text, "lang": new.lang, "expected": new.expected,
                             "before": old.predicted, "before_outcome": old.outcome,
                             "after": new.predicted, "after_outcome": new.outcome})
        return rows


def _case_rows(cases: Iterable[FlowTestCase], folder: Path) -> list[dict[str, str]]:
    rows = []
    for case in cases:
        row = {"lang": case.lang, "expected": case.expected, "text": case.text or ""}
        if case.audio is not None:
            path = folder / f"case-{case.id}.wav"
            path.write_bytes(case.audio)
            row["audio"] = str(path)
        rows.append(row)
    return rows


def run_cases(document: Mapping[str, Any], cases: list[FlowTestCase], models: Any,
              understanding: Understanding | None = None) -> EvaluationReport:
    """Evaluate one flow document on stored cases (audio through `models`' recognisers)."""
    from speech.transcribe import transcribe_file

    def transcribe(path: str, lang: str, phrases: list[str]) -> str:
        return transcribe_file(path, lang, models, phrases).text

    with tempfile.TemporaryDirectory(prefix="flow-cases-") as folder:
        rows = _case_rows(cases, Path(folder))
        return evaluate_cases(document, rows, understanding=understanding,
                              transcribe=transcribe if models is not None else None)


def run_gate(draft: Mapping[str, Any], current: Mapping[str, Any] | None,
             cases: list[FlowTestCase], models: Any,
             understanding: Understanding | None = None) -> GateResult:
    """Run the cases on the draft and (when there is one) on the published document."""
    return GateResult(run_cases(draft, cases, models, understanding),
                      run_cases(current, cases, models, understanding)
                      if current is not None else None)
