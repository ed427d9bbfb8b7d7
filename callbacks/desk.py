"""The agent's desk: availability, one request in hand at a time, and after-call work.

An agent holds one request at a time. Keyboard shortcuts and buttons then always act on
that one request, and "Take next" is refused while it is in hand (the console says why
and shows where it is). Saving an outcome starts a short after-call work period (wrap-up)
in which nothing new is taken, so notes get written before the next call; the agent can
end it early. A call that connected stays in the agent's hands until they choose its
outcome; once NOTES_WINDOW has passed, another agent may take it over to record it
(`take_over_outcome`). Availability is the agent's own word: "available" (ready), "busy"
(working, not ready for a new request) and "away" (on a break). The promise made to
callers counts agents who are not away (`callbacks.promise`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from callbacks import console_queries, queue
from callbacks.models import AVAILABILITIES, AVAILABLE, AWAY, BUSY, AgentStatus, CallbackRequest

DEFAULT_WRAP_UP = timedelta(seconds=60)


class DeskError(Exception):
    """The agent cannot take a request now; `reason` is a catalog key saying why."""

    def __init__(self, reason: str, request_id: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.request_id = request_id


@dataclass(frozen=True)
class Desk:
    """What the console shows about the agent: availability, wrap-up, the request in hand."""

    availability: str
    wrap_up_until: datetime | None
    holding: list[CallbackRequest]

    @property
    def can_take(self) -> bool:
        """Whether "Take next" would give this agent a request now."""
        return self.availability != AWAY and not self.holding and self.wrap_up_until is None


def _status(session: Session, agent_id: int, now: datetime) -> AgentStatus:
    status = session.get(AgentStatus, agent_id)
    if status is None:
        status = AgentStatus(user_id=agent_id, availability=AVAILABLE, changed_at=now)
        session.add(status)
    return status


def desk(session: Session, agent_id: int, now: datetime) -> Desk:
    """The agent's desk now (a wrap-up that ran out is over)."""
    status = session.get(AgentStatus, agent_id)
    holding = console_queries.my_claims(session, agent_id, now)
    wrap_up = status.wrap_up_until if status is not None else None
    if wrap_up is not None and wrap_up <= now:
        wrap_up = None
    availability = status.availability if status is not None else AVAILABLE
    if availability == AVAILABLE and (holding or wrap_up):
        availability = BUSY  # handling one: not ready for another
    return Desk(availability, wrap_up, holding)


def set_availability(session: Session, agent_id: int, availability: str,
                     now: datetime) -> None:
    """The agent says whether they are available, busy or away."""
    if availability not in AVAILABILITIES:
        raise ValueError(f"availability must be one of {', '.join(AVAILABILITIES)}")
    status = _status(session, agent_id, now)
    status.availability, status.changed_at = availability, now
    session.flush()


def start_wrap_up(session: Session, agent_id: int, now: datetime,
                  length: timedelta = DEFAULT_WRAP_UP) -> None:
    """An outcome was saved: after-call work until `now + length` (none when length is 0)."""
    status = _status(session, agent_id, now)
    status.wrap_up_until = now + length if length > timedelta(0) else None
    session.flush()


def end_wrap_up(session: Session, agent_id: int, now: datetime) -> None:
    """The agent is ready before the wrap-up timer ran out."""
    status = session.get(AgentStatus, agent_id)
    if status is not None:
        status.wrap_up_until = None
        session.flush()


def take_next(session: Session, agent_id: int, now: datetime) -> CallbackRequest | None:
    """Claim the next request for the agent, or None when nothing waits.

    Raises DeskError when the agent already holds one (its id in `request_id`), is
    wrapping up, or is away. Taking a request makes an agent who was busy available again
    (they said they are ready by taking).
    """
    current = desk(session, agent_id, now)
    if current.holding:
        raise DeskError("console.flash.finish_first", current.holding[0].id)
    if current.wrap_up_until is not None:
        raise DeskError("console.flash.wrapping_up")
    if current.availability == AWAY:
        raise DeskError("console.flash.away")
    status = session.get(AgentStatus, agent_id)
    if status is not None and status.availability == BUSY:
        status.availability, status.changed_at = AVAILABLE, now
        session.flush()
    return queue.claim_next(session, agent_id, now)


def take_over_outcome(session: Session, agent_id: int, request_id: int,
                      now: datetime) -> CallbackRequest:
    """Take a connected call whose outcome is overdue into this agent's hands, so they can
    record it; refused (DeskError) while they hold another request."""
    holding = [r for r in console_queries.my_claims(session, agent_id, now) if r.id != request_id]
    if holding:
        raise DeskError("console.flash.finish_first", holding[0].id)
    try:
        return queue.take_over_outcome(session, request_id, agent_id, now)
    except (queue.QueueError, LookupError) as exc:
        raise DeskError("console.flash.cannot_take_over", request_id) from exc
