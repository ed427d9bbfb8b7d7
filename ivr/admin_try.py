"""Try a draft without a call, and keep the flow's test cases (text and recordings).

"Try it" takes a typed sentence, or a recording (a WAV captured in the browser, or an
uploaded file: WAV, raw mu-law, or anything sox decodes), transcribes it with the real
recogniser and the draft's phrase list, and answers with the transcript, the intent, its
confidence and the path the caller would take (`ivr.simulate`).
"""

from __future__ import annotations

import io
import logging
import wave
from typing import Any

from flask import current_app, flash, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from core.auth import login_required
from ivr import versions
from ivr.admin import _flow, _now, _session, bp
from ivr.admin_models import FlowTestCase
from ivr.simulate import simulate
from speech.models import ModelUnavailable
from speech.transcribe import UnsupportedAudio, decode_audio, transcribe_pcm
from speech.understanding import Understanding

log = logging.getLogger(__name__)
MAX_AUDIO_BYTES = 8 * 1024 * 1024


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


@bp.get("/flows/<key>/try")
@login_required("admin")
def try_page(key: str) -> Any:
    """Type or record a sentence and see what the draft would do with it."""
    flow = _flow(key)
    document = versions.current_document(_session(), flow)
    return render_template("admin/try.html", flow=flow, doc=document,
                           draft=versions.working_draft(_session(), flow))


@bp.post("/flows/<key>/try")
@login_required("admin")
def try_it(key: str) -> Any:
    """JSON: transcript (for audio), intent, confidence and the simulated path."""
    flow = _flow(key)
    document = versions.current_document(_session(), flow)
    lang = request.form.get("lang") or document["default_language"]
    text = request.form.get("text", "").strip()
    heard: dict[str, Any] = {}
    try:
        audio = _upload()
        if audio is not None:
            phrases = _understanding().phrases(document, lang, "intent")
            utterance = transcribe_pcm(audio[0], audio[1], lang,
                                       current_app.extensions["speech"], phrases)
            text = utterance.text
            heard = {"transcript": utterance.text, "asr_confidence": utterance.confidence}
        result = simulate(document, text, lang, now=_now(),
                          not_digital=request.form.get("not_digital") == "yes",
                          understanding=_understanding())
    except (UnsupportedAudio, ModelUnavailable, ValueError) as exc:
        return jsonify({"error": str(exc)}), 422
    return jsonify({**heard, **result.to_dict()})


# ---------------------------------------------------------------- test cases
@bp.get("/flows/<key>/cases")
@login_required("admin")
def cases(key: str) -> Any:
    """The flow's labelled test cases, and a form to add one."""
    flow = _flow(key)
    rows = list(_session().scalars(select(FlowTestCase).where(
        FlowTestCase.flow_id == flow.id).order_by(FlowTestCase.id)))
    return render_template("admin/cases.html", flow=flow, cases=rows,
                           doc=versions.current_document(_session(), flow))


@bp.post("/flows/<key>/cases")
@login_required("admin")
def add_case(key: str) -> Any:
    """Add a test case: a sentence, or a recording (kept as WAV), with its expected intent."""
    flow = _flow(key)
    document = versions.current_document(_session(), flow)
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
    _session().add(FlowTestCase(
        flow_id=flow.id, lang=lang, expected=expected, text=None if audio else text,
        audio=as_wav(*audio) if audio else None, audio_type="audio/wav" if audio else None,
        audio_name=(upload.filename or "")[:120] if audio and upload else None,
        created_by=str(g.user.username), created_at=_now()))
    _session().commit()
    flash("admin.case_added")
    return redirect(url_for("admin.cases", key=key), code=303)


@bp.post("/flows/<key>/cases/<int:case_id>/delete")
@login_required("admin")
def delete_case(key: str, case_id: int) -> Any:
    """Remove a test case."""
    flow = _flow(key)
    case = _session().get(FlowTestCase, case_id)
    if case is None or case.flow_id != flow.id:
        return redirect(url_for("admin.cases", key=key), code=303)
    _session().delete(case)
    _session().commit()
    return redirect(url_for("admin.cases", key=key), code=303)
