"""Read-only queries behind the agent console: the waiting list, my claims, a caller's story.

Plain functions over a Session (no Flask): they gather what the console shows, with the
explanation of each position from `callbacks.priority.explain`, and never change anything.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from callbacks.models import (
    CLAIMABLE_STATUSES,
    CONNECTED,
    OPEN_STATUSES,
    CallbackRequest,
    Caller,
)
from callbacks.priority import is_urgent
from callbacks.queue import NOTES_WINDOW, list_queue
from core.models import User
from ivr.models import Call

# Being handled by an agent: claimed, being dialled, or connected and awaiting the outcome.
IN_HAND_STATUSES = ("claimed", "dialling", CONNECTED)


@dataclass(frozen=True)
class QueueRow:
    """One waiting request as the console shows it."""

    position: int
    request: CallbackRequest
    reason: str
    score: float
    waited_minutes: int
    minutes_left: int  # negative once the promise is missed
    earlier_requests: int
    earlier_calls: int
    recording_url: str | None
    # an emergency or a caller who is not digital: the console alerts the agent when it arrives
    urgent: bool = False


@dataclass(frozen=True)
class QueueView:
    """The whole waiting list plus the requests agents are handling right now."""

    rows: list[QueueRow]
    in_hand: list[tuple[CallbackRequest, str]]  # (request, agent's display name)
    version: str = field(default="")


def _minutes_between(later: datetime, earlier: datetime) -> int:
    return int((later - earlier).total_seconds() // 60)


def _history_counts(session: Session, requests: list[CallbackRequest]) -> tuple[
        Counter[int], Counter[str]]:
    """Per caller: how many requests in all; per number: how many IVR calls in all."""
    caller_ids = {r.caller_id for r in requests if r.caller_id is not None}
    phones = {r.phone for r in requests if r.phone}
    by_caller: Counter[int] = Counter()
    by_phone: Counter[str] = Counter()
    if caller_ids:
        for caller_id, count in session.execute(
                select(CallbackRequest.caller_id, func.count()).where(
                    CallbackRequest.caller_id.in_(caller_ids)).group_by(
                    CallbackRequest.caller_id)):
            if caller_id is not None:
                by_caller[caller_id] = count
    if phones:
        for phone, count in session.execute(
                select(Call.from_number, func.count()).where(
                    Call.from_number.in_(phones)).group_by(Call.from_number)):
            if phone is not None:
                by_phone[phone] = count
    return by_caller, by_phone


def recording_for(session: Session, request: CallbackRequest) -> str | None:
    """Twilio's URL of the caller's recorded message on this request, if they left one.

    The console plays it through its own route (`console.recording`), never this URL.
    """
    return request.recording_url or None


def waiting_list(session: Session, now: datetime, lang: str = "en",
                 limit: int = 200) -> QueueView:
    """Waiting requests in priority order, each with its position and the reason for it."""
    entries = list_queue(session, now, statuses=CLAIMABLE_STATUSES, lang=lang, limit=limit)
    waiting = [entry.request for entry in entries]
    by_caller, by_phone = _history_counts(session, waiting)
    rows = []
    for entry in entries:
        request = entry.request
        same_caller = by_caller.get(request.caller_id, 1) if request.caller_id else 1
        rows.append(QueueRow(
            position=entry.position, request=request, reason=entry.explanation,
            score=entry.score,
            waited_minutes=max(0, _minutes_between(now, request.created_at)),
            minutes_left=_minutes_between(request.promised_by, now),
            earlier_requests=max(0, same_caller - 1),
            earlier_calls=max(0, by_phone.get(request.phone or "", 0) - 1),
            recording_url=recording_for(session, request),
            urgent=is_urgent(request) or request.not_digital))
    in_hand = [(request, name or "?") for request, name in session.execute(
        select(CallbackRequest, User.display_name)
        .join(User, User.id == CallbackRequest.claimed_by, isouter=True)
        .where(CallbackRequest.status.in_(IN_HAND_STATUSES))
        .order_by(CallbackRequest.claimed_at))]
    return QueueView(rows=rows, in_hand=in_hand, version=queue_version(rows, in_hand, now))


def queue_version(rows: list[QueueRow], in_hand: list[tuple[CallbackRequest, str]],
                  now: datetime) -> str:
    """A short fingerprint of what the list shows (changes at least once a minute)."""
    digest = hashlib.sha1(now.strftime("%Y%m%d%H%M").encode())
    for row in rows:
        r = row.request
        digest.update(f"{r.id}:{r.status}:{r.rank_key}:{r.updated_at.isoformat()};".encode())
    for request, name in in_hand:
        overdue = outcome_overdue(request, now)
        digest.update(f"h{request.id}:{request.status}:{name}:{overdue};".encode())
    return digest.hexdigest()[:16]


def my_claims(session: Session, user_id: int, now: datetime) -> list[CallbackRequest]:
    """The requests in this agent's hands: claimed, being dialled, or connected and still
    awaiting the agent's outcome (however long ago: a call is never closed for them)."""
    return list(session.scalars(
        select(CallbackRequest).where(CallbackRequest.claimed_by == user_id,
                                      CallbackRequest.status.in_(IN_HAND_STATUSES))
        .options(selectinload(CallbackRequest.caller), selectinload(CallbackRequest.attempts))
        .order_by(CallbackRequest.claimed_at)))


def request_for_agent(session: Session, request_id: int, user_id: int,
                      now: datetime) -> CallbackRequest | None:
    """The request if it is in this agent's hands (see `my_claims`), else None."""
    request = session.get(CallbackRequest, request_id)
    if request is None or request.claimed_by != user_id:
        return None
    if request.status in OPEN_STATUSES or request.status == CONNECTED:
        return request
    return None


def outcome_overdue(request: CallbackRequest, now: datetime) -> bool:
    """A connected call whose outcome is still missing after NOTES_WINDOW: any agent may
    take it over (`queue.take_over_outcome`)."""
    return (request.status == CONNECTED and request.connected_at is not None
            and request.connected_at <= now - NOTES_WINDOW)


def caller_story(session: Session, caller_id: int) -> dict[str, Any] | None:
    """Everything the caller page shows: profile, audit trail, requests, calls and words."""
    caller = session.get(Caller, caller_id)
    if caller is None:
        return None
    requests = list(session.scalars(
        select(CallbackRequest).where(CallbackRequest.caller_id == caller.id)
        .options(selectinload(CallbackRequest.attempts))
        .order_by(CallbackRequest.created_at.desc())))
    calls = list(session.scalars(
        select(Call).where(Call.from_number == caller.phone)
        .options(selectinload(Call.events), selectinload(Call.flow_version))
        .order_by(Call.started_at.desc())))
    agents = {u.id: u.display_name for u in session.scalars(select(User))}
    return {"caller": caller, "requests": requests, "calls": calls,
            "changes": list(reversed(caller.changes)), "agents": agents}


def caller_id_for_phone(session: Session, phone: str) -> int | None:
    """The id of the caller with exactly this E.164 number, or None."""
    return session.scalar(select(Caller.id).where(Caller.phone == phone))
