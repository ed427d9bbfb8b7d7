"""The queue as agents see it: list with explanations, claim the next request, release it,
record the outcome.

A claim is atomic and is a lease. On PostgreSQL the next request is picked with
`SELECT ... ORDER BY rank_key DESC LIMIT 1 FOR UPDATE SKIP LOCKED`, so fifty agents
claiming at once each lock a different row without waiting on each other; the claim is
a single autocommitted UPDATE (one round trip, no BEGIN/COMMIT) reading the partial index
`ix_callback_requests_claimable` (queued rows only, in claim order). SQLite has no
row locks: the claim runs in a `BEGIN IMMEDIATE` transaction, which takes the database's
write lock first, so claims are serialised. On both, the UPDATE re-checks the status
(compare-and-set), so a row can never be handed to two agents. A lease that is not renewed
(`renew_lease`, called on every agent action) expires and the request is claimable again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import literal_column, select, update
from sqlalchemy.orm import Session

from callbacks import settings as queue_settings
from callbacks.models import (
    CANCELLED,
    CLAIMED,
    COMPLETED,
    CONNECTED,
    FAILED,
    NO_ANSWER,
    OPEN_STATUSES,
    QUEUED,
    RETRY_SCHEDULED,
    CallbackRequest,
)
from callbacks.priority import explain
from callbacks.promise import record_outcome, stored_promise

log = logging.getLogger(__name__)

OUTCOMES = (COMPLETED, NO_ANSWER, FAILED, CANCELLED, RETRY_SCHEDULED)
# After a call that connected: resolved, call again / follow-up, or a wrong number.
AFTER_CONNECTED = (COMPLETED, RETRY_SCHEDULED, FAILED)
# How long a connected call stays the business of the agent who made it alone: after this,
# any agent may take it over and record the outcome (the agent may have gone home).
NOTES_WINDOW = timedelta(hours=2)


class QueueError(Exception):
    """An agent action that is not possible now (the message says why); HTTP 409."""


def _claimable(now: datetime) -> Any:
    """Rows an agent may take now: queued, due, and with a number to dial.

    A single status value, written as a literal (not a bound parameter, which a prepared
    plan could not match), keeps the claim on the partial index
    `ix_callback_requests_claimable`; due retries and expired leases are turned back into
    "queued" by `promote_due` (run by the reconciler every minute and before listing).
    """
    return (CallbackRequest.status == literal_column(f"'{QUEUED}'"),
            CallbackRequest.not_before <= now, CallbackRequest.needs_number.is_(False))


def claim_next(session: Session, agent_id: int, now: datetime,
               lease_minutes: int | None = None) -> CallbackRequest | None:
    """Give the agent the highest-priority claimable request, or None; commits.

    One statement: UPDATE ... WHERE id = (SELECT id ... ORDER BY rank_key DESC LIMIT 1
    [FOR UPDATE SKIP LOCKED]) RETURNING the row. Safe with any number of agents claiming
    at the same time on PostgreSQL and SQLite. On PostgreSQL the statement runs in
    autocommit mode: it is atomic on its own, and that saves the BEGIN and COMMIT round
    trips.
    """
    if lease_minutes is None:
        lease_minutes = queue_settings.load(session).hours.lease_minutes
    session.commit()  # start the claim in a transaction of its own
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    else:
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    pick = (select(CallbackRequest.id).where(*_claimable(now))
            .order_by(CallbackRequest.rank_key.desc(), CallbackRequest.id).limit(1))
    if not sqlite:
        pick = pick.with_for_update(skip_locked=True)
    claimed = session.scalars(
        update(CallbackRequest)
        .where(CallbackRequest.id == pick.scalar_subquery(), *_claimable(now))
        .values(status=CLAIMED, claimed_by=agent_id, claimed_at=now,
                lease_expires_at=now + timedelta(minutes=lease_minutes), updated_at=now)
        .returning(CallbackRequest)
        .execution_options(populate_existing=True, synchronize_session=False)).first()
    session.commit()
    return claimed


def _owned(session: Session, request_id: int, agent_id: int | None) -> CallbackRequest:
    request = session.get(CallbackRequest, request_id)
    if request is None:
        raise LookupError(f"no callback request {request_id}")
    if agent_id is not None and request.status == CLAIMED and request.claimed_by != agent_id:
        raise QueueError("this request is claimed by another agent")
    return request


def renew_lease(session: Session, request_id: int, agent_id: int, now: datetime) -> None:
    """Extend the agent's lease on a request they hold (any activity renews it)."""
    request = _owned(session, request_id, agent_id)
    if request.claimed_by == agent_id and request.status in (CLAIMED, "dialling"):
        lease = queue_settings.load(session).hours.lease_minutes
        request.lease_expires_at = now + timedelta(minutes=lease)
        request.updated_at = now


def release(session: Session, request_id: int, agent_id: int, now: datetime) -> CallbackRequest:
    """Give a claimed request back to the queue, keeping its place."""
    request = _owned(session, request_id, agent_id)
    if request.status != CLAIMED:
        raise QueueError(f"only a claimed request can be released (it is {request.status})")
    request.status, request.claimed_by = QUEUED, None
    request.lease_expires_at, request.updated_at = None, now
    session.flush()
    return request


def record_agent_outcome(session: Session, request_id: int, agent_id: int, outcome: str,
                         now: datetime, note: str = "",
                         retry_at: datetime | None = None) -> CallbackRequest:
    """The agent says how it went: completed, no_answer, failed, cancelled or retry.

    A request whose call connected takes the outcomes of `follow_up_connected`."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")
    request = _owned(session, request_id, agent_id)
    if request.status == CONNECTED:
        return follow_up_connected(session, request_id, agent_id, outcome, now, note=note,
                                   retry_at=retry_at)
    if not request.is_open and request.status != NO_ANSWER:
        raise QueueError(f"request {request_id} is already {request.status}")
    request.status, request.updated_at = outcome, now
    request.outcome_note = note[:500] or request.outcome_note
    request.lease_expires_at = None
    if outcome == RETRY_SCHEDULED:
        request.not_before = retry_at or now
        request.claimed_by = None
    if outcome == COMPLETED:
        request.completed_at = now
        record_outcome(request, now)
    session.flush()
    return request


def follow_up_connected(session: Session, request_id: int, agent_id: int, outcome: str,
                        now: datetime, note: str = "",
                        retry_at: datetime | None = None) -> CallbackRequest:
    """After a call that connected (the request is "connected"), the agent's outcome.

    "completed" closes it as resolved; "retry_scheduled" (call again or a follow-up)
    reopens it for `retry_at`; "failed" records a wrong number. Whatever the outcome, the
    promise is judged on the connected call (the caller was reached when we said) and
    only now, once a person confirmed who answered.
    """
    request = _owned(session, request_id, agent_id)
    if request.status != CONNECTED:
        raise QueueError(f"request {request_id} has not connected (it is {request.status})")
    if request.claimed_by not in (None, agent_id):
        raise QueueError("this call was handled by another agent")
    if outcome not in AFTER_CONNECTED:
        raise ValueError("after a connected call the outcome is completed, retry or failed")
    if outcome == RETRY_SCHEDULED:
        if retry_at is None or retry_at <= now:
            raise ValueError("a follow-up needs a time in the future")
        request.not_before = retry_at
    request.outcome_note = note[:500] or request.outcome_note
    request.updated_at, request.lease_expires_at = now, None
    record_outcome(request, request.connected_at or now)
    if outcome == RETRY_SCHEDULED:
        request.status, request.claimed_by = RETRY_SCHEDULED, None
    elif outcome == FAILED:
        request.status = FAILED
    else:
        request.status, request.completed_at = COMPLETED, now
    session.flush()
    log.info("callback %s: outcome %s recorded by agent %s after the call connected",
             request_id, outcome, agent_id)
    return request


def take_over_outcome(session: Session, request_id: int, agent_id: int,
                      now: datetime) -> CallbackRequest:
    """Another agent takes a connected call whose outcome is still missing after
    NOTES_WINDOW, to record it themselves (the agent who called may have left)."""
    request = session.get(CallbackRequest, request_id)
    if request is None:
        raise LookupError(f"no callback request {request_id}")
    if request.status != CONNECTED:
        raise QueueError(f"request {request_id} is not awaiting an outcome "
                         f"(it is {request.status})")
    mine = request.claimed_by in (None, agent_id)
    if not mine and (request.connected_at or now) > now - NOTES_WINDOW:
        raise QueueError("the agent who made the call still has time to record the outcome")
    previous, request.claimed_by, request.updated_at = request.claimed_by, agent_id, now
    session.flush()
    log.info("callback %s: outcome taken over by agent %s from agent %s", request_id, agent_id,
             previous)
    return request


REOPENABLE = (FAILED, NO_ANSWER, CANCELLED)


def reopen(session: Session, request_id: int, agent_id: int, now: datetime,
           note: str = "") -> CallbackRequest:
    """An agent puts a closed request (failed, no answer, cancelled) back in the queue.

    Only people close requests (`record_agent_outcome`), and a person can change their
    mind: the request is claimable again at once, keeping its place and its history.
    """
    request = _owned(session, request_id, agent_id)
    if request.status not in REOPENABLE:
        raise QueueError(f"only a failed, unanswered or cancelled request can be reopened "
                         f"(it is {request.status})")
    request.status, request.not_before, request.claimed_by = QUEUED, now, None
    request.completed_at, request.lease_expires_at, request.updated_at = None, None, now
    request.outcome_note = (note[:500] or request.outcome_note)
    session.flush()
    log.info("callback %s reopened by agent %s", request_id, agent_id)
    return request


def promote_due(session: Session, now: datetime) -> int:
    """Due retries and requests whose agent vanished (lease expired) go back to "queued"."""
    retries = session.execute(
        update(CallbackRequest).where(CallbackRequest.status == RETRY_SCHEDULED,
                                      CallbackRequest.not_before <= now)
        .values(status=QUEUED, updated_at=now).execution_options(synchronize_session=False))
    expired = session.execute(
        update(CallbackRequest).where(CallbackRequest.status == CLAIMED,
                                      CallbackRequest.lease_expires_at < now)
        .values(status=QUEUED, claimed_by=None, lease_expires_at=None, updated_at=now)
        .execution_options(synchronize_session=False))
    return int(retries.rowcount) + int(expired.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class QueueEntry:
    """A request as listed for agents, with why it sits where it does."""

    request: CallbackRequest
    position: int
    score: float
    explanation: str


def list_queue(session: Session, now: datetime, *, statuses: tuple[str, ...] = OPEN_STATUSES,
               lang: str = "en", limit: int = 100, offset: int = 0) -> list[QueueEntry]:
    """Requests in priority order with the explanation of each position."""
    settings = queue_settings.load(session)
    rows = session.scalars(
        select(CallbackRequest).where(CallbackRequest.status.in_(statuses))
        .order_by(CallbackRequest.rank_key.desc(), CallbackRequest.id)
        .limit(limit).offset(offset))
    entries = []
    for position, request in enumerate(rows, start=offset + 1):
        why = explain(request, now, settings.weights, lang, settings.hours.timezone)
        entries.append(QueueEntry(request, position, why.score, why.text()))
    return entries


def to_json(request: CallbackRequest, timezone: str = "Europe/Rome") -> dict[str, Any]:
    """A request as JSON-ready data for the API and the console."""
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "id": request.id, "status": request.status, "phone": request.phone,
        "needs_number": request.needs_number, "number_problem": request.number_problem,
        "intent": request.intent, "words": request.words, "transcript": request.transcript,
        "transcript_status": request.transcript_status,
        "transcript_confidence": request.transcript_confidence,
        "has_recording": bool(request.recording_url),
        "recording_duration": request.recording_duration,
        "language": request.language, "source": request.source,
        "not_digital": request.not_digital, "times_requested": request.times_requested,
        "window_start": iso(request.window_start), "window_end": iso(request.window_end),
        "not_before": iso(request.not_before), "promised_by": iso(request.promised_by),
        "promise": {lang: stored_promise(request).text(lang, timezone) for lang in ("it", "en")},
        "promise_kept": request.promise_kept, "claimed_by": request.claimed_by,
        "lease_expires_at": iso(request.lease_expires_at),
        "attempts_made": request.attempts_made, "last_error": request.last_error,
        "outcome_note": request.outcome_note, "created_at": iso(request.created_at),
        "connected_at": iso(request.connected_at), "completed_at": iso(request.completed_at),
        "awaits_outcome": request.awaits_outcome,
        "attempts": [{"id": a.id, "mode": a.mode, "status": a.status, "call_sid": a.call_sid,
                      "answered_by": a.answered_by, "duration": a.duration, "error": a.error,
                      "created_at": iso(a.created_at)} for a in request.attempts],
    }


def caller_history(session: Session, caller_id: int) -> list[CallbackRequest]:
    """Every request of a caller, newest first (for the agent's view of the caller)."""
    return list(session.scalars(select(CallbackRequest).where(
        CallbackRequest.caller_id == caller_id).order_by(CallbackRequest.id.desc())))
