"""The evaluation gate: a flow's test cases run on a draft and on the published version.

Each case is a test call through the live engine (`ivr.admin.testcall`): its words answer
the flow's first question, and what the engine decides there (accept, confirm, ask again)
is the case's result, so the gate measures what callers get. Audio cases go through the
real recogniser with each version's own phrase list (the draft's examples are what the
hotline would listen for), so a draft can win or lose on recordings too. The gate passes
when the draft is at least as accurate as the published version and misroutes no more;
otherwise an admin may still publish, knowingly.

Most of a gate's time is the sentence encoder (~30 ms per new sentence, measured in
bench/admin_gate.py; batching does not make it cheaper), so an app keeps results per
(version checksum, quarter hour, language, words, expected intent) in a `CaseResults`:
an unchanged draft, the published version and the cases of an earlier run are not run
again. The quarter hour is in the key because a flow that checks opening hours answers
differently at other times. `ivr.admin.gate_runs` runs the gate off the request.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ivr.admin.models import FlowTestCase
from ivr.admin.testcall import CallRunner, TestCall
from ivr.models import FlowVersion
from speech.evaluate import NONE, CaseResult, EvaluationReport
from speech.understanding import Understanding, thresholds


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

    def per(self, by: str) -> list[dict[str, Any]]:
        """Draft and published figures side by side per intent (`expected`) or per `lang`."""
        current = {row["key"]: row for row in breakdown(self.current, by)} \
            if self.current is not None else {}
        return [{"key": row["key"], "draft": row, "current": current.get(row["key"])}
                for row in breakdown(self.draft, by)]

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


CaseKey = tuple[str, str, str, str, str]
"""(version checksum, quarter hour, language, words or "audio:<case id>", expected)."""


class CaseResults:
    """Case results already computed, for `ttl_seconds`, at most `size` of them (oldest
    out first). Shared by the request threads and the gate's background runs."""

    def __init__(self, ttl_seconds: float = 3600.0, size: int = 50_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds, self.size, self._clock = ttl_seconds, size, clock
        self._found: OrderedDict[CaseKey, tuple[float, CaseResult]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: CaseKey) -> CaseResult | None:
        """The result kept for `key`, if it is recent enough."""
        with self._lock:
            found = self._found.get(key)
            if found is None or self._clock() - found[0] > self.ttl_seconds:
                return None
            return found[1]

    def put(self, key: CaseKey, result: CaseResult) -> None:
        """Keep a result (dropping the oldest beyond `size`)."""
        with self._lock:
            self._found[key] = (self._clock(), result)
            self._found.move_to_end(key)
            while len(self._found) > self.size:
                self._found.popitem(last=False)

    def clear(self) -> None:
        """Forget every result (the benchmark measures a cold gate)."""
        with self._lock:
            self._found.clear()


def case_key(version: FlowVersion, case: FlowTestCase, when: datetime | None) -> CaseKey:
    """What a case's result depends on: the version's content, the time of day (opening
    hours, to the quarter hour) and the case itself."""
    words = f"audio:{case.id}" if case.audio is not None else (case.text or "")
    slot = f"{when:%Y-%m-%d %H}:{when.minute // 15}" if when is not None else ""
    return (version.checksum, slot, case.lang, words, case.expected)


def _transcribe(case: FlowTestCase, document: Mapping[str, Any], models: Any,
                understanding: Understanding) -> str:
    """A recorded case's words, heard with this version's own phrase list."""
    from speech.transcribe import transcribe_file

    if models is None:
        raise ValueError("audio cases need a transcriber (speech models)")
    with tempfile.TemporaryDirectory(prefix="flow-cases-") as folder:
        path = Path(folder) / f"case-{case.id}.wav"
        path.write_bytes(case.audio or b"")
        phrases = understanding.phrases(document, case.lang, "intent")
        return transcribe_file(str(path), case.lang, models, phrases).text


def case_result(case: FlowTestCase, text: str, call: TestCall) -> CaseResult:
    """What the engine did with the case's words at the flow's first question."""
    answered = call.turns[1] if len(call.turns) > 1 else None
    decision = answered.decision if answered is not None else ""
    if decision in ("accept", "keypad", "emergency"):
        verdict = "accept"
    elif decision == "confirm":
        verdict = "confirm"
    else:  # asked again, a human asked for, or no question about the need
        verdict = "reject"
    predicted = (call.intent or NONE) if verdict != "reject" else NONE
    if verdict == "accept":
        outcome = "correct" if predicted == case.expected else "misroute"
    else:
        outcome = "correct" if verdict == "reject" and case.expected == NONE else "fallback"
    guess = answered.intent if answered is not None else None
    confidence = answered.confidence if answered is not None else None
    return CaseResult(text, case.lang, case.expected, predicted, float(confidence or 0.0),
                      verdict, outcome, guess)


Progress = Callable[[int], None]
"""Called with the number of cases just finished (a progress bar's step)."""


def run_cases(version: FlowVersion, cases: list[FlowTestCase], run: CallRunner,
              models: Any = None, understanding: Understanding | None = None,
              results: CaseResults | None = None, progress: Progress | None = None,
              when: datetime | None = None) -> EvaluationReport:
    """Each case as a test call on `version`: the case's words answer the first question.

    Cases with a result in `results` for this version at `when` (the test calls' time)
    are not run again (no `results`: every case runs).
    """
    understanding = understanding or Understanding()
    confirm_below, reject_below = thresholds(version.document)
    report = EvaluationReport(confirm_below, reject_below)
    for case in cases:
        key = case_key(version, case, when)
        result = results.get(key) if results is not None else None
        if result is None:
            text = (_transcribe(case, version.document, models, understanding)
                    if case.audio is not None else case.text or "")
            result = case_result(case, text, run(version, case.lang, [text]))
            if results is not None:
                results.put(key, result)
        report.cases.append(result)
        if progress is not None:
            progress(1)
    return report


def run_gate(draft: FlowVersion, current: FlowVersion | None, cases: list[FlowTestCase],
             run: CallRunner, models: Any = None,
             understanding: Understanding | None = None,
             results: CaseResults | None = None, progress: Progress | None = None,
             when: datetime | None = None) -> GateResult:
    """Run the cases on the draft and (when there is one) on the published version."""
    return GateResult(
        run_cases(draft, cases, run, models, understanding, results, progress, when),
        run_cases(current, cases, run, models, understanding, results, progress, when)
        if current is not None else None)


def breakdown(report: EvaluationReport, by: str) -> list[dict[str, Any]]:
    """Figures per intent (`by="expected"`) or per language (`by="lang"`)."""
    groups: dict[str, list[CaseResult]] = {}
    for case in report.cases:
        groups.setdefault(str(getattr(case, by)), []).append(case)
    rows = []
    for key in sorted(groups):
        found = groups[key]
        right = sum(c.predicted == c.expected for c in found)
        rows.append({"key": key, "total": len(found), "correct": right,
                     "accuracy": right / len(found),
                     "misroutes": sum(c.outcome == "misroute" for c in found),
                     "fallbacks": sum(c.outcome == "fallback" for c in found)})
    return rows
