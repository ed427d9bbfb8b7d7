"""What Twilio tells us about a callback call, applied to the attempt and its request.

Twilio's status callbacks can arrive twice or out of order. Each is applied at most once:
a callback whose SequenceNumber is not newer than the last one applied is ignored, and an
attempt in a terminal state never leaves it. What the call means for the request
("connected" when a person answered on both sides, retry later, or back to the queue for
an agent once the policy's tries are spent) is decided once per attempt, guarded by
`ended_at`. A call never closes a request: "connected" waits for the agent's outcome
(resolved, follow-up, wrong number...), and only a person closes a request
(`queue.record_agent_outcome`), so an answered call is never counted as resolved unseen.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from callbacks import settings as queue_settings
from callbacks.models import (
    CLAIMED,
    CONNECTED,
    DIALLING,
    QUEUED,
    RETRY_SCHEDULED,
    CallAttempt,
    CallbackRequest,
)
from callbacks.policy import calling_hours, next_attempt_time, policy_for

log = logging.getLogger(__name__)

TERMINAL = ("completed", "busy", "no-answer", "failed", "canceled")
ORDER = {"pending": 0, "requesting": 1, "queued": 2, "initiated": 3, "ringing": 4,
         "in-progress": 5, "answered": 5}
MACHINE = ("machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other",
           "fax")


def is_machine(answered_by: str | None) -> bool:
    """Whether Twilio's AnsweredBy says an answering machine (or fax) picked up."""
    return (answered_by or "") in MACHINE


def apply_status(session: Session, attempt: CallAttempt, *, status: str, sequence: int | None,
                 now: datetime, duration: int | None = None, answered_by: str | None = None,
                 error: str | None = None, call_sid: str | None = None) -> bool:
    """Apply one status callback to the attempt of the first leg; False if it was stale."""
    if attempt.status in TERMINAL:
        return False
    if sequence is not None:
        if sequence <= attempt.last_sequence:
            return False
        attempt.last_sequence = sequence
    elif status not in TERMINAL and ORDER.get(status, 0) <= ORDER.get(attempt.status, 0):
        return False
    attempt.status = status
    attempt.call_sid = attempt.call_sid or call_sid
    attempt.answered_by = answered_by or attempt.answered_by
    attempt.updated_at = now
    if duration is not None:
        attempt.duration = duration
    if error:
        attempt.error = error[:300]
    if status in TERMINAL:
        first_leg_ended(session, attempt, now)
    session.flush()
    return True


def first_leg_ended(session: Session, attempt: CallAttempt, now: datetime) -> None:
    """Decide the request's fate when the call we placed has ended (once per attempt)."""
    if attempt.ended_at is not None:
        return
    attempt.ended_at = now
    request = attempt.request
    if attempt.callee_status is None and _connected_without_a_dial_result(attempt):
        # The <Dial>'s result never came (lost, or refused with a 500) but both sides had
        # a person on them: the caller was connected and must not be queued again.
        log.warning("attempt %s: no dial result; counted as connected (the agent took the "
                    "call and the caller's side answered)", attempt.id)
        callee_result(session, attempt, "completed", now)
        return
    if attempt.mode == "caller_first":
        if attempt.callee_status is None:  # the caller leg itself did not reach an agent
            callee = "machine" if is_machine(attempt.answered_by) else attempt.status
            if attempt.status == "completed" and not is_machine(attempt.answered_by):
                callee = "agent-unreached"
            callee_result(session, attempt, callee, now)
        return
    if attempt.callee_status is None:  # the agent's phone never reached the caller
        request.status = CLAIMED if request.status == DIALLING else request.status
        request.last_error = (
            "the agent's phone answered but the call was not taken (no 1 at the screening: "
            "a voicemail?)" if attempt.status == "completed" and attempt.agent_accepted_at is None
            else f"the agent's phone did not connect ({attempt.status})")
        if attempt.error:
            request.last_error += f": {attempt.error}"
        request.updated_at = now


def _connected_without_a_dial_result(attempt: CallAttempt) -> bool:
    """Whether the ended call had people on both sides, as far as we heard: the agent
    pressed 1 and the caller's leg answered and was not a machine (caller first: the call
    we placed is the caller's, answered; agent first: AMD on the caller's leg said so)."""
    if attempt.status != "completed" or attempt.agent_accepted_at is None:
        return False
    if is_machine(attempt.answered_by):
        return False
    return attempt.mode == "caller_first" or attempt.answered_by is not None


def callee_result(session: Session, attempt: CallAttempt, status: str, now: datetime,
                  error: str | None = None) -> None:
    """Apply how the caller's side ended: completed, busy, no-answer, failed, machine.

    "completed" (a person on both sides) leaves the request "connected", awaiting the
    agent's outcome; its promise is judged when that outcome is recorded.

    "agent-unreached" (the caller answered but no agent picked up) puts the request back
    in the queue at once without counting an attempt against the caller.
    """
    if attempt.callee_status is not None:
        return
    attempt.callee_status = status
    attempt.updated_at = now
    request: CallbackRequest = attempt.request
    request.updated_at = now
    request.lease_expires_at = None
    if status == "completed":  # the caller was reached: the agent now says how it went
        request.attempts_made += 1
        request.status, request.connected_at, request.last_error = CONNECTED, now, None
        request.completed_at = None
        log.info("callback %s attempt %s: connected, awaiting the agent's outcome",
                 request.id, attempt.id)
        return
    if status == "agent-unreached":
        request.status, request.claimed_by, request.not_before = QUEUED, None, now
        request.last_error = "the caller answered but no agent was reached"
        return
    request.attempts_made += 1
    settings = queue_settings.load(session)
    policy = policy_for(request.not_digital)
    retry_at = next_attempt_time(calling_hours(settings.hours), policy, request.attempts_made, now)
    reason = {"machine": "answering machine", "busy": "busy", "no-answer": "no answer"}.get(
        status, f"call failed{': ' + error if error else ''}")
    request.last_error = reason[:300]
    if retry_at is not None:
        request.status, request.not_before, request.claimed_by = RETRY_SCHEDULED, retry_at, None
    else:  # the policy's tries are spent: a person decides (a request is never closed here)
        request.status, request.not_before, request.claimed_by = QUEUED, now, None
        request.last_error = (f"{reason}; not reached after {request.attempts_made} "
                              "attempts: an agent decides")[:300]
    log.info("callback %s attempt %s: %s -> %s", request.id, attempt.id, status, request.status)
