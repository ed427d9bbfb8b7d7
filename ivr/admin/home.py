"""The admin's landing page: what needs attention now.

Callers' words the hotline misunderstood (still on the tuning list), the test cases the
published version gets wrong, and how often the callback promise was kept, over the last
7 days. Failing cases come from test calls (the gate's engine) and are remembered per
published version and set of cases, so the page is quick after the first visit.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, render_template
from sqlalchemy import func, select

from core.auth import login_required
from ivr import analytics, versions
from ivr.admin import tuning
from ivr.admin.context import now, session, speech_models, test_call_runner, timezone
from ivr.admin.gate import run_cases
from ivr.admin.models import FlowTestCase
from ivr.models import Flow, FlowVersion
from speech.evaluate import CaseResult

DAYS = 7
_FAILING: dict[tuple[int, int, int], list[CaseResult]] = {}


def failing_cases(flow: Flow, version: FlowVersion) -> tuple[int, list[CaseResult]]:
    """(number of cases, the cases the published version gets wrong)."""
    count, newest = session().execute(select(func.count(), func.max(FlowTestCase.id)).where(
        FlowTestCase.flow_id == flow.id)).one()
    if not count:
        return 0, []
    key = (version.id, int(count), int(newest or 0))
    if key not in _FAILING:
        cases = list(session().scalars(select(FlowTestCase).where(
            FlowTestCase.flow_id == flow.id).order_by(FlowTestCase.id)))
        report = run_cases(version, cases, test_call_runner(), speech_models(),
                           current_app.extensions.get("understanding"),
                           results=current_app.extensions["admin_case_results"], when=now())
        if len(_FAILING) > 32:
            _FAILING.clear()
        _FAILING[key] = [c for c in report.cases if c.outcome != "correct"]
    return int(count), _FAILING[key]


@login_required("admin")
def home() -> Any:
    """/admin: misunderstood phrases, failing test cases and the promise-kept rate."""
    end = now() + timedelta(seconds=1)
    start = end - timedelta(days=DAYS)
    words = tuning.still_open(session(), analytics.tuning_candidates(session(), start, end))
    callbacks = analytics.callbacks_by_class(session(), start, end)
    kept = sum(row["kept"] for row in callbacks.values())
    broken = sum(row["broken"] for row in callbacks.values())
    flows = []
    for flow in session().scalars(select(Flow).order_by(Flow.key)):
        live = versions.published(session(), flow)
        total, failing = failing_cases(flow, live) if live is not None else (0, [])
        flows.append({"flow": flow, "live": live, "draft": versions.working_draft(session(),
                                                                                  flow),
                      "total": total, "failing": failing})
    return render_template("admin/home.html", days=DAYS, words=words, flows=flows,
                           kept=kept, broken=broken,
                           kept_rate=kept / (kept + broken) if kept + broken else None,
                           timezone=timezone())


def register(bp: Blueprint) -> None:
    """Add the landing page to the admin blueprint."""
    bp.get("/")(home)
