"""The evaluation gate off the request: one run per (draft, published version, cases),
on a thread of the web process, with progress the review page polls.

Why a thread and not an RQ job: the gate's test calls need the web process's warm
understanding models (a worker would train its own first, ~30 s per flow) and its
results only matter to the admin looking at the page; the database stays the truth for
what is published. A run is keyed by what decides its outcome (draft and published
checksums, the cases' ids), so reloading the review page or publishing right after it
reuses the run instead of starting another. Runs live in this process only: after a
restart, or on another worker process, the gate is run again (the app's case results,
`ivr.admin.gate.CaseResults`, are per process too: at worst the same cost once).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import select

from ivr.admin.gate import GateResult, run_gate
from ivr.admin.models import FlowTestCase
from ivr.models import FlowVersion

log = logging.getLogger(__name__)
RunKey = tuple[int, str, str, str]
"""(draft id, draft checksum, published checksum or "", digest of the cases' ids)."""
KEEP_FINISHED = 16


@dataclass
class GateRun:
    """One gate run: how far it got, and its result or the error that stopped it."""

    key: RunKey
    total: int
    done: int = 0
    result: GateResult | None = None
    error: str | None = None
    finished: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)

    def step(self, count: int) -> None:
        """One more case finished (the progress bar's step)."""
        self.done += count

    def wait(self, seconds: float) -> bool:
        """Wait up to `seconds` for the run to finish; True when it has."""
        return self.finished.wait(max(seconds, 0.0))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready progress."""
        return {"done": self.done, "total": self.total, "finished": self.finished.is_set(),
                "error": self.error, "seconds": round(time.monotonic() - self.started, 1)}


def run_key(draft: FlowVersion, current: FlowVersion | None, case_ids: list[int]) -> RunKey:
    """What a run's outcome depends on (the case results cache sees to the rest)."""
    ids = hashlib.sha256(",".join(map(str, case_ids)).encode()).hexdigest()[:16]
    return (draft.id, draft.checksum, current.checksum if current is not None else "", ids)


class GateRuns:
    """The gate runs of this process: started on demand, kept a while once finished."""

    def __init__(self) -> None:
        self._runs: dict[RunKey, GateRun] = {}
        self._lock = threading.Lock()

    def find(self, key: RunKey) -> GateRun | None:
        """The run for `key`, running or finished, if there is one."""
        with self._lock:
            return self._runs.get(key)

    def start(self, app: Flask, draft: FlowVersion, current: FlowVersion | None,
              cases: list[FlowTestCase],
              make_runner: Callable[[], Any]) -> GateRun:
        """The run for these versions and cases: the one already there, or a new one on
        a thread (`make_runner` builds the test-call runner inside the app context)."""
        key = run_key(draft, current, [c.id for c in cases])
        with self._lock:
            found = self._runs.get(key)
            if found is not None and not (found.finished.is_set() and found.error):
                return found
            run = GateRun(key, total=len(cases) * (2 if current is not None else 1))
            self._runs[key] = run
            self._forget_old()
        ids = (draft.id, current.id if current is not None else None, [c.id for c in cases])
        threading.Thread(target=_work, args=(app, run, ids, make_runner),
                         name=f"gate-{draft.id}", daemon=True).start()
        return run

    def _forget_old(self) -> None:
        finished = [k for k, r in self._runs.items() if r.finished.is_set()]
        for key in finished[:max(len(finished) - KEEP_FINISHED, 0)]:
            del self._runs[key]


def _work(app: Flask, run: GateRun, ids: tuple[int, int | None, list[int]],
          make_runner: Callable[[], Any]) -> None:
    """The thread: load the versions and cases in a session of its own, run the gate."""
    draft_id, current_id, case_ids = ids
    with app.app_context():
        session = app.extensions["db"].session_factory()
        try:
            draft = session.get(FlowVersion, draft_id)
            current = session.get(FlowVersion, current_id) if current_id else None
            wanted = set(case_ids)
            cases = [c for c in session.scalars(select(FlowTestCase).where(
                FlowTestCase.id.in_(wanted)).order_by(FlowTestCase.id))]
            if draft is None or len(cases) != len(wanted):
                raise ValueError("the draft or its test cases changed during the run")
            run.result = run_gate(draft, current, cases, make_runner(),
                                  app.extensions.get("speech"),
                                  app.extensions.get("understanding"),
                                  results=app.extensions["admin_case_results"],
                                  progress=run.step, when=app.extensions["clock"].now())
            log.info("gate for version %s: %d cases in %.1f s", draft_id, run.total,
                     time.monotonic() - run.started)
        except Exception as exc:  # a missing model or undecodable audio: shown on the page
            log.warning("evaluation of version %s failed: %s", draft_id, exc)
            run.error = str(exc) or type(exc).__name__
        finally:
            session.rollback()
            session.close()
            run.finished.set()
