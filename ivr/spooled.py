"""Callers kept on local disk while the database is away, and booked when it is back.

A webhook that cannot reach the database even after waiting for it (`core.db`) writes the
caller's number, what they said and why to the process's spool (`core.spool`) before it
answers; the caller hears a callback promise (or a human number), never a goodbye. The
reconciler, each app at start-up and the first webhook that reaches the database again
replay the spool: each record books the caller's callback exactly once, keyed on the call
sid (a request already booked for that call, or a call that ended served or declined,
books nothing).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.privacy import mask_phone
from core.spool import Record, Spool
from ivr import handoff
from ivr.engine import caller_declined
from ivr.models import Call

log = logging.getLogger(__name__)

# A call that ended with one of these outcomes was served, or the caller declined: the
# spool books nothing for it. None (mid-flow) and a bare hang-up still book.
STILL_OWED = (None, "hangup")
SILENT = "silent"  # callbacks.models.SILENT: a caller who never said their need


def spool_of(app: Any) -> Spool:
    """The app's spool (SPOOL_DIR)."""
    spool: Spool = app.extensions["spool"]
    return spool


def spool_caller(app: Any, form: Mapping[str, str], reason: str, kind: str = "call") -> bool:
    """Keep this caller on disk until the database is back; False if there is nothing to
    keep (no call sid) or the disk failed too (logged)."""
    call_sid = (form.get("CallSid") or "").strip()[:64]
    if not call_sid:
        return False
    record = {"kind": kind, "call_sid": call_sid, "from": (form.get("From") or "")[:32],
              "to": (form.get("To") or "")[:32],
              "words": (form.get("SpeechResult") or "").strip()[:2000],
              "digits": (form.get("Digits") or "")[:32], "status": form.get("CallStatus") or "",
              "language": app.config.get("DEFAULT_LANGUAGE", "it"), "reason": reason[:200],
              "at": app.extensions["clock"].now().isoformat()}
    try:
        spool_of(app).append(record)
    except OSError:
        log.exception("call %s: could not spool the caller (%s)", call_sid, reason)
        return False
    log.warning("call %s: database away (%s); caller %s spooled", call_sid, reason,
                mask_phone(handoff.e164(record["from"])))
    return True


def book_owed(session: Session, record: Record, now: datetime) -> str:
    """Book the callback a spooled record owes, at most once per call sid; what happened:
    "booked", "already" (booked before), "served" (the call ended served or declined) or
    "no number"."""
    from callbacks.booking import book_callback
    from callbacks.models import CallbackRequest

    call_sid = str(record.get("call_sid") or "")
    if session.get_bind().dialect.name == "postgresql":  # two replayers, one call sid
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:sid))"),
                        {"sid": f"spool:{call_sid}"})
    booked = session.scalar(select(CallbackRequest.id).where(
        CallbackRequest.call_sid == call_sid).limit(1))
    call = session.scalar(select(Call).where(Call.call_sid == call_sid).with_for_update())
    if booked is not None or (call is not None and call.callback_request_id is not None):
        return "already"
    words = str(record.get("words") or "")
    if call is not None:
        if call.outcome not in STILL_OWED or caller_declined(session, call):
            return "served"
        call.words = call.words or words or None
        if record.get("kind") == "status" and call.state != "ended":
            call.state, call.ended_at = "ended", now
            call.twilio_status = str(record.get("status") or record.get("CallStatus") or "")[:32]
        if not (call.callback_number or call.from_number):
            return "no number"
        handoff.book_for_call(session, call, source="hangup" if call.words else SILENT,
                              now=now)
        call.outcome = "hangup_callback" if call.state == "ended" else "callback_booked"
        return "booked"
    number = handoff.e164(str(record.get("from") or ""))
    if number is None:
        return "no number"
    book_callback(session, phone=number, call_sid=call_sid, intent=None, words=words,
                  language=str(record.get("language") or "it"), window_start=None,
                  window_end=None, not_digital_cue=None,
                  source="fallback" if words else SILENT, now=now)
    return "booked"


def replay_spool(app: Any, now: datetime) -> dict[str, int]:
    """Book every spooled caller, one transaction each; raises if the database is still
    away (the records stay on disk for the next replay). Counts by what happened."""
    db = app.extensions["db"]
    counts: dict[str, int] = {}

    def handle(record: Record) -> None:
        with db.transaction() as session:
            what = book_owed(session, record, now)
        counts[what] = counts.get(what, 0) + 1
        log.info("spooled call %s (%s): %s", record.get("call_sid"), record.get("reason"),
                 what)

    spool_of(app).replay(handle)
    return counts


_replaying = threading.Lock()


def replay_soon(app: Any) -> None:
    """Replay the spool in a background thread if it holds anything (called when a webhook
    reached the database: it is back); never blocks a caller's webhook."""
    if not spool_of(app).files() or not _replaying.acquire(blocking=False):
        return

    def run() -> None:
        try:
            replay_spool(app, app.extensions["clock"].now())
        except Exception:
            log.warning("spool replay failed; the reconciler tries again", exc_info=True)
        finally:
            _replaying.release()

    threading.Thread(target=run, name="spool-replay", daemon=True).start()


def replay_at_start(app: Any) -> None:
    """At start-up: replay what a previous run of this host spooled (best effort)."""
    if not spool_of(app).files():
        return
    try:
        counts = replay_spool(app, app.extensions["clock"].now())
        log.info("spool replayed at start-up: %s", counts)
    except Exception as exc:  # the database is still away: the reconciler replays it later
        log.warning("spool not replayed at start-up (%s)", type(exc).__name__)
