"""Placing callback calls: the agent's request becomes an attempt row, then an RQ job.

The job is idempotent: it moves the attempt from "pending" to "requesting" with a
compare-and-set UPDATE before talking to Twilio, so a second run (a duplicate job, or the
reconciler re-enqueueing after Redis lost it) finds nothing to do and never dials twice.

Transient is never final. HTTP 429, any 5xx and network errors are retried with
exponential back-off and jitter (`retry_delay`) for DISPATCH_BUDGET (hours, counted from
the attempt's creation); the attempt waits "pending" with `updated_at` at the moment it
failed, and the reconciler re-enqueues it only after the longest delay that try could
have drawn (`due_again`), so it honours the back-off. When the budget is spent, or Twilio
refuses the call (another 4xx), the attempt ends "failed" and the request goes back to
its agent (then to the queue if their lease lapses) with the error: a callback leaves the
queue only by a person's outcome. Nothing is ever dropped silently.

Back-offs grow to LONGEST_RETRY, but the end of an outage is noticed within a minute: the
reconciler tries one backing-off attempt early each pass (`probe_candidate`), and as soon
as Twilio takes a call after failures, every attempt backing off is tried at once
(`release_backing_off`).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioException, TwilioRestException

from callbacks import settings as queue_settings
from callbacks.models import CLAIMED, DIALLING, QUEUED, CallAttempt, CallbackRequest
from callbacks.policy import calling_hours, policy_for
from callbacks.queue import QueueError, renew_lease
from core.jobs import JobQueue, app_job
from core.models import User
from core.privacy import mask_phone
from core.webhooks import public_url

log = logging.getLogger(__name__)

MODES = ("agent_first", "caller_first")
AGENT_RING_SECONDS = 30
DISPATCH_BUDGET = timedelta(hours=4)  # how long transient errors are retried
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(minutes=15)
TRANSIENT_STATUSES = (429,)  # plus every 5xx


def longest_delay(tries: int) -> timedelta:
    """The longest wait after `tries` failed tries: 30 s, 1 min, 2 min, ... up to 15 min."""
    return min(LONGEST_RETRY, FIRST_RETRY * 2 ** max(tries - 1, 0))


def retry_delay(tries: int, draw: Callable[[float, float], float] = random.uniform) -> timedelta:
    """The wait after `tries` failed tries: between half and all of `longest_delay`
    ("equal jitter"), so workers retrying after one outage do not all return at once."""
    longest = longest_delay(tries).total_seconds()
    return timedelta(seconds=draw(longest / 2, longest))


def earliest_retry(attempt: CallAttempt) -> datetime:
    """The soonest a pending attempt may be tried again (the shortest delay it could draw)."""
    if attempt.dispatch_tries == 0:
        return attempt.updated_at
    return attempt.updated_at + longest_delay(attempt.dispatch_tries) / 2


def due_again(attempt: CallAttempt) -> datetime:
    """When a pending attempt may be placed again (its back-off, if a try failed)."""
    return due_again_at(attempt.updated_at, attempt.dispatch_tries)


def due_again_at(failed_at: datetime, tries: int) -> datetime:
    """`due_again` of an attempt that failed `tries` times, the last at `failed_at`."""
    if tries == 0:
        return failed_at
    return failed_at + longest_delay(tries)


def is_transient(exc: Exception) -> bool:
    """Whether a failed REST call may succeed if tried again later."""
    if isinstance(exc, TwilioRestException):
        return exc.status in TRANSIENT_STATUSES or exc.status >= 500
    return isinstance(exc, TwilioException | OSError)  # network errors, timeouts


class QueueUnavailable(Exception):
    """The job queue (Redis) refused the job placing a call: nothing was placed; HTTP 503."""


def job_id(attempt_id: int) -> str:
    """The job id of an attempt: re-enqueueing it never makes a second job."""
    return f"callback-attempt-{attempt_id}"


def start_call(session: Session, jobs: JobQueue, request_id: int, agent_id: int, now: datetime,
               mode: str = "agent_first", fallback_number: str | None = None) -> CallAttempt:
    """Record an attempt for the agent's claimed request and enqueue placing it; commits.

    Refuses (QueueError) outside calling hours, without a number, or for a request the
    agent does not hold. When the job queue cannot take the job (Redis down), the attempt
    is closed as failed and the request given back to the agent before QueueUnavailable is
    raised: the agent can simply try again (it used to stay "dialling", refused with 409).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}")
    request = session.get(CallbackRequest, request_id)
    if request is None:
        raise LookupError(f"no callback request {request_id}")
    if request.status not in (CLAIMED, QUEUED) or (
            request.status == CLAIMED and request.claimed_by != agent_id):
        raise QueueError(f"claim the request first (it is {request.status})")
    if request.needs_number or not request.phone:
        raise QueueError("this request has no number to call yet")
    settings = queue_settings.load(session)
    if not calling_hours(settings.hours).is_open(now):
        raise QueueError("outside calling hours: callers are never called at night or on "
                         "holidays")
    agent = session.get(User, agent_id)
    agent_phone = (agent.phone_number if agent else None) or fallback_number
    if not agent_phone:
        raise QueueError("no phone number for the agent (set it on the user, or "
                         "CALLBACK_AGENT_NUMBER)")
    policy = policy_for(request.not_digital)
    attempt = CallAttempt(request=request, agent_id=agent_id, mode=mode, status="pending",
                          number=agent_phone if mode == "agent_first" else request.phone,
                          ring_timeout=policy.ring_timeout, created_at=now, updated_at=now)
    session.add(attempt)
    request.status, request.claimed_by, request.claimed_at = DIALLING, agent_id, (
        request.claimed_at or now)
    request.last_error = None
    renew_lease(session, request.id, agent_id, now)
    session.commit()
    try:
        jobs.enqueue(place_call, attempt.id, queue="calls", job_id=job_id(attempt.id))
    except Exception as exc:
        error = f"job queue unavailable ({type(exc).__name__}): the call was not placed"
        log.error("attempt %s: %s", attempt.id, error)
        if _undo_unqueued(session, attempt.id, request.id, now, error):
            raise QueueUnavailable("the call could not be queued (job queue unavailable); "
                                   "nothing was placed: try again in a minute") from exc
    return attempt


def _undo_unqueued(session: Session, attempt_id: int, request_id: int, now: datetime,
                   error: str) -> bool:
    """Close an attempt whose job never reached the queue; False if a job took it after
    all (the enqueue failed only while reading Redis's reply). Commits."""
    session.rollback()
    closed = session.execute(  # type: ignore[attr-defined]
        update(CallAttempt).where(CallAttempt.id == attempt_id, CallAttempt.status == "pending",
                                  CallAttempt.dispatch_tries == 0)
        .values(status="failed", error=error, updated_at=now, ended_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if closed:
        session.execute(
            update(CallbackRequest).where(CallbackRequest.id == request_id,
                                          CallbackRequest.status == DIALLING)
            .values(status=CLAIMED, last_error=error, updated_at=now)
            .execution_options(synchronize_session=False))
    session.commit()
    session.expire_all()
    return bool(closed)


def _call_params(attempt: CallAttempt, app: Any) -> dict[str, Any]:
    config = app.config
    status_url = public_url(app, "callbacks_twilio.status", attempt_id=attempt.id)
    params: dict[str, Any] = {
        "to": attempt.number, "from_": config["TWILIO_CALLER_ID"], "method": "POST",
        "status_callback": status_url, "status_callback_method": "POST",
        "status_callback_event": ["initiated", "ringing", "answered", "completed"],
    }
    if attempt.mode == "caller_first":
        # Asynchronous AMD: the caller hears us at once (synchronous AMD meant seconds of
        # silence after "hello", and people hang up); a machine's verdict comes once its
        # greeting has ended (DetectMessageEnd), when our message can be left on it.
        params.update(url=public_url(app, "callbacks_twilio.announce", attempt_id=attempt.id),
                      timeout=attempt.ring_timeout, machine_detection="DetectMessageEnd",
                      async_amd="true", async_amd_status_callback_method="POST",
                      async_amd_status_callback=public_url(app, "callbacks_twilio.amd",
                                                           attempt_id=attempt.id))
    else:
        params.update(url=public_url(app, "callbacks_twilio.bridge", attempt_id=attempt.id),
                      timeout=AGENT_RING_SECONDS)
    return params


@app_job
def place_call(attempt_id: int, early: bool = False) -> str:
    """Job: place the outbound call of an attempt through Twilio's REST API (once).

    `early`: try now although the attempt is backing off (a probe of whether Twilio is
    back, or Twilio took another call just now)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    db, clock = app.extensions["db"], app.extensions["clock"]
    now = clock.now()
    with db.transaction() as session:
        waiting = session.get(CallAttempt, attempt_id)
        if (not early and waiting is not None and waiting.status == "pending"
                and waiting.dispatch_tries and now < earliest_retry(waiting)):
            log.info("attempt %s: still backing off until %s (a duplicate job)", attempt_id,
                     earliest_retry(waiting).isoformat())
            return "backing-off"
        tried = waiting.dispatch_tries if waiting is not None else 0
        taken = session.execute(
            update(CallAttempt).where(CallAttempt.id == attempt_id,
                                      CallAttempt.status == "pending",
                                      CallAttempt.dispatch_tries == tried)
            .values(status="requesting", updated_at=now, dispatch_tries=tried + 1)
            .execution_options(synchronize_session=False)).rowcount
        if not taken:
            log.info("attempt %s: nothing to do (already placed or ended)", attempt_id)
            return "skipped"
        session.expire_all()
        attempt = session.get(CallAttempt, attempt_id)
        assert attempt is not None
        params, tries = _call_params(attempt, app), attempt.dispatch_tries
        started = attempt.created_at
        open_now = calling_hours(queue_settings.load(session).hours).is_open(now)
    if not open_now:  # a retry that outlived the calling hours: never call at night
        return _give_up(app, attempt_id, "calling hours ended before Twilio took the call")
    log.info("attempt %s: calling %s (%s)", attempt_id, mask_phone(params["to"]),
             params.get("machine_detection") and "caller first" or "agent first")
    try:
        call = app.extensions["twilio"].calls.create(**params)
    except (TwilioException, OSError) as exc:
        error = (f"Twilio {exc.status} ({exc.code}): {exc.msg}"
                 if isinstance(exc, TwilioRestException) else f"{type(exc).__name__}: {exc}")
        if not is_transient(exc):
            return _give_up(app, attempt_id, f"Twilio refused the call: {error}")
        if now - started < DISPATCH_BUDGET:
            return _retry_later(app, attempt_id, tries, error)
        return _give_up(app, attempt_id, f"Twilio unreachable for {DISPATCH_BUDGET}: {error}")
    # Compare-and-set: status callbacks for this call may already be applied by a web
    # process; a read-then-write here could put a finished attempt back to "queued".
    with db.transaction() as session:
        session.execute(
            update(CallAttempt).where(CallAttempt.id == attempt_id,
                                      CallAttempt.call_sid.is_(None))
            .values(call_sid=call.sid).execution_options(synchronize_session=False))
        session.execute(
            update(CallAttempt).where(CallAttempt.id == attempt_id,
                                      CallAttempt.status == "requesting")
            .values(status=str(call.status or "queued"), updated_at=clock.now())
            .execution_options(synchronize_session=False))
    if tries > 1 or early:
        release_backing_off(app, attempt_id)
    return str(call.sid)


def release_backing_off(app: Any, placed_id: int) -> int:
    """Twilio took a call after failures: every other attempt backing off tries now,
    instead of waiting out back-offs of up to LONGEST_RETRY; how many were released."""
    with app.extensions["db"].transaction() as session:
        waiting = session.execute(select(CallAttempt.id, CallAttempt.dispatch_tries).where(
            CallAttempt.status == "pending", CallAttempt.dispatch_tries > 0,
            CallAttempt.id != placed_id)).all()
    for attempt_id, tries in waiting:
        app.extensions["jobs"].enqueue(place_call, attempt_id, True, queue="calls",
                                       job_id=f"{job_id(attempt_id)}-early{tries}")
    if waiting:
        log.info("Twilio is taking calls again: %d attempt(s) backing off try now",
                 len(waiting))
    return len(waiting)


def probe_candidate(session: Session, now: datetime) -> tuple[int, int] | None:
    """The attempt to try early, as a probe of whether Twilio is back: of the attempts
    backing off, the one that failed longest ago (the reconciler probes once a pass: one
    REST request a minute, whatever the queue's size). (attempt id, tries) or None."""
    rows = session.execute(select(CallAttempt.id, CallAttempt.dispatch_tries,
                                  CallAttempt.updated_at).where(
        CallAttempt.status == "pending", CallAttempt.dispatch_tries > 0)
        .order_by(CallAttempt.updated_at)).all()
    oldest = next((row for row in rows
                   if now < due_again_at(row.updated_at, row.dispatch_tries)), None)
    return (oldest.id, oldest.dispatch_tries) if oldest is not None else None


def _retry_later(app: Any, attempt_id: int, tries: int, error: str) -> str:
    db, clock = app.extensions["db"], app.extensions["clock"]
    now = clock.now()
    when = now + retry_delay(tries)
    with db.transaction() as session:
        attempt = session.get(CallAttempt, attempt_id)
        if attempt is None or attempt.status != "requesting":
            return "skipped"
        attempt.status, attempt.error, attempt.updated_at = "pending", error[:300], now
        attempt.request.last_error = f"retrying: {error}"[:300]
    log.warning("attempt %s: %s; retrying at %s", attempt_id, error, when.isoformat())
    app.extensions["jobs"].enqueue(place_call, attempt_id, queue="calls", at=when,
                                   job_id=f"{job_id(attempt_id)}-retry{tries}")
    return "retry"


def _give_up(app: Any, attempt_id: int, error: str) -> str:
    """The attempt failed for good; the request goes back to its agent, never closed."""
    db, clock = app.extensions["db"], app.extensions["clock"]
    with db.transaction() as session:
        attempt = session.get(CallAttempt, attempt_id)
        if attempt is None:
            return "skipped"
        now = clock.now()
        attempt.status, attempt.error, attempt.updated_at, attempt.ended_at = (
            "failed", error[:300], now, now)
        request = attempt.request
        if request.status == DIALLING:  # back to the agent who asked; the lease still runs
            request.status = CLAIMED if request.claimed_by is not None else QUEUED
        request.last_error, request.updated_at = error[:300], now
    log.error("attempt %s failed: %s", attempt_id, error)
    return "failed"
