"""The admin console for voice flows: edit (form or YAML), review, publish, history.

Thin views over `ivr.versions`, `ivr.validation`, `ivr.admin.forms` and `ivr.admin.gate`.
Test calls and test cases live in `ivr.admin.tryit`; analytics and callers' profiles in
`ivr.admin.insights`. Everything here needs the admin role.
"""

from __future__ import annotations

import logging
from typing import Any

import yaml
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select

from core.auth import login_required
from ivr import validation, versions
from ivr.admin.context import (
    flow_or_404,
    now,
    session,
    speech_models,
    test_call_runner,
    who,
)
from ivr.admin.edits import step_fields, step_types
from ivr.admin.form_fields import SHOWN, bounds, choices
from ivr.admin.forms import (
    KEYPAD_DIGITS,
    STEP_DEFAULTS,
    FormError,
    anchor_after,
    apply_form,
    problems_by_field,
)
from ivr.admin.gate import GateResult
from ivr.admin.gate_runs import GateRun, GateRuns, run_key
from ivr.admin.graph import flow_graph
from ivr.admin.models import FlowTestCase
from ivr.admin.starter import NewFlowRefused, create_flow
from ivr.flow_store import publish as publish_version
from ivr.flowdoc import DEFAULT_SETTINGS, FlowError
from ivr.models import Flow, FlowVersion

log = logging.getLogger(__name__)


def check(document: dict[str, Any]) -> list[validation.Problem]:
    """Validate a document with the app's speech models (vocabulary)."""
    return validation.validate(document, speech_models())


def _editor(flow: Flow, document: dict[str, Any], problems: list[validation.Problem],
            yaml_text: str | None = None, status: int = 200) -> Any:
    draft = versions.working_draft(session(), flow)
    return render_template(
        "admin/editor.html", flow=flow, doc=document, draft=draft,
        published=versions.published(session(), flow), problems=problems,
        by_field=problems_by_field(problems), lang=g.get("lang", "en"),
        yaml_text=yaml_text if yaml_text is not None else versions.canonical_yaml(document),
        tab=request.args.get("tab", "form") if yaml_text is None else "yaml",
        step_types=step_types(), step_fields=step_fields, keypad_digits=KEYPAD_DIGITS,
        bounds=bounds, choices=choices, defaults=DEFAULT_SETTINGS, step_defaults=STEP_DEFAULTS,
        shown=SHOWN, entered=request.form if status != 200 else {}), status


def _flows_page(refused: NewFlowRefused | None = None, status: int = 200) -> Any:
    rows = [(flow, versions.published(session(), flow), versions.working_draft(session(),
                                                                                  flow))
            for flow in session().scalars(select(Flow).order_by(Flow.key))]
    return render_template("admin/flows.html", rows=rows, refused=refused,
                           entered=request.form if refused is not None else {}), status


@login_required("admin")
def flows() -> Any:
    """Every flow with its published version and working draft, and a form for a new one."""
    return _flows_page()


@login_required("admin")
def new_flow() -> Any:
    """Start a flow from scratch (key, name, languages): its first draft, in the editor."""
    try:
        draft = create_flow(session(), request.form.get("key", ""),
                            request.form.get("name", ""), request.form.get("languages", ""))
    except NewFlowRefused as exc:
        session().rollback()
        return _flows_page(exc, 422)
    session().commit()
    key = draft.document["id"]
    log.info("flow %s created by %s", key, who())
    flash("admin.new_flow.created")
    return redirect(url_for("admin.editor", key=key), code=303)


@login_required("admin")
def editor(key: str) -> Any:
    """The flow editor on the working draft (or the published version, to start one)."""
    flow = flow_or_404(key)
    document = versions.current_document(session(), flow)
    return _editor(flow, document, check(document))


def _save(flow: Flow, document: dict[str, Any], note: str, yaml_text: str | None,
          anchor: str | None = None) -> Any:
    try:
        versions.save_draft(session(), flow, document, note=note)
    except FlowError as exc:
        session().rollback()
        problems = check(document) if isinstance(document.get("steps"), dict) else []
        return _editor(flow, document, problems or exc.problems, yaml_text, 422)
    except versions.VersionError as exc:
        session().rollback()
        problem = validation.Problem("id", "form", {"it": str(exc), "en": str(exc)})
        return _editor(flow, document, [problem], yaml_text, 422)
    session().commit()
    flash("admin.saved")
    return redirect(url_for("admin.editor", key=flow.key, _anchor=anchor,
                            tab="yaml" if yaml_text is not None else "form"), code=303)



@login_required("admin")
def save_form(key: str) -> Any:
    """Save the form editor's fields into the working draft."""
    flow = flow_or_404(key)
    current = versions.current_document(session(), flow)
    try:
        document = apply_form(current, request.form)
    except FormError as exc:
        return _editor(flow, exc.document or current, exc.problems, None, 422)
    return _save(flow, document, f"edited by {who()}", None, anchor_after(request.form, document))


@login_required("admin")
def save_yaml(key: str) -> Any:
    """Save the raw YAML document into the working draft."""
    flow = flow_or_404(key)
    text = request.form.get("document", "")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "YAML"
        problem = validation.Problem("(yaml)", "yaml", {"it": f"YAML non valido ({where}): "
                                     f"{exc}", "en": f"Invalid YAML ({where}): {exc}"})
        return _editor(flow, versions.current_document(session(), flow), [problem], text, 422)
    if not isinstance(document, dict):
        problem = validation.Problem("(yaml)", "yaml", {"it": "Il documento deve essere una "
                                     "mappa YAML", "en": "The document must be a YAML mapping"})
        return _editor(flow, versions.current_document(session(), flow), [problem], text, 422)
    problems = validation.schema_problems(document)
    if problems:
        return _editor(flow, versions.current_document(session(), flow), problems, text, 422)
    return _save(flow, document, f"YAML edited by {who()}", text)


# ---------------------------------------------------------------- publishing
def _cases(flow: Flow) -> list[FlowTestCase]:
    return list(session().scalars(select(FlowTestCase).where(FlowTestCase.flow_id == flow.id)
                                   .order_by(FlowTestCase.id)))


def _gate_run(flow: Flow, draft: FlowVersion) -> GateRun | None:
    """The gate run of the draft against the published version, started if need be and
    waited for a moment (ADMIN_GATE_WAIT_SECONDS) so a quick one shows at once; None when
    the flow has no test cases."""
    cases = _cases(flow)
    if not cases:
        return None
    runs: GateRuns = current_app.extensions["admin_gate_runs"]
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    run = runs.start(app, draft, versions.published(session(), flow), cases, test_call_runner)
    run.wait(float(current_app.config.get("ADMIN_GATE_WAIT_SECONDS", 3.0)))
    return run


def figures(gate: GateResult | None) -> str:
    """The gate's numbers in one line, kept in the note of a version published anyway."""
    if gate is None:
        return "no evaluation"
    text = f"accuracy {gate.draft.accuracy:.0%}, misroutes {gate.draft.misroute_rate:.0%}"
    if gate.current is not None:
        text += (f" (published: accuracy {gate.current.accuracy:.0%}, "
                 f"misroutes {gate.current.misroute_rate:.0%})")
    return text


@login_required("admin")
def graph(key: str) -> Any:
    """The flow drawn as a map: steps, labelled branches, dead ends and loops marked."""
    flow = flow_or_404(key)
    document = versions.current_document(session(), flow)
    lang = g.get("lang", "en")
    return render_template("admin/graph.html", flow=flow,
                           graph=flow_graph(document, lang if lang in document["languages"]
                                            else document["default_language"]),
                           draft=versions.working_draft(session(), flow))


@login_required("admin")
def review(key: str) -> Any:
    """Before publishing: the draft's problems and its test cases against the live version."""
    flow = flow_or_404(key)
    draft = versions.working_draft(session(), flow)
    if draft is None:
        flash("admin.no_draft")
        return redirect(url_for("admin.editor", key=key))
    problems = check(draft.document)
    run = _gate_run(flow, draft)
    pending = run is not None and not run.finished.is_set()
    return render_template("admin/publish.html", flow=flow, draft=draft,
                           current=versions.published(session(), flow), problems=problems,
                           blocking=validation.blocking(problems),
                           gate=run.result if run is not None else None,
                           gate_error=run.error if run is not None else None,
                           gate_run=run if pending else None, cases=_cases(flow),
                           lang=g.get("lang", "en"))


@login_required("admin")
def gate_progress(key: str) -> Any:
    """JSON: how far the draft's gate run has got (the review page polls it)."""
    flow = flow_or_404(key)
    draft = versions.working_draft(session(), flow)
    runs: GateRuns = current_app.extensions["admin_gate_runs"]
    case_ids = list(session().scalars(select(FlowTestCase.id).where(
        FlowTestCase.flow_id == flow.id).order_by(FlowTestCase.id)))
    run = runs.find(run_key(draft, versions.published(session(), flow), case_ids)) \
        if draft is not None and case_ids else None
    if run is None:
        return jsonify({"done": 0, "total": 0, "finished": True, "error": None})
    return jsonify(run.to_dict())


@login_required("admin")
def publish(key: str) -> Any:
    """Publish the reviewed draft; problems or a failing gate need "publish anyway"."""
    flow = flow_or_404(key)
    draft = versions.working_draft(session(), flow)
    if draft is None or draft.checksum != request.form.get("checksum"):
        flash("admin.draft_changed")
        return redirect(url_for("admin.review", key=key), code=303)
    problems = check(draft.document)
    if validation.blocking(problems):
        flash("admin.cannot_publish")
        return redirect(url_for("admin.review", key=key), code=303)
    run = _gate_run(flow, draft)
    if run is not None and not run.finished.is_set():
        flash("admin.gate_running")  # what would be published is not measured yet
        return redirect(url_for("admin.review", key=key), code=303)
    gate, gate_error = (run.result, run.error) if run is not None else (None, None)
    needs_consent = bool(gate_error) or (gate is not None and not gate.passed) or any(
        p.severity == "error" for p in problems)
    if needs_consent and request.form.get("anyway") != "yes":
        flash("admin.confirm_anyway")
        return redirect(url_for("admin.review", key=key), code=303)
    note = request.form.get("note", "").strip()
    if needs_consent:
        note = f"{note} [published anyway: {figures(gate)}]".strip()
    draft.note = note[:255] or draft.note
    publish_version(session(), draft, by=who(), now=now())
    session().commit()
    log.info("flow %s: version %s published by %s", key, draft.number, who())
    flash("admin.published")
    return redirect(url_for("admin.history", key=key), code=303)


# ---------------------------------------------------------------- history
@login_required("admin")
def history(key: str) -> Any:
    """Every version of the flow, with diff and rollback links."""
    flow = flow_or_404(key)
    return render_template("admin/versions.html", flow=flow,
                           versions=versions.versions(session(), flow))


@login_required("admin")
def diff(key: str) -> Any:
    """Line diff of two versions' canonical YAML (?a=<number>&b=<number>)."""
    flow = flow_or_404(key)
    try:
        old = versions.get_version(session(), flow, request.args.get("a", type=int) or 0)
        new = versions.get_version(session(), flow, request.args.get("b", type=int) or 0)
    except versions.VersionError:
        abort(404)
    return render_template("admin/diff.html", flow=flow, old=old, new=new,
                           lines=versions.diff(old, new))


@login_required("admin")
def confirm_rollback(key: str, number: int) -> Any:
    """Before a rollback: what callers hear now, what they will hear, and what changes."""
    flow = flow_or_404(key)
    try:
        old = versions.get_version(session(), flow, number)
    except versions.VersionError:
        abort(404)
    live = versions.published(session(), flow)
    return render_template("admin/rollback.html", flow=flow, old=old, live=live,
                           draft=versions.working_draft(session(), flow),
                           lines=versions.diff(live, old) if live is not None else [])


@login_required("admin")
def rollback(key: str, number: int) -> Any:
    """Publish a copy of an old version as the newest version (once confirmed)."""
    flow = flow_or_404(key)
    if request.form.get("confirm") != "yes":
        return redirect(url_for("admin.confirm_rollback", key=key, number=number), code=303)
    try:
        version = versions.rollback(session(), flow, number, by=who(), now=now())
    except (versions.VersionError, FlowError, ValueError) as exc:
        session().rollback()
        log.warning("rollback of %s to v%s refused: %s", key, number, exc)
        abort(409)
    session().commit()
    log.info("flow %s: rolled back to v%s as v%s by %s", key, number, version.number, who())
    flash("admin.rolled_back")
    return redirect(url_for("admin.history", key=key), code=303)


def register(bp: Blueprint) -> None:
    """Add this module's pages to the admin blueprint."""
    bp.get("/flows")(flows)
    bp.post("/flows")(new_flow)
    bp.get("/flows/<key>")(editor)
    bp.post("/flows/<key>/form")(save_form)
    bp.post("/flows/<key>/yaml")(save_yaml)
    bp.get("/flows/<key>/map")(graph)
    bp.get("/flows/<key>/publish")(review)
    bp.post("/flows/<key>/publish")(publish)
    bp.get("/flows/<key>/publish/gate")(gate_progress)
    bp.get("/flows/<key>/versions")(history)
    bp.get("/flows/<key>/diff")(diff)
    bp.get("/flows/<key>/versions/<int:number>/rollback")(confirm_rollback)
    bp.post("/flows/<key>/versions/<int:number>/rollback")(rollback)
