"""Test calls on a draft or any version, and keep the flow's test cases (text and recordings).

"Try it" is a test call in the browser through the live engine (`ivr.admin.testcall`): each
answer is typed, or a recording (a WAV captured in the browser, or an uploaded file: WAV,
raw mu-law, or anything sox decodes) transcribed with the real recogniser and the
version's phrase list; every turn shows the prompts, what was heard, the intent with its
confidence and the steps taken. It runs on the draft or any version, in any of its
languages.
"""

from __future__ import annotations

import io
import logging
import wave
from typing import Any

from flask import (
    Blueprint,
    Response,
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
from ivr import versions
from ivr.admin import cases as case_files
from ivr.admin.context import flow_or_404, now, session, test_call_runner, who
from ivr.admin.models import FlowTestCase
from ivr.admin.testcall import MAX_TURNS
from ivr.models import Flow, FlowVersion
from speech.models import ModelUnavailable
from speech.transcribe import UnsupportedAudio, decode_audio, transcribe_pcm
from speech.understanding import Understanding

log = logging.getLogger(__name__)
MAX_AUDIO_BYTES = 8 * 1024 * 1024
MAX_CASES_BYTES = 2 * 1024 * 1024


def _understanding() -> Understanding:
    found = current_app.extensions.get("understanding")
    return found if isinstance(found, Understanding) else Understanding()


def as_wav(pcm16: bytes, rate: int) -> bytes:
    """Mono 16-bit PCM as a WAV file."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm16)
    return buffer.getvalue()


def _upload() -> tuple[bytes, int] | None:
    """The request's audio file decoded to (pcm16, rate), or None when there is none."""
    upload = request.files.get("audio")
    if upload is None or not upload.filename:
        return None
    data = upload.read(MAX_AUDIO_BYTES + 1)
    if len(data) > MAX_AUDIO_BYTES:
        raise UnsupportedAudio("the recording is too long (8 MB at most)")
    kind = upload.mimetype or "application/octet-stream"
    if upload.filename.lower().endswith((".ulaw", ".raw", ".ul")):
        kind = "audio/basic"
    return decode_audio(data, kind)


def _version_to_try(flow: Flow, number: str | None) -> FlowVersion:
    """The version a test call runs on: the one asked for, else the draft, else the
    published version."""
    if number and number.isdigit():
        try:
            return versions.get_version(session(), flow, int(number))
        except versions.VersionError:
            abort(404)
    found = (versions.working_draft(session(), flow) or versions.published(session(), flow)
             or versions.versions(session(), flow)[-1])
    return found


@login_required("admin")
def try_page(key: str) -> Any:
    """A test call in the browser: type (or record) each answer and see what the engine does."""
    flow = flow_or_404(key)
    chosen = _version_to_try(flow, request.args.get("v"))
    return render_template("admin/try.html", flow=flow, doc=chosen.document, chosen=chosen,
                           versions=versions.versions(session(), flow),
                           draft=versions.working_draft(session(), flow))


@login_required("admin")
def try_it(key: str) -> Any:
    """JSON: the test call so far, through the live engine, with the newest answer (typed,
    or a recording transcribed with the version's phrase list) added to those before;
    `hangup=yes`: then the caller hangs up, as on a live call."""
    flow = flow_or_404(key)
    version = _version_to_try(flow, request.form.get("version"))
    document = version.document
    lang = request.form.get("lang") or document["default_language"]
    if lang not in document["languages"]:
        return jsonify({"error": f"the flow does not offer language {lang!r}"}), 422
    answers = request.form.getlist("answer")[:MAX_TURNS]
    heard: dict[str, Any] = {}
    try:
        audio = _upload()
        if audio is not None:
            phrases = _understanding().phrases(document, lang, "intent")
            utterance = transcribe_pcm(audio[0], audio[1], lang,
                                       current_app.extensions["speech"], phrases)
            answers.append(utterance.text)
            heard = {"transcript": utterance.text, "asr_confidence": utterance.confidence}
        elif "text" in request.form:
            answers.append(request.form.get("text", "").strip()[:2000])
        call = test_call_runner(not_digital=request.form.get("not_digital") == "yes",
                                hang_up=request.form.get("hangup") == "yes")(
            version, lang, answers)
    except (UnsupportedAudio, ModelUnavailable, ValueError) as exc:
        return jsonify({"error": str(exc)}), 422
    return jsonify({**heard, **call.to_dict(), "answers": answers})


# ---------------------------------------------------------------- test cases
@login_required("admin")
def cases(key: str) -> Any:
    """The flow's labelled test cases, a form to add one, import and export."""
    return cases_page(flow_or_404(key))


def cases_page(flow: Flow, imported: case_files.ImportResult | None = None) -> Any:
    """The cases page (after an import: what came in and what was refused)."""
    shipped = (case_files.DEFAULT_CASES_DIR / f"{flow.key}.yaml").exists()
    return render_template("admin/cases.html", flow=flow, cases=_flow_cases(flow),
                           doc=versions.current_document(session(), flow),
                           imported=imported, shipped=shipped)


@login_required("admin")
def add_case(key: str) -> Any:
    """Add a test case: a sentence, or a recording (kept as WAV), with its expected intent."""
    flow = flow_or_404(key)
    document = versions.current_document(session(), flow)
    lang = request.form.get("lang") or document["default_language"]
    expected = request.form.get("expected", "").strip() or "none"
    text = request.form.get("text", "").strip()
    if lang not in document["languages"] or (
            expected != "none" and expected not in (document.get("intents") or {})):
        flash("admin.case_invalid")
        return redirect(url_for("admin.cases", key=key), code=303)
    try:
        audio = _upload()
    except UnsupportedAudio as exc:
        log.info("test case upload refused: %s", exc)
        flash("admin.audio_unreadable")
        return redirect(url_for("admin.cases", key=key), code=303)
    if audio is None and not text:
        flash("admin.case_invalid")
        return redirect(url_for("admin.cases", key=key), code=303)
    upload = request.files.get("audio")
    session().add(FlowTestCase(
        flow_id=flow.id, lang=lang, expected=expected, text=None if audio else text,
        audio=as_wav(*audio) if audio else None, audio_type="audio/wav" if audio else None,
        audio_name=(upload.filename or "")[:120] if audio and upload else None,
        created_by=str(g.user.username), created_at=now()))
    session().commit()
    flash("admin.case_added")
    return redirect(url_for("admin.cases", key=key), code=303)


@login_required("admin")
def delete_case(key: str, case_id: int) -> Any:
    """Remove a test case."""
    flow = flow_or_404(key)
    case = session().get(FlowTestCase, case_id)
    if case is None or case.flow_id != flow.id:
        return redirect(url_for("admin.cases", key=key), code=303)
    session().delete(case)
    session().commit()
    return redirect(url_for("admin.cases", key=key), code=303)



def _flow_cases(flow: Flow) -> list[FlowTestCase]:
    return list(session().scalars(select(FlowTestCase).where(
        FlowTestCase.flow_id == flow.id).order_by(FlowTestCase.id)))


@login_required("admin")
def export_cases(key: str, kind: str) -> Response:
    """Download the flow's text test cases as CSV or YAML."""
    flow = flow_or_404(key)
    rows = _flow_cases(flow)
    if kind == "csv":
        body, mimetype = case_files.export_csv(rows), "text/csv"
    else:
        body, mimetype = case_files.export_yaml(flow.key, rows), "application/yaml"
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename={flow.key}-cases.{kind}"})


@login_required("admin")
def import_cases(key: str) -> Any:
    """Upload test cases in bulk (CSV or YAML: lang, expected, text)."""
    flow = flow_or_404(key)
    upload = request.files.get("file")
    data = upload.read(MAX_CASES_BYTES + 1) if upload is not None else b""
    if not data or len(data) > MAX_CASES_BYTES:
        flash("admin.cases_file_invalid")
        return redirect(url_for("admin.cases", key=key), code=303)
    try:
        rows = case_files.parse(data.decode("utf-8-sig"),
                                (upload.filename if upload else "") or "")
    except (UnicodeDecodeError, case_files.CasesUnreadable) as exc:
        log.info("test cases upload refused: %s", exc)
        flash("admin.cases_file_invalid")
        return redirect(url_for("admin.cases", key=key), code=303)
    result = case_files.import_rows(session(), flow, rows, by=who(), now=now())
    session().commit()
    return cases_page(flow, result)


@login_required("admin")
def seed_cases(key: str) -> Any:
    """Add the test cases shipped with this flow (when the flow has none)."""
    flow = flow_or_404(key)
    case_files.seed_default_cases(session(), now(), only=flow.key)
    session().commit()
    return redirect(url_for("admin.cases", key=key), code=303)


def register(bp: Blueprint) -> None:
    """Add this module's pages to the admin blueprint."""
    bp.get("/flows/<key>/try")(try_page)
    bp.post("/flows/<key>/try")(try_it)
    bp.get("/flows/<key>/cases")(cases)
    bp.post("/flows/<key>/cases")(add_case)
    bp.post("/flows/<key>/cases/<int:case_id>/delete")(delete_case)
    bp.get("/flows/<key>/cases.<any(csv, yaml):kind>")(export_cases)
    bp.post("/flows/<key>/cases/import")(import_cases)
    bp.post("/flows/<key>/cases/shipped")(seed_cases)
