"""Callback times benchmark: how often the caller's words give the expected window.

Run: `python -m bench.times [dev|dev2|heldout|blind4 ...]` (all but blind4 by default).
Cases live in tests/data/eval/{dev,heldout}/times.yaml, dev/times2.yaml and
blind4/times.yaml (format and window conventions at the top of each file); dev2 and blind4
were written in session 7 by two writers who had only the conventions, not the parser;
blind4 prints its totals only. A case is right when the window's local start and end match
to the minute, or when both the expectation and the result are "no window" (the hotline
asks again). Figures go to docs/benchmarks.md ("Callback times"); the dev sets are also a
test with a floor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from core.hours import OpeningHours
from speech.timeparse import parse_callback_time

ROOT = Path(__file__).resolve().parents[1]
SETS = {"dev": ROOT / "tests/data/eval/dev/times.yaml",
        "dev2": ROOT / "tests/data/eval/dev/times2.yaml",
        "heldout": ROOT / "tests/data/eval/heldout/times.yaml",
        "blind4": ROOT / "tests/data/eval/blind4/times.yaml"}
BLIND = {"blind4"}
"""Sets run for totals only: written by someone who read nothing of the parser, never tuned
on, their failures never printed."""
MINUTE = "%Y-%m-%dT%H:%M"


@dataclass(frozen=True)
class TimeCase:
    """One labelled utterance: what was said, when, and the window it should give."""

    now: str
    tz: str
    lang: str
    text: str
    expected: tuple[str, str] | None


@dataclass(frozen=True)
class TimeResult:
    """A case and the window the parser gave (local start and end, or None)."""

    case: TimeCase
    got: tuple[str, str] | None

    @property
    def right(self) -> bool:
        """Whether the parser gave the expected window (or rightly gave none)."""
        return self.got == self.case.expected


def load_cases(path: Path) -> tuple[Mapping[str, Any], list[TimeCase]]:
    """The opening-hours settings and the cases of one YAML case file."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    cases = []
    for item in doc["cases"]:
        expected = item.get("expected")
        cases.append(TimeCase(
            str(item["now"]), str(item.get("tz", "Europe/Rome")), str(item["lang"]),
            str(item.get("text") or ""),
            (str(expected["start"]), str(expected["end"])) if expected else None))
    return doc.get("hours") or {}, cases


def run_case(case: TimeCase, settings: Mapping[str, Any]) -> TimeResult:
    """Parse one case with the centre's hours read in the case's own zone."""
    zone = ZoneInfo(case.tz)
    hours = OpeningHours.from_settings({**settings, "timezone": case.tz})
    now = datetime.fromisoformat(case.now).replace(tzinfo=zone)
    window = parse_callback_time(case.text, case.lang, now, hours, tz=case.tz)
    got = None if window is None else (window.start.astimezone(zone).strftime(MINUTE),
                                       window.end.astimezone(zone).strftime(MINUTE))
    return TimeResult(case, got)


def evaluate(path: Path) -> list[TimeResult]:
    """Every case of a file, parsed."""
    settings, cases = load_cases(path)
    return [run_case(case, settings) for case in cases]


def accuracy(results: list[TimeResult]) -> float:
    """Share of cases given the expected window."""
    return sum(r.right for r in results) / len(results) if results else 0.0


def main(argv: list[str] | None = None) -> int:
    """Accuracy per set, then every failure with what was expected and what came out."""
    names = list(argv or [name for name in SETS if name not in BLIND])
    for name in names:
        results = evaluate(SETS[name])
        by_lang = {lang: [r for r in results if r.case.lang == lang]
                   for lang in sorted({r.case.lang for r in results})}
        split = ", ".join(f"{lang} {accuracy(rs):.1%} of {len(rs)}"
                          for lang, rs in by_lang.items())
        right = sum(r.right for r in results)
        print(f"{name}: {right}/{len(results)} = {accuracy(results):.1%} ({split})")
        for result in results:
            if not result.right and name not in BLIND:
                case = result.case
                print(f"  FAIL [{case.lang}] {case.text!r} now {case.now} {case.tz}: "
                      f"expected {case.expected} got {result.got}")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
