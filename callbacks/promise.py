"""The promise made to a caller: an honest estimate of when a human will call back.

The estimate comes from the queue ahead of the caller, the agents on shift (or, without
shifts, the agents who claimed something in the last hour or said they are available or
busy today) and the recent average handling time, counted in opening hours only. Agents who
said they are away (`callbacks.desk`) are never counted. It is said in round words
("entro circa 30 minuti", "domani mattina") and kept as `promised_by`, so we can tell
whether it was kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select, union
from sqlalchemy.orm import Session

from callbacks.models import (
    AWAY,
    CLAIMABLE_STATUSES,
    COMPLETED,
    AgentStatus,
    CallbackRequest,
    Shift,
)
from callbacks.policy import calling_hours
from callbacks.settings import QueueSettings

NOON = 13  # local hour splitting "morning" from "afternoon"
WEEKDAYS = {"it": ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"),
            "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")}


@dataclass(frozen=True)
class Promise:
    """What we promised: a kind ("minutes", "morning", "afternoon", "window", "urgent"),
    the deadline."""

    kind: str
    promised_by: datetime
    made_at: datetime
    minutes: int | None = None
    window_start: datetime | None = None

    def text(self, lang: str, timezone: str = "Europe/Rome") -> str:
        """The promise as said to the caller, in Italian or English."""
        return promise_text(self, lang, timezone)


PRESENT_FOR = timedelta(hours=10)  # an availability said this long ago no longer counts


def _on_shift(now: datetime) -> Select[Any]:
    """How many agents are on shift now and not away."""
    away = select(AgentStatus.user_id).where(AgentStatus.availability == AWAY)
    return select(func.count(func.distinct(Shift.user_id))).where(
        Shift.starts_at <= now, Shift.ends_at > now, Shift.user_id.not_in(away))


def _present(now: datetime) -> Select[Any]:
    """Without shifts: agents who claimed in the last hour or said they are available or
    busy lately, less those away."""
    away = select(AgentStatus.user_id).where(AgentStatus.availability == AWAY)
    agents = union(
        select(CallbackRequest.claimed_by.label("agent")).where(
            CallbackRequest.claimed_at >= now - timedelta(hours=1),
            CallbackRequest.claimed_by.is_not(None), CallbackRequest.claimed_by.not_in(away)),
        select(AgentStatus.user_id.label("agent")).where(
            AgentStatus.availability != AWAY, AgentStatus.changed_at >= now - PRESENT_FOR),
    ).subquery()
    return select(func.count()).select_from(agents)


def agents_available(session: Session, now: datetime) -> int:
    """Agents on shift now; without shifts, agents present lately; never those away."""
    on_shift = session.scalar(_on_shift(now)) or 0
    if on_shift:
        return int(on_shift)
    return max(1, int(session.scalar(_present(now)) or 0))


def average_handling_minutes(session: Session, now: datetime, default: float) -> float:
    """Mean minutes from claim to the call that reached the caller (or to completion,
    without one) over the last 7 days (default when none). The time an agent then took to
    record the outcome is left out: an outcome forgotten for hours must not lengthen the
    waits promised to callers."""
    since = now - timedelta(days=7)
    handled = func.coalesce(CallbackRequest.connected_at, CallbackRequest.completed_at)
    rows = session.execute(select(CallbackRequest.claimed_at, handled).where(
        CallbackRequest.status == COMPLETED, CallbackRequest.completed_at >= since,
        CallbackRequest.claimed_at.is_not(None)).limit(500)).all()
    spans = [(done - claimed).total_seconds() / 60 for claimed, done in rows
             if claimed is not None and done is not None and done > claimed]
    return sum(spans) / len(spans) if spans else default


def _ahead_query(rank: float, now: datetime, exclude_id: int | None = None) -> Any:
    query = select(func.count()).select_from(CallbackRequest).where(
        CallbackRequest.status.in_(CLAIMABLE_STATUSES), CallbackRequest.rank_key > rank,
        CallbackRequest.not_before <= now)
    return query if exclude_id is None else query.where(CallbackRequest.id != exclude_id)


def queue_ahead(session: Session, rank: float, now: datetime,
                exclude_id: int | None = None) -> int:
    """Requests that will be called before one with this ordering key.

    `exclude_id` leaves out the request being placed (whose stored key may be stale).
    """
    return int(session.scalar(_ahead_query(rank, now, exclude_id)) or 0)


def queue_snapshot(session: Session, rank: float, now: datetime,
                   exclude_id: int | None = None) -> tuple[int, int]:
    """(requests ahead of this key, agents available) in one round trip.

    The same figures as `queue_ahead` and `agents_available`, asked together because a
    booking webhook needs both before it can say its promise.
    """
    row = session.execute(select(_ahead_query(rank, now, exclude_id).scalar_subquery(),
                                 _on_shift(now).scalar_subquery(),
                                 _present(now).scalar_subquery())).one()
    ahead, shift_agents, recent_agents = (int(value or 0) for value in row)
    return ahead, shift_agents or max(1, recent_agents)


def estimate(session: Session, settings: QueueSettings, *, ahead: int, now: datetime,
             window_start: datetime | None = None, window_end: datetime | None = None,
             agents: int | None = None) -> Promise:
    """The promise for a caller with `ahead` requests before them, booked at `now`.

    `agents` is the number of agents available, when the caller already knows it.
    """
    hours = calling_hours(settings.hours)
    if window_start is not None and window_end is not None and window_end > now:
        start = max(window_start, now)
        return Promise("window", window_end, now, window_start=start)
    agents = agents if agents is not None else agents_available(session, now)
    handling = average_handling_minutes(session, now, settings.hours.default_handling_minutes)
    wait = timedelta(minutes=handling * (ahead / agents) + 5)
    expected = hours.add_open_time(now, wait) or now + wait  # no opening soon: plain wait
    zone = hours.zone
    local_now, local_expected = now.astimezone(zone), expected.astimezone(zone)
    intervals = hours.intervals(local_expected.date())
    closing = intervals[-1][1] if intervals else local_expected.replace(hour=18, minute=0)
    if hours.is_open(now) and local_expected.date() == local_now.date():
        mins = (expected - now).total_seconds() / 60
        if mins <= 90:
            rounded = 15 * math.ceil(mins / 15) if mins <= 45 else (60 if mins <= 60 else 90)
            return Promise("minutes", now + timedelta(minutes=rounded), now, minutes=rounded)
    noon = local_expected.replace(hour=NOON, minute=0, second=0, microsecond=0)
    if local_expected < noon:
        return Promise("morning", min(noon, closing), now)
    return Promise("afternoon", max(closing, local_expected), now)


def _day_words(day: datetime, made: datetime, lang: str) -> str:
    delta = (day.date() - made.date()).days
    if delta == 0:
        return {"it": "oggi", "en": "today"}[lang]
    if delta == 1:
        return {"it": "domani", "en": "tomorrow"}[lang]
    name = WEEKDAYS[lang][day.weekday()]
    return name if lang == "it" else f"on {name}"


def promise_text(promise: Promise, lang: str, timezone: str = "Europe/Rome") -> str:
    """"La richiameremo entro circa 30 minuti." / "We will call you back tomorrow morning."."""
    lang = lang if lang in WEEKDAYS else "en"
    zone = ZoneInfo(timezone)
    made = promise.made_at.astimezone(zone)
    by = promise.promised_by.astimezone(zone)
    if promise.kind == "urgent":  # never a wait in minutes: we cannot keep one
        if lang == "it":
            return ("La sua chiamata è la prima della lista: la richiamerà il primo "
                    "operatore libero.")
        return "Your call is first in the queue: the first free agent will call you back."
    if promise.kind == "minutes":
        mins = promise.minutes or 0
        if lang == "it":
            what = ("un'ora" if mins == 60 else
                    "un'ora e mezza" if mins == 90 else f"{mins} minuti")
            return f"La richiameremo entro circa {what}."
        what = "an hour" if mins == 60 else ("an hour and a half" if mins == 90
                                              else f"{mins} minutes")
        return f"We will call you back within about {what}."
    if promise.kind == "window":
        start = (promise.window_start or promise.made_at).astimezone(zone)
        day = _day_words(start, made, lang)
        if lang == "it":
            return (f"La richiameremo {day} tra le {start:%H:%M} e le {by:%H:%M}, "
                    "come ha chiesto.")
        return f"We will call you back {day} between {start:%H:%M} and {by:%H:%M}, as you asked."
    day = _day_words(by, made, lang)
    part = {("it", "morning"): "mattina", ("it", "afternoon"): "pomeriggio",
            ("en", "morning"): "morning", ("en", "afternoon"): "afternoon"}[(lang, promise.kind)]
    if lang == "it":
        when = ("stamattina" if part == "mattina" else "oggi pomeriggio") if day == "oggi" \
            else f"{day} {part}"
        return f"La richiameremo {when}."
    when = f"this {part}" if day == "today" else f"{day} {part}"
    return f"We will call you back {when}."


def stored_promise(request: CallbackRequest) -> Promise:
    """The promise recorded on a request."""
    return Promise(request.promise_kind, request.promised_by,
                   request.promise_made_at or request.created_at,
                   minutes=request.promise_minutes, window_start=request.window_start)


def record_outcome(request: CallbackRequest, done_at: datetime) -> None:
    """Mark whether the promise was kept when a request is completed."""
    request.promise_kept = done_at <= request.promised_by
