"""Admin pages about real calls: analytics with the tuning loop, and callers' profiles.

"Add as example" turns a caller's words from the analytics page into a new example of an
intent in the flow's working draft (`ivr.versions.add_example`); the admin then reviews
and publishes the draft as usual.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from callbacks import profiles_csv
from core.auth import login_required
from ivr import analytics, versions
from ivr.admin import tuning
from ivr.admin.context import flow_or_404, now, session, timezone, who
from ivr.admin.models import TuningDecision
from ivr.models import Call, CallEvent, Flow, FlowVersion

MAX_CSV_BYTES = 5 * 1024 * 1024


def _period() -> tuple[datetime, datetime, int]:
    days = max(1, min(request.args.get("days", default=30, type=int) or 30, 366))
    end = now() + timedelta(seconds=1)  # periods are [start, end): include this moment
    return end - timedelta(days=days), end, days


@login_required("admin")
def analytics_page() -> Any:
    """Calls, outcomes, time to a human, callbacks, intents, confidence, tuning candidates."""
    start, end, days = _period()
    data = analytics.report(session(), start, end, timezone())
    data["candidates"] = tuning.still_open(session(), data["candidates"])
    intents_by_flow = {flow.key: sorted(versions.current_document(session(), flow)
                                         .get("intents") or {})
                       for flow in session().scalars(select(Flow)) if flow.versions}
    charts = {
        "per_day": analytics.bar_chart([(d.strftime("%d/%m"), n) for d, n in data["per_day"]]),
        "intents": analytics.bar_chart(data["intents"][:12]),
        "confidence": analytics.bar_chart(data["confidence"]),
        "outcomes": analytics.bar_chart(list(data["outcomes"].items()), width=420),
    }
    return render_template("admin/analytics.html", data=data, charts=charts, days=days,
                           intents_by_flow=intents_by_flow,
                           added=_just_added(request.args.get("added", type=int)))


def _just_added(decision_id: int | None) -> dict[str, str] | None:
    """The words just added as an example, to show them highlighted at the top."""
    row = session().execute(
        select(TuningDecision.intent, CallEvent.words, Call.language, Flow.key)
        .join(CallEvent, TuningDecision.event_id == CallEvent.id)
        .join(Call, CallEvent.call_id == Call.id)
        .join(FlowVersion, Call.flow_version_id == FlowVersion.id)
        .join(Flow, FlowVersion.flow_id == Flow.id)
        .where(TuningDecision.id == (decision_id or 0))).first()
    if row is None:
        return None
    return {"intent": row[0] or "", "words": row[1] or "", "lang": row[2], "flow": row[3]}



@login_required("admin")
def add_example(key: str) -> Any:
    """The tuning loop: add a caller's words as an example of the intent the admin chose
    (a new draft); the words leave the list and are shown at the top, highlighted."""
    flow = flow_or_404(key)
    intent = request.form.get("intent", "")
    try:
        event = tuning.record(session(), request.form.get("event", type=int) or 0, "added",
                              by=who(), now=now(), intent=intent)
        versions.add_example(session(), flow, intent, request.form.get("lang", ""),
                             event.words or "", note=f"example added by {who()}")
    except (versions.VersionError, ValueError, LookupError):
        session().rollback()
        flash("admin.example_refused")
        return redirect(url_for("admin.analytics"), code=303)
    session().commit()
    flash("admin.example_added")
    decision = session().scalar(select(TuningDecision).where(
        TuningDecision.event_id == event.id))
    return redirect(url_for("admin.analytics", added=decision.id if decision else None,
                            _anchor="candidates"), code=303)


@login_required("admin")
def ignore_words(key: str) -> Any:
    """The tuning loop: these words teach nothing (noise, off topic); take them off the
    list."""
    flow_or_404(key)
    try:
        tuning.record(session(), request.form.get("event", type=int) or 0, "ignored",
                      by=who(), now=now())
    except LookupError:
        session().rollback()
        return redirect(url_for("admin.analytics"), code=303)
    session().commit()
    flash("admin.words_ignored")
    return redirect(url_for("admin.analytics", _anchor="candidates"), code=303)


@login_required("admin")
def profiles() -> Any:
    """Callers' digital profiles: CSV import/export and what the inference rules did."""
    start, end, days = _period()
    return render_template("admin/profiles.html", days=days,
                           effects=profiles_csv.rule_effects(session(), start, end),
                           flags=profiles_csv.flag_counts(session()))


@login_required("admin")
def export_profiles() -> Response:
    """Download every caller's number, not-digital flag and reason as CSV."""
    return Response(profiles_csv.export_csv(session()), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=profiles.csv"})


@login_required("admin")
def import_profiles() -> Any:
    """Upload a CSV of callers' profiles (number, not_digital, reason)."""
    upload = request.files.get("file")
    data = upload.read(MAX_CSV_BYTES + 1) if upload is not None else b""
    if not data or len(data) > MAX_CSV_BYTES:
        flash("admin.csv_invalid")
        return redirect(url_for("admin.profiles"), code=303)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    result = profiles_csv.import_csv(session(), text, actor=f"user:{g.user.id}", now=now())
    session().commit()
    start, end, days = _period()
    return render_template("admin/profiles.html", days=days, result=result,
                           effects=profiles_csv.rule_effects(session(), start, end),
                           flags=profiles_csv.flag_counts(session()))


def register(bp: Blueprint) -> None:
    """Add this module's pages to the admin blueprint."""
    bp.get("/analytics", endpoint="analytics")(analytics_page)
    bp.post("/flows/<key>/examples")(add_example)
    bp.post("/flows/<key>/examples/ignore")(ignore_words)
    bp.get("/profiles")(profiles)
    bp.get("/profiles.csv")(export_profiles)
    bp.post("/profiles/import")(import_profiles)
