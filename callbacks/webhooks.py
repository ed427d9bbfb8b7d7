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


@bp.post("/bridge/<int:attempt_id>")
def bridge(attempt_id: int) -> Response:
    """Agent-first: the agent answered; dial the caller with the hotline's caller id."""
    session, attempt = _attempt(attempt_id)
    callback = attempt.request
    agent_lang = attempt.request.language
    return _xml(twiml.agent_bridge(
        caller_number=callback.phone or "", caller_id=current_app.config["TWILIO_CALLER_ID"],
        need=intent_label(session, callback.intent, agent_lang), agent_lang=agent_lang,
        ring_timeout=attempt.ring_timeout,
        action_url=public_url(current_app, "callbacks_twilio.dial_result",
                              attempt_id=attempt_id)))


@bp.post("/announce/<int:attempt_id>")
def announce(attempt_id: int) -> Response:
    """Caller-first: the caller (or a machine) answered; announce, or leave a message."""
    session, attempt = _attempt(attempt_id)
    answered_by = request.form.get("AnsweredBy")
    lang = attempt.request.language
    if is_machine(answered_by):
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
        need=intent_label(session, attempt.request.intent, lang), lang=lang,
        action_url=public_url(current_app, "callbacks_twilio.dial_result",
                              attempt_id=attempt_id)))


@bp.post("/dial-result/<int:attempt_id>")
def dial_result(attempt_id: int) -> Response:
    """The `<Dial>` ended: record whether the two were connected."""
    session, attempt = _attempt(attempt_id)
    status = request.form.get("DialCallStatus", "failed")
    caller_side = attempt.mode == "caller_first"
    connected = status == "completed"
    if caller_side and not connected:
        status = "agent-unreached"
    elif status == "canceled":
        status = "agent-unreached"
    callee_result(session, attempt, status, current_app.extensions["clock"].now(),
                  error=request.form.get("ErrorCode"))
    session.commit()
    return _xml(twiml.after_dial(attempt.request.language, connected, caller_side))
