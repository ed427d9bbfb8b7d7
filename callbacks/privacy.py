"""The callers' data over time: retention periods, erasure and export of one caller (GDPR).

What we keep, and for how long (days, configurable; see `RetentionPolicy`):
- recordings of messages (ours and Twilio's copy): RETENTION_RECORDINGS_DAYS, default 30;
- the caller's words and transcripts (requests, calls, call events): RETENTION_WORDS_DAYS,
  default 90; the request and call records stay, without the words;
- call and callback records themselves (numbers, times, outcomes): RETENTION_CALLS_DAYS,
  default 365;
- a caller's profile, their "not digital" flag and its audit reasons (about age and
  ability: sensitive): RETENTION_PROFILES_DAYS after their last call, default 365.
Only closed requests and ended calls age out; an open request keeps everything an agent
needs. Recordings are deleted at Twilio before our reference to them is dropped, so a
failure there leaves the reference for the next day's run instead of an orphan we forgot.

Erasure of one caller on request removes all of the above at once, whatever its age, and
writes an audit line that says what kind and how much was erased, by whom, never the number.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import delete, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from callbacks.models import UNFINISHED_STATUSES, CallbackRequest, Caller, DigitalProfileChange
from callbacks.profiles import normalize_phone
from core.jobs import app_job
from ivr.models import Call, CallEvent

log = logging.getLogger(__name__)
audit = logging.getLogger("hotline.audit")

RecordingDeleter = Callable[[str], None]  # recording URL -> deleted (raises on failure)
RECORDING_SID = re.compile(r"/Recordings/(RE[0-9a-fA-F]{32})")


@dataclass(frozen=True)
class RetentionPolicy:
    """Days each kind of personal data is kept (see the module docstring)."""

    recordings_days: int = 30
    words_days: int = 90
    calls_days: int = 365
    profiles_days: int = 365

    @classmethod
    def from_config(cls, config: Any) -> RetentionPolicy:
        """The policy from RETENTION_*_DAYS settings (defaults where unset)."""
        return cls(recordings_days=int(config["RETENTION_RECORDINGS_DAYS"]),
                   words_days=int(config["RETENTION_WORDS_DAYS"]),
                   calls_days=int(config["RETENTION_CALLS_DAYS"]),
                   profiles_days=int(config["RETENTION_PROFILES_DAYS"]))


def twilio_recording_deleter(client: Any) -> RecordingDeleter:
    """Deletes a recording at Twilio (DELETE .../Recordings/RE....json) by its URL."""

    def delete_recording(url: str) -> None:
        found = RECORDING_SID.search(url)
        if found is None:
            return  # not a Twilio recording: nothing kept there
        try:
            client.recordings(found.group(1)).delete()
        except Exception as exc:
            if getattr(exc, "status", None) == 404:
                return  # already gone at Twilio
            raise

    return delete_recording


def _closed(before: datetime) -> Any:
    # a connected call awaiting its outcome is not closed: it stays until an agent decides
    return (CallbackRequest.status.not_in(UNFINISHED_STATUSES),
            or_(CallbackRequest.completed_at < before,
                (CallbackRequest.completed_at.is_(None)) & (CallbackRequest.updated_at < before)))


def _drop_recordings(session: Session, requests: list[CallbackRequest],
                     delete_recording: RecordingDeleter) -> tuple[int, int]:
    deleted = failed = 0
    for item in requests:
        if not item.recording_url:
            continue
        try:
            delete_recording(item.recording_url)
        except Exception as exc:  # kept for the next run; the others go on
            failed += 1
            log.warning("recording of request %s not deleted at Twilio: %s", item.id,
                        type(exc).__name__)
            continue
        item.recording_url = None
        item.recording_duration = None
        deleted += 1
    return deleted, failed


def _changed(session: Session, statement: Any) -> int:
    """Run a bulk UPDATE/DELETE; how many rows it touched."""
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(cast(CursorResult[Any], result).rowcount)


def enforce_retention(session: Session, now: datetime, policy: RetentionPolicy,
                      delete_recording: RecordingDeleter) -> dict[str, int]:
    """Delete what has outlived its retention period; returns counts per kind."""
    counts: dict[str, int] = {}
    old = session.scalars(select(CallbackRequest).where(
        *_closed(now - timedelta(days=policy.recordings_days)),
        CallbackRequest.recording_url.is_not(None))).all()
    counts["recordings"], counts["recordings_failed"] = _drop_recordings(
        session, list(old), delete_recording)

    words_before = now - timedelta(days=policy.words_days)
    counts["request_words"] = _changed(session,
        update(CallbackRequest).where(*_closed(words_before), or_(
            CallbackRequest.words != "", CallbackRequest.transcript.is_not(None),
            CallbackRequest.outcome_note.is_not(None)))
        .values(words="", transcript=None, outcome_note=None))
    ended_calls = select(Call.id).where(Call.state == "ended",
                                        Call.started_at < words_before)
    counts["call_words"] = _changed(session,
        update(Call).where(Call.id.in_(ended_calls), or_(Call.words.is_not(None),
                                                         Call.not_digital_cue.is_not(None)))
        .values(words=None, not_digital_cue=None))
    _changed(session,
        update(CallEvent).where(CallEvent.call_id.in_(ended_calls), or_(
            CallEvent.words.is_not(None), CallEvent.digits.is_not(None),
            CallEvent.response.is_not(None)))
        .values(words=None, digits=None, detail=None, response=None))

    calls_before = now - timedelta(days=policy.calls_days)
    expired = session.scalars(select(CallbackRequest).where(*_closed(calls_before))).all()
    _drop_recordings(session, list(expired), delete_recording)
    gone = [item for item in expired if not item.recording_url]
    for item in gone:
        session.delete(item)
    counts["requests"] = len(gone)
    counts["calls"] = _changed(session, delete(Call).where(Call.started_at < calls_before,
                                                           Call.state == "ended"))

    profiles_before = now - timedelta(days=policy.profiles_days)
    counts["callers"] = _expire_callers(session, profiles_before)
    # A caller who keeps calling keeps their current flag, but not years of reasons for it.
    counts["flag_changes"] = _changed(session, delete(DigitalProfileChange).where(
        DigitalProfileChange.at < profiles_before))
    session.flush()
    return counts


def _expire_callers(session: Session, before: datetime) -> int:
    """Callers with no request or call since `before` (and none open) are forgotten."""
    recent_requests = select(CallbackRequest.caller_id).where(
        or_(CallbackRequest.created_at >= before,
            CallbackRequest.status.in_(UNFINISHED_STATUSES)),
        CallbackRequest.caller_id.is_not(None))
    callers = session.scalars(select(Caller).where(
        Caller.created_at < before, Caller.id.not_in(recent_requests))).all()
    erased = 0
    for caller in callers:
        recent_call = session.scalar(select(Call.id).where(
            Call.from_number == caller.phone, Call.started_at >= before).limit(1))
        if recent_call is None:
            session.delete(caller)  # its flag history goes with it (cascade)
            erased += 1
    return erased


def _reference(phone: str) -> str:
    """A short one-way reference for the audit line: matches a later complaint about the
    same number only for someone who already has the number."""
    return hashlib.sha256(f"erasure|{phone}".encode()).hexdigest()[:12]


def _caller_rows(session: Session, phone: str) -> tuple[Caller | None, list[CallbackRequest],
                                                        list[Call]]:
    caller = session.scalar(select(Caller).where(Caller.phone == phone))
    requests = list(session.scalars(select(CallbackRequest).where(or_(
        CallbackRequest.phone == phone,
        CallbackRequest.caller_id == (caller.id if caller else -1)))))
    calls = list(session.scalars(select(Call).where(or_(
        Call.from_number == phone, Call.callback_number == phone))))
    return caller, requests, calls


def erase_caller(session: Session, phone: str, delete_recording: RecordingDeleter, *,
                 actor: str) -> dict[str, int]:
    """Erase everything we hold about one caller (on their request); raises ValueError for a
    number that cannot be read, RuntimeError if a recording could not be deleted at Twilio
    (nothing is erased then: try again)."""
    number = normalize_phone(phone)
    caller, requests, calls = _caller_rows(session, number)
    deleted, failed = _drop_recordings(session, requests, delete_recording)
    if failed:
        raise RuntimeError(f"{failed} recording(s) could not be deleted at Twilio; "
                           "nothing was erased, try again")
    for item in requests:
        session.delete(item)
    for call in calls:
        session.delete(call)
    flags = len(caller.changes) if caller is not None else 0
    if caller is not None:
        session.delete(caller)
    session.flush()
    counts = {"callers": int(caller is not None), "requests": len(requests),
              "calls": len(calls), "recordings": deleted, "flag_changes": flags}
    audit.info("caller erased on request by %s: ref %s, %s", actor, _reference(number),
               ", ".join(f"{name} {count}" for name, count in counts.items()))
    return counts


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_caller(session: Session, phone: str) -> dict[str, Any]:
    """Everything we hold about one caller, as JSON-ready data (their copy, on request)."""
    number = normalize_phone(phone)
    caller, requests, calls = _caller_rows(session, number)
    profile = None
    if caller is not None:
        profile = {
            "phone": caller.phone, "language": caller.language,
            "not_digital": caller.not_digital, "not_digital_source": caller.not_digital_source,
            "not_digital_reason": caller.not_digital_reason,
            "not_digital_since": _iso(caller.not_digital_since),
            "created_at": _iso(caller.created_at),
            "changes": [{"at": _iso(c.at), "from": c.from_value, "to": c.to_value,
                         "source": c.source, "reason": c.reason} for c in caller.changes]}
    return {
        "phone": number,
        "profile": profile,
        "callback_requests": [{
            "id": r.id, "created_at": _iso(r.created_at), "status": r.status,
            "intent": r.intent, "words": r.words, "transcript": r.transcript,
            "has_recording": bool(r.recording_url), "language": r.language,
            "not_digital": r.not_digital, "outcome_note": r.outcome_note,
            "completed_at": _iso(r.completed_at),
            "attempts": [{"created_at": _iso(a.created_at), "status": a.status,
                          "duration": a.duration} for a in r.attempts]} for r in requests],
        "calls": [{
            "started_at": _iso(c.started_at), "ended_at": _iso(c.ended_at),
            "language": c.language, "outcome": c.outcome, "intent": c.intent,
            "words": c.words, "not_digital": c.not_digital,
            "events": [{"step": e.step, "words": e.words, "digits": e.digits,
                        "at": _iso(e.created_at)} for e in c.events]} for c in calls],
    }


def deleter_for_app(app: Any) -> RecordingDeleter:
    """Deletes recordings through the app's Twilio client (Twilio, or its local stand-in)."""
    return twilio_recording_deleter(app.extensions["twilio"])


@app_job
def enforce_retention_job() -> dict[str, int]:
    """Daily job (rq cron): apply the retention periods."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.extensions["db"].transaction() as session:
        counts = enforce_retention(session, app.extensions["clock"].now(),
                                   RetentionPolicy.from_config(app.config),
                                   deleter_for_app(app))
    log.info("retention applied: %s", ", ".join(f"{k} {v}" for k, v in counts.items()))
    return counts
