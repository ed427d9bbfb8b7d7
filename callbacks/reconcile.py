"""The reconciler: make Redis (or the in-process queue) match what the database says.

The database is the source of truth. Every minute (and on `flask --app app callbacks
reconcile`) we:

* put due retries and requests of vanished agents (expired leases) back in the queue;
* re-enqueue the job of every attempt still "pending" (its job was lost: Redis flushed,
  worker killed before it started) once its back-off is over (`tasks.due_again`: a try
  that failed with a 429/5xx waits as long as the job scheduled) - the job is idempotent,
  so a duplicate is harmless;
* recover attempts stuck in "requesting" (a worker killed during the REST call) once no
  status callback has arrived for a while: Twilio never accepted them, so they are
  placed again;
* ask Twilio for calls whose final status callback never came, and apply it;
* re-enqueue the transcription of recorded messages still "pending" past their due time
  (see `callbacks.recordings`; the job is idempotent too).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select

from callbacks.models import CallAttempt
from callbacks.outcomes import TERMINAL, apply_status
from callbacks.queue import promote_due
from callbacks.recordings import TRANSCRIPT_GRACE, due_for_transcription
from callbacks.recordings import enqueue as enqueue_transcription
from callbacks.tasks import due_again, job_id, place_call
from core.jobs import app_job

log = logging.getLogger(__name__)

PENDING_GRACE = timedelta(seconds=30)
REQUESTING_GRACE = timedelta(minutes=5)
SILENT_CALL = timedelta(hours=2)


def reconcile_now(app: Flask, now: datetime) -> dict[str, int]:
    """One reconciliation pass; returns what it did, by kind."""
    db, jobs = app.extensions["db"], app.extensions["jobs"]
    counts = {"promoted": 0, "reenqueued": 0, "recovered": 0, "refreshed": 0,
              "transcriptions": 0}
    with db.transaction() as session:
        counts["promoted"] = promote_due(session, now)
        stuck = session.scalars(select(CallAttempt).where(
            CallAttempt.status == "requesting", CallAttempt.call_sid.is_(None),
            CallAttempt.updated_at < now - REQUESTING_GRACE)).all()
        for attempt in stuck:
            attempt.status, attempt.updated_at = "pending", now
            # the interrupted try is undone, not counted as a failure to back off from
            attempt.dispatch_tries = max(attempt.dispatch_tries - 1, 0)
            attempt.error = "interrupted while placing the call; placed again"
            counts["recovered"] += 1
        waiting = session.scalars(select(CallAttempt).where(
            CallAttempt.status == "pending",
            CallAttempt.updated_at < now - PENDING_GRACE)).all()
        # a try that failed transiently waits out its back-off (its own job is scheduled)
        pending = [a.id for a in waiting if due_again(a) < now - PENDING_GRACE]
        pending += [a.id for a in stuck]
        silent = session.scalars(select(CallAttempt).where(
            CallAttempt.status.not_in(TERMINAL + ("pending", "requesting")),
            CallAttempt.call_sid.is_not(None),
            CallAttempt.updated_at < now - SILENT_CALL)).all()
        for attempt in silent:
            counts["refreshed"] += _refresh(app, session, attempt, now)
        untranscribed = due_for_transcription(session, now - TRANSCRIPT_GRACE)
    for attempt_id in dict.fromkeys(pending):
        jobs.enqueue(place_call, attempt_id, queue="calls", job_id=job_id(attempt_id))
        counts["reenqueued"] += 1
    for request_id in untranscribed:
        enqueue_transcription(jobs, request_id)
        counts["transcriptions"] += 1
    if any(counts.values()):
        log.info("reconciled callbacks: %s", counts)
    return counts


def _refresh(app: Flask, session: Any, attempt: CallAttempt, now: datetime) -> int:
    try:
        call = app.extensions["twilio"].calls(attempt.call_sid).fetch()
    except Exception as exc:  # reported and retried on the next pass
        log.warning("attempt %s: cannot fetch call status: %s", attempt.id,
                    type(exc).__name__)
        return 0
    status = str(call.status)
    if status not in TERMINAL:
        return 0
    duration = int(call.duration) if call.duration else None
    return int(apply_status(session, attempt, status=status, sequence=None, now=now,
                            duration=duration, answered_by=getattr(call, "answered_by", None)))


@app_job
def reconcile(reschedule_seconds: int = 0) -> dict[str, int]:
    """Job: one reconciliation pass; re-schedules itself when given a period."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    now = app.extensions["clock"].now()
    try:
        return reconcile_now(app, now)
    finally:
        if reschedule_seconds > 0:
            schedule(app, reschedule_seconds, now)


def schedule(app: Flask, every_seconds: int, now: datetime) -> str:
    """Schedule the next periodic pass (one job per period slot, so restarts don't pile up)."""
    when = now + timedelta(seconds=every_seconds)
    slot = int(when.timestamp()) // every_seconds
    return str(app.extensions["jobs"].enqueue(reconcile, every_seconds, queue="default", at=when,
                                              job_id=f"callbacks-reconcile-{slot}"))
