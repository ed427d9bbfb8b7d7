"""Twilio webhooks of callback calls: thin views over `outcomes` and the TwiML builders.

Every request is checked by `core.webhooks.check_signature`, like the /voice webhooks.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, abort, current_app, request

from callbacks import twiml
from callbacks.models import CallAttempt
from callbacks.outcomes import apply_status, callee_result, is_machine
from core.models import User
from core.webhooks import check_signature, public_url
from ivr.labels import intent_label

bp = Blueprint("callbacks_twilio", __name__, url_prefix="/callbacks/twilio")
log = logging.getLogger(__name__)


bp.before_request(check_signature)  # 403 unless Twilio signed the public URL


def _attempt(attempt_id: int) -> tuple[Any, CallAttempt]:
    session = current_app.extensions["db"].session
    attempt = session.get(CallAttempt, attempt_id)
    if attempt is None:
        abort(404)
    return session, attempt


def _xml(response: Any) -> Response:
    return Response(str(response), mimetype="text/xml")


def _int(name: str) -> int | None:
    value = request.form.get(name, "")
    return int(value) if value.lstrip("-").isdigit() else None


@bp.post("/status/<int:attempt_id>")
def status(attempt_id: int) -> tuple[str, int]:
    """Status callback of the call we placed; duplicates and stale ones are ignored."""
    session, attempt = _attempt(attempt_id)
    error = request.form.get("ErrorCode")
    if error and request.form.get("ErrorMessage"):
        error = f"{error}: {request.form['ErrorMessage']}"
    applied = apply_status(
        session, attempt, status=request.form.get("CallStatus", ""),
        sequence=_int("SequenceNumber"), now=current_app.extensions["clock"].now(),
        duration=_int("CallDuration"), answered_by=request.form.get("AnsweredBy"),
        error=error, call_sid=request.form.get("CallSid"))
    session.commit()
    log.info("attempt %s status %s (%s)", attempt_id, request.form.get("CallStatus"),
             "applied" if applied else "ignored")
    return "", 204


def _need(session: Any, attempt: CallAttempt, lang: str) -> str | None:
    return intent_label(session, attempt.request.intent, lang)


def _url(endpoint: str, attempt_id: int) -> str:
    return public_url(current_app, f"callbacks_twilio.{endpoint}", attempt_id=attempt_id)


@bp.post("/bridge/<int:attempt_id>")
def bridge(attempt_id: int) -> Response:
    """Agent-first: the agent's phone answered; screen it before dialling the caller."""
    session, attempt = _attempt(attempt_id)
    lang = attempt.request.language
    return _xml(twiml.screen_agent(need=_need(session, attempt, lang), lang=lang,
                                   action_url=_url("bridge_accept", attempt_id)))


@bp.post("/bridge-accept/<int:attempt_id>")
def bridge_accept(attempt_id: int) -> Response:
    """Agent-first screening answered: 1 dials the caller; anything else hangs up."""
    session, attempt = _attempt(attempt_id)
    callback, lang = attempt.request, attempt.request.language
    if request.form.get("Digits") != "1":
        return _xml(twiml.not_taken(lang))
    _accepted(session, attempt)
    return _xml(twiml.agent_bridge(
        caller_number=callback.phone or "", caller_id=current_app.config["TWILIO_CALLER_ID"],
        need=_need(session, attempt, lang), agent_lang=lang,
        ring_timeout=attempt.ring_timeout, action_url=_url("dial_result", attempt_id),
        amd_url=_url("amd", attempt_id)))


def _accepted(session: Any, attempt: CallAttempt) -> None:
    attempt.agent_accepted_at = current_app.extensions["clock"].now()
    session.commit()
    log.info("attempt %s: the agent took the call", attempt.id)


@bp.post("/announce/<int:attempt_id>")
def announce(attempt_id: int) -> Response:
    """Caller-first: the caller (or a machine) answered; announce at once (AMD runs
    asynchronously) and dial the agent behind the screening whisper."""
    session, attempt = _attempt(attempt_id)
    answered_by = request.form.get("AnsweredBy")
    lang = attempt.request.language
    if is_machine(answered_by):  # synchronous AMD (not what we ask for, but honoured)
        attempt.answered_by = answered_by
        callee_result(session, attempt, "machine", current_app.extensions["clock"].now())
        session.commit()
        return _xml(twiml.machine_message(lang))
    user = session.get(User, attempt.agent_id) if attempt.agent_id else None
    agent_number = ((user.phone_number if user else None)
                    or current_app.config.get("CALLBACK_AGENT_NUMBER") or "")
    if answered_by:
        attempt.answered_by = answered_by
        session.commit()
    return _xml(twiml.caller_announce(
        agent_number=agent_number, caller_id=current_app.config["TWILIO_CALLER_ID"],
        need=_need(session, attempt, lang), lang=lang,
        action_url=_url("dial_result", attempt_id), whisper_url=_url("whisper", attempt_id)))


@bp.post("/whisper/<int:attempt_id>")
def whisper(attempt_id: int) -> Response:
    """`<Number url>` of the agent's leg in a caller-first call: the screening whisper."""
    session, attempt = _attempt(attempt_id)
    lang = attempt.request.language
    return _xml(twiml.screen_agent(need=_need(session, attempt, lang), lang=lang,
                                   action_url=_url("whisper_accept", attempt_id)))


@bp.post("/whisper-accept/<int:attempt_id>")
def whisper_accept(attempt_id: int) -> Response:
    """The whisper answered: 1 ends it (Twilio bridges); anything else hangs up the leg."""
    session, attempt = _attempt(attempt_id)
    if request.form.get("Digits") != "1":
        return _xml(twiml.not_taken(attempt.request.language))
    _accepted(session, attempt)
    return _xml(twiml.screen_passed())


@bp.post("/amd/<int:attempt_id>")
def amd(attempt_id: int) -> tuple[str, int]:
    """Twilio's AMD verdict on the caller's leg (AsyncAmdStatusCallback of a caller-first
    call, or amdStatusCallback of the caller's <Number> in an agent-first one)."""
    session, attempt = _attempt(attempt_id)
    answered_by = (request.form.get("AnsweredBy") or "unknown")[:32]
    attempt.answered_by = answered_by
    machine = is_machine(answered_by)
    live_sid = request.form.get("CallSid") if attempt.mode == "caller_first" else None
    if machine and live_sid:
        callee_result(session, attempt, "machine", current_app.extensions["clock"].now())
    session.commit()
    log.info("attempt %s: answered by %s", attempt_id, answered_by)
    if machine and live_sid:  # the greeting has ended: leave our message instead
        try:
            current_app.extensions["twilio"].calls(live_sid).update(
                twiml=str(twiml.machine_message(attempt.request.language)))
        except Exception as exc:  # the call may have ended; the outcome is recorded
            log.warning("attempt %s: could not leave the voicemail message: %s", attempt_id,
                        type(exc).__name__)
    return "", 204


@bp.post("/dial-result/<int:attempt_id>")
def dial_result(attempt_id: int) -> Response:
    """The `<Dial>` ended: done only if a person answered on both sides.

    DialCallStatus=completed is not enough: the dialled leg may have been an agent's
    voicemail that the whisper hung up (DialBridged=false), or the caller's answering
    machine (AMD). The agent's side counts once they pressed 1 at the screening.
    """
    session, attempt = _attempt(attempt_id)
    status = request.form.get("DialCallStatus", "failed")
    caller_side = attempt.mode == "caller_first"
    bridged = status == "completed" and request.form.get("DialBridged", "true") != "false"
    machine = is_machine(attempt.answered_by)
    connected = bridged and attempt.agent_accepted_at is not None and not machine
    if connected:
        outcome = "completed"
    elif machine:
        outcome = "machine"
    elif caller_side or status in ("completed", "canceled"):
        outcome = "agent-unreached"
    else:
        outcome = status
    callee_result(session, attempt, outcome, current_app.extensions["clock"].now(),
                  error=request.form.get("ErrorCode"))
    session.commit()
    return _xml(twiml.after_dial(attempt.request.language, connected, caller_side))
