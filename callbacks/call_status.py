"""What the agent is told about a callback call while it happens and after it ended.

Twilio's statuses (of the first leg, and the caller's leg in `callee_status`) become a few
words an agent understands: placing, ringing, connected, no answer, declined, answering
machine, failed. Each is a catalog key (`console.call.<word>`), so the console says them in
the agent's language. `returned_requests` finds the requests that left the agent's hands
because the caller did not take the call, to say what happened and when they come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from callbacks.models import CLAIMABLE_STATUSES, CallAttempt, CallbackRequest

# the caller's side (callee_status) or, when there is none yet, the first leg (status)
CALLEE_WORDS = {"completed": "connected", "busy": "declined", "no-answer": "no_answer",
                "machine": "machine", "failed": "failed", "agent-unreached": "not_taken",
                "canceled": "failed"}
LEG_WORDS = {"pending": "placing", "requesting": "placing", "queued": "placing",
             "initiated": "placing", "ringing": "ringing", "in-progress": "connected",
             "completed": "ended", "busy": "declined", "no-answer": "no_answer",
             "failed": "failed", "canceled": "failed"}
NOT_TAKEN = ("busy", "no-answer", "machine", "failed")
RETURN_NOTICE_FOR = timedelta(minutes=30)  # how long the console keeps telling the agent


def word(attempt: CallAttempt) -> str:
    """The one word for where this call stands (a `console.call.<word>` key suffix)."""
    if attempt.callee_status is not None:
        return CALLEE_WORDS.get(attempt.callee_status, "failed")
    return LEG_WORDS.get(attempt.status, "placing")


@dataclass(frozen=True)
class Returned:
    """A request that left the agent's hands: the caller's word and when it comes back."""

    request: CallbackRequest
    word: str
    ended_at: datetime
    back_at: datetime | None  # None: back in the queue now


def returned_requests(session: Session, agent_id: int, now: datetime) -> list[Returned]:
    """Requests this agent called lately that the caller did not take, now back in the
    queue or rescheduled (newest first, one per request)."""
    attempts = session.scalars(
        select(CallAttempt).join(CallAttempt.request)
        .where(CallAttempt.agent_id == agent_id, CallAttempt.callee_status.in_(NOT_TAKEN),
               CallAttempt.updated_at >= now - RETURN_NOTICE_FOR,
               CallbackRequest.status.in_(CLAIMABLE_STATUSES))
        .options(joinedload(CallAttempt.request))
        .order_by(CallAttempt.updated_at.desc())
        # the page may already hold these rows from a moment ago (its claims): what this
        # query read is what the agent is told, not the older copy ("connected" for a
        # callee who has since declined)
        .execution_options(populate_existing=True))
    seen: set[int] = set()
    found = []
    for attempt in attempts:
        request = attempt.request
        if request.id in seen:
            continue
        seen.add(request.id)
        back = request.not_before if request.not_before and request.not_before > now else None
        found.append(Returned(request, word(attempt), attempt.ended_at or attempt.updated_at,
                              back))
    return found
