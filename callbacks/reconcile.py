"""The reconciler: make Redis (or the in-process queue) match what the database says.

The database is the source of truth. Every minute (and on `flask --app app callbacks
reconcile`) we:

* put due retries and requests of vanished agents (expired leases) back in the queue;
* re-enqueue the job of every attempt still "pending" (its job was lost: Redis flushed,
  worker killed before it started) once its back-off is over (`tasks.due_again`: a try
  that failed with a 429/5xx waits as long as the job scheduled) - the job is idempotent,
  so a duplicate is harmless;
* recover attempts stuck in "requesting" (a worker killed during the REST call) once
  REQUESTING_GRACE has passed without a call sid: the REST request gives up after 10 s
  (`core.twilio_client`), so by then no live worker is still waiting for Twilio; they are
  placed again;
* while attempts back off after 429/5xx, try the one that failed longest ago early (a
  probe, one a pass: its success releases every other one at once);
* ask Twilio about every placed call we have heard nothing of for CALL_CHECK (a lost or
  refused status callback: Twilio does not retry one that got a 500), and apply what it
  says; a call still going on is asked about again a minute later. A callback leaves
  "dialling" within a couple of reconciler passes of its call ending, not hours later;
* give back to its agent a request left "dialling" with no live attempt;
* book the callers a web process spooled to local disk while the database was away
  (`ivr.spooled`; SPOOL_DIR, on the host the reconciler runs on);
* re-enqueue the transcription of recorded messages still "pending" past their due time
  (see `callbacks.recordings`; the job is idempotent too).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select

from callbacks.models import CLAIMED, DIALLING, QUEUED, CallAttempt, CallbackRequest
from callbacks.outcomes import TERMINAL, apply_status
from callbacks.queue import promote_due
from callbacks.recordings import TRANSCRIPT_GRACE, due_for_transcription
from callbacks.recordings import enqueue as enqueue_transcription
from callbacks.tasks import due_again, job_id, place_call, probe_candidate
from core.jobs import app_job
from ivr.spooled import replay_spool

log = logging.getLogger(__name__)

PENDING_GRACE = timedelta(seconds=30)
REQUESTING_GRACE = timedelta(seconds=40)  # 4 x the REST request's 10 s timeout
CALL_CHECK = timedelta(seconds=60)  # how long a placed call may go unheard of
LIVE = ("pending", "requesting", "queued", "initiated", "ringing", "in-progress", "answered")


def reconcile_now(app: Flask, now: datetime) -> dict[str, int]:
    """One reconciliation pass; returns what it did, by kind."""
    db, jobs = app.extensions["db"], app.extensions["jobs"]
    counts = {"promoted": 0, "reenqueued": 0, "recovered": 0, "refreshed": 0,
              "released": 0, "transcriptions": 0, "spooled": 0, "probed": 0}
    # callers kept on disk while the database was away are booked first (ivr.spooled)
    counts["spooled"] = sum(replay_spool(app, now).values())
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
            CallAttempt.updated_at < now - CALL_CHECK)).all()
        for attempt in silent:
            counts["refreshed"] += _refresh(app, session, attempt, now)
        counts["released"] = _release_orphans(session, now)
        probe = probe_candidate(session, now) if not pending else None
        untranscribed = due_for_transcription(session, now - TRANSCRIPT_GRACE)
    for attempt_id in dict.fromkeys(pending):
        jobs.enqueue(place_call, attempt_id, queue="calls", job_id=job_id(attempt_id))
        counts["reenqueued"] += 1
    if probe is not None:  # Twilio back? one early try; its success releases the rest
        attempt_id, tries = probe
        jobs.enqueue(place_call, attempt_id, True, queue="calls",
                     job_id=f"{job_id(attempt_id)}-probe{tries}")
        counts["probed"] += 1
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
    duration = int(call.duration) if call.duration else None
    applied = apply_status(session, attempt, status=status, sequence=None, now=now,
                           duration=duration, answered_by=getattr(call, "answered_by", None))
    if status not in TERMINAL:
        attempt.updated_at = now  # still going on: asked about again in CALL_CHECK
        return 0
    return int(applied)


def _release_orphans(session: Any, now: datetime) -> int:
    """Requests "dialling" without a live attempt go back to their agent (or the queue)."""
    live = select(CallAttempt.id).where(CallAttempt.request_id == CallbackRequest.id,
                                        CallAttempt.status.in_(LIVE))
    orphans = session.scalars(select(CallbackRequest).where(
        CallbackRequest.status == DIALLING, CallbackRequest.updated_at < now - CALL_CHECK,
        ~live.exists()).with_for_update()).all()
    for request in orphans:
        request.status = CLAIMED if request.claimed_by is not None else QUEUED
        if request.status == CLAIMED and request.lease_expires_at is None:
            request.lease_expires_at = now
        request.updated_at = now
        request.last_error = (request.last_error or "the call ended without a result")[:300]
        log.warning("callback %s: dialling with no live call; back to %s", request.id,
                    request.status)
    return len(orphans)


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
