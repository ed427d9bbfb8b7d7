"""Twilio webhooks of callback calls: thin views over `outcomes` and the TwiML builders.

Every request is checked by `core.webhooks.check_signature`, like the /voice webhooks.

Twilio may send the same webhook twice at once (its own retries, a proxy's), and a status
callback and a dial result of one call race each other. Every webhook that writes runs one
transaction that first locks the attempt's row (`SELECT ... FOR UPDATE` on PostgreSQL; on
SQLite `BEGIN IMMEDIATE` takes the database's write lock), so a duplicate waits for the
first and then finds it applied: check-then-act on a row nobody else can change meanwhile.
The transaction runs again if the database connection turned out dead, and while the
database is briefly away (`core.db.retry_while_unreachable`): Twilio never retries a
status callback that got a 500.
If it still fails, status callbacks answer 500 (the reconciler asks Twilio about the call
within two minutes) and TwiML webhooks a short apology instead of Twilio's error voice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from callbacks import twiml
from callbacks.models import CallAttempt
from callbacks.outcomes import apply_status, callee_result, is_machine
from core.db import retry_while_unreachable
from core.models import User
from core.webhooks import check_signature, public_url
from ivr.labels import intent_label

bp = Blueprint("callbacks_twilio", __name__, url_prefix="/callbacks/twilio")
log = logging.getLogger(__name__)
T = TypeVar("T")
NO_TWIML = ("callbacks_twilio.status", "callbacks_twilio.amd")  # they answer 204


bp.before_request(check_signature)  # 403 unless Twilio signed the public URL


def _session() -> Session:
    session: Session = current_app.extensions["db"].session
    return session


def _attempt(attempt_id: int) -> tuple[Any, CallAttempt]:
    """The attempt and its request, read only (for webhooks that change nothing), waited
    for while the database is briefly away like the webhooks that write."""
    session = _session()

    def read() -> CallAttempt:
        attempt = session.get(CallAttempt, attempt_id)
        if attempt is None:
            abort(404)
        attempt.request.language  # noqa: B018  (loaded now, while the database answers)
        return attempt

    return session, retry_while_unreachable(read, session)


def _locked(session: Session, attempt_id: int) -> CallAttempt:
    """The attempt, locked until this transaction ends, as the database has it now."""
    session.commit()  # whatever the request read so far: the lock starts a transaction
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    attempt = session.get(CallAttempt, attempt_id, with_for_update=True,
                          populate_existing=True)
    if attempt is None:
        abort(404)
    return attempt


def _apply(attempt_id: int, change: Callable[[Session, CallAttempt], T]) -> T:
    """Run `change` on the locked attempt and commit, again if the database was away."""
    session = _session()

    def transaction() -> T:
        result = change(session, _locked(session, attempt_id))
        session.commit()
        return result

    return retry_while_unreachable(transaction, session)


def _xml(response: Any) -> Response:
    return Response(str(response), mimetype="text/xml")


def _int(name: str) -> int | None:
    value = request.form.get(name, "")
    return int(value) if value.lstrip("-").isdigit() else None


def _now() -> Any:
    return current_app.extensions["clock"].now()


@bp.post("/status/<int:attempt_id>")
def status(attempt_id: int) -> tuple[str, int]:
    """Status callback of the call we placed; duplicates and stale ones are ignored."""
    form = request.form
    error = form.get("ErrorCode")
    if error and form.get("ErrorMessage"):
        error = f"{error}: {form['ErrorMessage']}"

    def change(session: Session, attempt: CallAttempt) -> bool:
        return apply_status(
            session, attempt, status=form.get("CallStatus", ""),
            sequence=_int("SequenceNumber"), now=_now(), duration=_int("CallDuration"),
            answered_by=form.get("AnsweredBy"), error=error, call_sid=form.get("CallSid"))

    applied = _apply(attempt_id, change)
    log.info("attempt %s status %s (%s)", attempt_id, form.get("CallStatus"),
             "applied" if applied else "ignored")
    return "", 204


def _need(session: Any, attempt: CallAttempt, lang: str) -> str | None:
    return intent_label(session, attempt.request.intent, lang)


def _url(endpoint: str, attempt_id: int) -> str:
    return public_url(current_app, f"callbacks_twilio.{endpoint}", attempt_id=attempt_id)


def _screening(attempt_id: int, accept_endpoint: str) -> Response:
    """Ask the agent's phone to press 1 to take the call about the caller's need."""
    session, attempt = _attempt(attempt_id)
    lang = attempt.request.language
    return _xml(twiml.screen_agent(need=_need(session, attempt, lang), lang=lang,
                                   action_url=_url(accept_endpoint, attempt_id)))


def _if_agent_accepts(attempt_id: int,
                      then: Callable[[Session, CallAttempt], Any]) -> Response:
    """The screening answered: on 1 record that the agent took the call and answer with
    `then`'s TwiML, on the locked attempt; anything else hangs up and changes nothing."""
    if request.form.get("Digits") != "1":
        _, attempt = _attempt(attempt_id)
        return _xml(twiml.not_taken(attempt.request.language))

    def change(session: Session, attempt: CallAttempt) -> Any:
        attempt.agent_accepted_at = attempt.agent_accepted_at or _now()
        log.info("attempt %s: the agent took the call", attempt.id)
        return then(session, attempt)

    return _xml(_apply(attempt_id, change))


@bp.post("/bridge/<int:attempt_id>")
def bridge(attempt_id: int) -> Response:
    """Agent-first: the agent's phone answered; screen it before dialling the caller."""
    return _screening(attempt_id, "bridge_accept")


@bp.post("/bridge-accept/<int:attempt_id>")
def bridge_accept(attempt_id: int) -> Response:
    """Agent-first screening answered: 1 dials the caller; anything else hangs up."""

    def dial_caller(session: Session, attempt: CallAttempt) -> Any:
        callback, lang = attempt.request, attempt.request.language
        return twiml.agent_bridge(
            caller_number=callback.phone or "",
            caller_id=current_app.config["TWILIO_CALLER_ID"],
            need=_need(session, attempt, lang), agent_lang=lang,
            ring_timeout=attempt.ring_timeout, action_url=_url("dial_result", attempt_id),
            amd_url=_url("amd", attempt_id))

    return _if_agent_accepts(attempt_id, dial_caller)


@bp.post("/announce/<int:attempt_id>")
def announce(attempt_id: int) -> Response:
    """Caller-first: the caller (or a machine) answered; announce at once (AMD runs
    asynchronously) and dial the agent behind the screening whisper."""
    answered_by = request.form.get("AnsweredBy")

    def change(session: Session, attempt: CallAttempt) -> Any:
        lang = attempt.request.language
        if is_machine(answered_by):  # synchronous AMD (not what we ask for, but honoured)
            attempt.answered_by = answered_by
            callee_result(session, attempt, "machine", _now())
            return twiml.machine_message(lang)
        user = session.get(User, attempt.agent_id) if attempt.agent_id else None
        agent_number = ((user.phone_number if user else None)
                        or current_app.config.get("CALLBACK_AGENT_NUMBER") or "")
        if answered_by:
            attempt.answered_by = answered_by
        return twiml.caller_announce(
            agent_number=agent_number, caller_id=current_app.config["TWILIO_CALLER_ID"],
            need=_need(session, attempt, lang), lang=lang,
            action_url=_url("dial_result", attempt_id), whisper_url=_url("whisper", attempt_id))

    return _xml(_apply(attempt_id, change))


@bp.post("/whisper/<int:attempt_id>")
def whisper(attempt_id: int) -> Response:
    """`<Number url>` of the agent's leg in a caller-first call: the screening whisper."""
    return _screening(attempt_id, "whisper_accept")


@bp.post("/whisper-accept/<int:attempt_id>")
def whisper_accept(attempt_id: int) -> Response:
    """The whisper answered: 1 ends it (Twilio bridges); anything else hangs up the leg."""
    return _if_agent_accepts(attempt_id, lambda _session, _attempt: twiml.screen_passed())


@bp.post("/amd/<int:attempt_id>")
def amd(attempt_id: int) -> tuple[str, int]:
    """Twilio's AMD verdict on the caller's leg (AsyncAmdStatusCallback of a caller-first
    call, or amdStatusCallback of the caller's <Number> in an agent-first one)."""
    answered_by = (request.form.get("AnsweredBy") or "unknown")[:32]
    machine = is_machine(answered_by)

    def change(session: Session, attempt: CallAttempt) -> tuple[str | None, str]:
        attempt.answered_by = answered_by
        live_sid = request.form.get("CallSid") if attempt.mode == "caller_first" else None
        if machine and live_sid:
            callee_result(session, attempt, "machine", _now())
        return live_sid, attempt.request.language

    live_sid, lang = _apply(attempt_id, change)
    log.info("attempt %s: answered by %s", attempt_id, answered_by)
    if machine and live_sid:  # the greeting has ended: leave our message instead
        try:
            current_app.extensions["twilio"].calls(live_sid).update(
                twiml=str(twiml.machine_message(lang)))
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
    form = request.form
    status = form.get("DialCallStatus", "failed")

    def change(session: Session, attempt: CallAttempt) -> Any:
        caller_side = attempt.mode == "caller_first"
        bridged = status == "completed" and form.get("DialBridged", "true") != "false"
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
        callee_result(session, attempt, outcome, _now(), error=form.get("ErrorCode"))
        return twiml.after_dial(attempt.request.language, connected, caller_side)

    return _xml(_apply(attempt_id, change))


@bp.errorhandler(Exception)
def failed(exc: Exception) -> Any:
    """A callback webhook failed even after running again: answer so Twilio behaves."""
    if isinstance(exc, HTTPException):
        return exc
    log.exception("callback webhook failed: %s", request.path)
    try:
        _session().rollback()
    except Exception:
        log.warning("rollback failed after a callback webhook error", exc_info=True)
    if request.endpoint in NO_TWIML:
        return "", 500  # not retried by Twilio: the reconciler asks about the call instead
    return _xml(twiml.technical_problem(str(current_app.config.get("DEFAULT_LANGUAGE", "it"))))
