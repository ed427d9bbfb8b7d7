"""The tuning loop's memory: which callers' words an admin added as an example or ignored.

`ivr.analytics.tuning_candidates` finds utterances worth a look; this keeps the ones an
admin already handled off the list, so the list is work still to do.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ivr.admin.models import TuningDecision
from ivr.analytics import Utterance
from ivr.models import CallEvent

ACTIONS = ("added", "ignored")


def still_open(session: Session, candidates: Iterable[Utterance]) -> list[Utterance]:
    """The candidates nobody has added or ignored yet."""
    found = list(candidates)
    if not found:
        return []
    done = set(session.scalars(select(TuningDecision.event_id).where(
        TuningDecision.event_id.in_([u.event_id for u in found]))))
    return [u for u in found if u.event_id not in done]


def record(session: Session, event_id: int, action: str, *, by: str, now: datetime,
           intent: str | None = None) -> CallEvent:
    """Remember what was done with the words of call event `event_id` (once; the first
    decision stands). Raises LookupError for an unknown event, ValueError for an action."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    event = session.get(CallEvent, event_id)
    if event is None or not event.words:
        raise LookupError(f"no caller's words with event id {event_id}")
    if session.scalar(select(TuningDecision.id).where(
            TuningDecision.event_id == event_id)) is None:
        session.add(TuningDecision(event_id=event_id, action=action, intent=intent,
                                   decided_by=by, decided_at=now))
    return event
