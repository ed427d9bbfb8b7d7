"""Twilio's webhooks: thin views that read the form, call the engine and return TwiML.

Voice URL `POST /voice/incoming`; status callback `POST /voice/status`; Fallback URL
`POST /voice/fallback`; every other step is the action of the TwiML we returned,
`POST /voice/step/<call_sid>/<step>/<attempt>`. All are checked against Twilio's signature.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from core.db import is_unreachable, retry_while_unreachable
from core.webhooks import check_signature, public_url
from ivr.engine import Answer, CallEngine, EngineOptions
from ivr.rescue import rescue_twiml
from ivr.spooled import book_owed, replay_soon, spool_caller

log = logging.getLogger(__name__)
bp = Blueprint("voice", __name__, url_prefix="/voice")

_DIGITS = re.compile(r"[^0-9*#]")
TWIML = "text/xml"


class WebUrls:
    """Absolute URLs on the public base (what Twilio requests and signs; see core.webhooks)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def step(self, call_sid: str, step: str, attempt: int) -> str:
        """The action URL of one listening step."""
        return public_url(self.app, "voice.step", call_sid=call_sid, step=step,
                          attempt=attempt)

    def stream(self) -> str:
        """The Media Streams WebSocket (wss:// on an https base)."""
        try:
            url = public_url(self.app, "speech_ws.media_stream")
        except Exception:  # the speech socket is not registered in this app
            url = self.app.config["PUBLIC_BASE_URL"].rstrip("/") + "/media-stream"
        scheme, _, rest = url.partition("://")  # a websocket rule may build as http(s)
        return {"https": "wss", "http": "ws"}.get(scheme, scheme) + "://" + rest


def _twiml(text: str) -> Response:
    return Response(text, mimetype=TWIML)


def _speech_available(lang: str) -> bool:
    """Whether this process has a working Vosk model for `lang` (asked once per language)."""
    known: dict[str, bool] = current_app.extensions.setdefault("ivr.speech_available", {})
    if lang not in known:
        speech = current_app.extensions.get("speech")
        if speech is not None and current_app.config.get("MEDIA_SERVER"):
            known[lang] = speech.present(lang)  # the media server loads it, not this process
        else:
            known[lang] = bool(speech is not None and speech.available(lang))
    return known[lang]


def _engine() -> CallEngine:
    app = current_app
    options = EngineOptions(
        speech_input=str(app.config.get("SPEECH_INPUT") or "auto"),
        fallback_number=app.config.get("FALLBACK_NUMBER") or "",
        caller_id=app.config.get("TWILIO_CALLER_ID") or None,
        speech_available=_speech_available,
        tts_available=app.extensions["speech.tts_available"])
    return CallEngine(app.extensions["db"].session, now=app.extensions["clock"].now(),
                      urls=WebUrls(app), options=options,
                      understanding=app.extensions.get("understanding"))


def _run(action: Any) -> Any:
    """Run an engine action in the request's session and commit; a concurrent duplicate
    webhook that lost the race is run again and then finds the stored answer, and a
    database that is briefly away (a restart) is waited for, about 1.5 s at most."""
    session = current_app.extensions["db"].session

    def transaction() -> Any:
        result = action(_engine())
        session.commit()
        return result

    for attempt in range(2):
        try:
            return retry_while_unreachable(transaction, session)
        except IntegrityError:
            session.rollback()
            if attempt:
                raise
    return None  # pragma: no cover


def _answer() -> Answer:
    """The caller's answer from a Gather/Dial/Record action, with junk fields ignored."""
    form = request.form
    words = (form.get("SpeechResult") or "").strip()[:2000] or None
    digits = _DIGITS.sub("", form.get("Digits") or "")[:32] or None
    try:
        confidence: float | None = float(form.get("Confidence", ""))
        if confidence is not None and not (math.isfinite(confidence) and 0 <= confidence <= 1):
            confidence = None
    except ValueError:
        confidence = None
    extra = {key: form[key][:300] for key in ("DialCallStatus", "DialCallDuration",
                                               "RecordingUrl", "RecordingDuration")
             if form.get(key)}
    source = "dtmf" if digits and not words else ("twilio" if words else None)
    return Answer(words=words, digits=digits, asr_confidence=confidence, source=source,
                  extra=extra)


bp.before_request(check_signature)  # 403 unless Twilio signed the public URL


@bp.post("/incoming")
def incoming() -> Response:
    """Voice URL: a new call arrives; answer with the flow's first step."""
    call_sid = (request.form.get("CallSid") or "").strip()
    if not call_sid:
        log.warning("incoming webhook without CallSid")
        return _twiml(rescue_twiml(current_app, request.form))
    form = request.form
    answer = _run(lambda e: e.start(call_sid[:64], form.get("From"), form.get("To")))
    replay_soon(current_app)  # the database answers: book whoever was spooled meanwhile
    return _twiml(answer)


@bp.post("/step/<call_sid>/<step>/<int:attempt>")
def step(call_sid: str, step: str, attempt: int) -> Response:
    """Action URL of a listening step: the caller answered (or not); say what comes next."""
    given = _answer()
    return _twiml(_run(lambda e: e.answer(call_sid, step, attempt, given)))


@bp.post("/status")
def status() -> tuple[str, int]:
    """Status callback: close ended calls and keep what a caller who hung up had told us."""
    call_sid = (request.form.get("CallSid") or "").strip()
    call_status = (request.form.get("CallStatus") or "").strip()
    if not call_sid or not call_status:
        return "", 400
    from ivr.engine import ENDED_STATUSES, UnknownCall

    try:
        _run(lambda e: e.status(call_sid, call_status))
    except UnknownCall:
        # the call got through but its first webhook never committed (a worker killed
        # mid-request): whoever called is called back, as a silent call
        log.warning("status %s for unknown call %s", call_status, call_sid)
        inbound = not (request.form.get("Direction") or "").startswith("outbound")
        if call_status not in ENDED_STATUSES or not inbound:
            return "", 404
        what = _run_owed({**request.form.to_dict(), "kind": "status",
                          "reason": "ended with no record of the call"})
        log.warning("call %s ended unknown: %s", call_sid, what)
        if what not in ("booked", "already"):
            return "", 404
    return "", 204


def _run_owed(record: dict[str, Any]) -> str:
    """Book what a call we have no record of owes (`ivr.spooled.book_owed`)."""
    session = current_app.extensions["db"].session
    now = current_app.extensions["clock"].now()
    record = {**record, "call_sid": record.get("CallSid", ""), "from": record.get("From", ""),
              "language": current_app.config.get("DEFAULT_LANGUAGE", "it")}

    def transaction() -> str:
        what = book_owed(session, record, now)
        session.commit()
        return what

    return retry_while_unreachable(transaction, session)


@bp.post("/fallback")
def fallback() -> Response:
    """Twilio's Fallback URL: our Voice URL failed; apologise and reach a human."""
    log.error("Twilio fallback for call %s (error %s)", request.form.get("CallSid"),
              request.form.get("ErrorCode"))
    return _twiml(rescue_twiml(current_app, request.form))


@bp.errorhandler(Exception)
def failed(exc: Exception) -> Any:
    """Anything failing inside a voice webhook still gives the caller valid TwiML.

    A new call that finds the database away (after `_run` waited for it) is put through
    to FALLBACK_NUMBER; without one, the caller is spooled to local disk (`ivr.spooled`)
    and /voice/incoming answers 503, so Twilio requests the number's Fallback URL (which
    may live elsewhere) instead of our apology and goodbye. A step that fails is rescued
    (`ivr.rescue`: a human, a callback booked, or spooled and promised); a status callback
    that fails for an ended call spools the caller (booked on replay unless served or
    declined).
    """
    if isinstance(exc, HTTPException):
        return exc
    log.exception("voice webhook failed: %s", request.path)
    try:
        current_app.extensions["db"].session.rollback()
    except Exception:
        log.warning("rollback failed after a voice webhook error", exc_info=True)
    fallback = current_app.config.get("FALLBACK_NUMBER")
    if request.endpoint == "voice.status":  # no TwiML here; a caller left mid-flow is kept
        from ivr.engine import ENDED_STATUSES

        if (request.form.get("CallStatus") in ENDED_STATUSES
                and spool_caller(current_app, request.form, f"status: {type(exc).__name__}",
                                 kind="status")):
            return "", 202
        return "", 500
    if request.endpoint == "voice.incoming" and is_unreachable(exc) and not fallback:
        # kept on disk first: Twilio's Fallback URL may be a human elsewhere, or nothing
        spool_caller(current_app, request.form, "incoming: database unreachable")
        return Response("database unavailable", status=503, mimetype="text/plain")
    return _twiml(rescue_twiml(current_app, request.form))
