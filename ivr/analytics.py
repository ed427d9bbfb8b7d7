"""What happened on real calls, for admins tuning the flows.

Plain functions over the database (SQLite and PostgreSQL alike: rows are grouped in
Python, per local day in the hotline's timezone). Outcome classes of a finished call:

- `self_service`: it ended without a human (e.g. the caller was told where to go online);
- `human_now`: put through to an agent (`transferred`);
- `human_later`: a callback was booked or a message left (a human calls back);
- `abandoned`: the caller hung up before telling us anything usable.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from callbacks.models import CONNECTED, CallbackRequest
from ivr.models import Call, CallEvent, Flow, FlowVersion

HUMAN_NOW = {"transferred"}
HUMAN_LATER = {"callback_booked", "hangup_callback", "message"}
ABANDONED = {"hangup"}
OUTCOME_CLASSES = ("self_service", "human_now", "human_later", "abandoned")
DEFAULT_CONFIRM_BELOW = 0.75


def outcome_class(outcome: str | None) -> str:
    """The analytics class of an engine outcome (see the module docstring)."""
    if outcome in HUMAN_NOW:
        return "human_now"
    if outcome in HUMAN_LATER:
        return "human_later"
    if outcome in ABANDONED or outcome is None:
        return "abandoned"
    return "self_service"


@dataclass(frozen=True)
class Utterance:
    """A caller's words at a question that the tuning loop may turn into an example."""

    event_id: int
    call_id: int
    flow_key: str
    lang: str
    words: str
    intent: str | None
    confidence: float | None
    kind: str  # "low_confidence" | "not_understood" | "misrouted"
    at: datetime


def _calls(session: Session, start: datetime, end: datetime) -> list[Call]:
    return list(session.scalars(select(Call).where(Call.started_at >= start,
                                                   Call.started_at < end)
                                .order_by(Call.started_at)))


def calls_per_day(session: Session, start: datetime, end: datetime,
                  tz: str) -> list[tuple[date, int]]:
    """Calls started on each local day from `start` to `end` (days without calls: 0)."""
    zone = ZoneInfo(tz)
    counts = Counter(c.started_at.astimezone(zone).date() for c in _calls(session, start, end))
    day, last = start.astimezone(zone).date(), (end - timedelta(seconds=1)).astimezone(zone).date()
    days = []
    while day <= last:
        days.append((day, counts.get(day, 0)))
        day += timedelta(days=1)
    return days


def outcome_shares(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    """Finished calls per outcome class."""
    counts = Counter(outcome_class(c.outcome) for c in _calls(session, start, end)
                     if c.state == "ended")
    return {name: counts.get(name, 0) for name in OUTCOME_CLASSES}


def time_to_human(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """Median seconds from answering to putting a caller through, and median minutes from
    a callback request to the callback that reached the caller, over requests an agent
    closed as completed (a connected call still awaiting its outcome is not counted)."""
    rows = session.execute(select(Call.id, Call.started_at, CallEvent.handled_at).join(
        CallEvent, CallEvent.call_id == Call.id).where(
        Call.started_at >= start, Call.started_at < end, CallEvent.response.like("%<Dial%"),
        CallEvent.handled_at.is_not(None)).order_by(CallEvent.id))
    first: dict[int, float] = {}
    for call_id, started, handled in rows:
        if handled is not None:
            first.setdefault(call_id, (handled - started).total_seconds())
    reached = func.coalesce(CallbackRequest.connected_at, CallbackRequest.completed_at)
    done = session.execute(select(CallbackRequest.created_at, reached)
                           .where(CallbackRequest.created_at >= start,
                                  CallbackRequest.created_at < end,
                                  CallbackRequest.completed_at.is_not(None)))
    waits = [(finished - created).total_seconds() / 60 for created, finished in done
             if finished is not None]
    return {"transfer_seconds": round(median(first.values()), 1) if first else None,
            "transfers": len(first),
            "callback_minutes": round(median(waits), 1) if waits else None,
            "callbacks_done": len(waits)}


AGCOM_LIMIT_SECONDS = 150.0
"""AGCOM 255/24/CONS: the average time to a human operator must stay under 150 s."""


def time_to_person(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """Seconds from answering to a person or a booked callback (stored on each call):
    average and 90th percentile over the calls that got there, against the AGCOM limit."""
    values = sorted(v for v in session.scalars(select(Call.seconds_to_human).where(
        Call.started_at >= start, Call.started_at < end, Call.seconds_to_human.is_not(None)))
        if v is not None)
    if not values:
        return {"calls": 0, "average": None, "p90": None, "limit": AGCOM_LIMIT_SECONDS,
                "within_limit": None}
    average = sum(values) / len(values)
    p90 = values[max(math.ceil(0.9 * len(values)) - 1, 0)]  # nearest rank
    return {"calls": len(values), "average": round(average, 1), "p90": round(p90, 1),
            "limit": AGCOM_LIMIT_SECONDS, "within_limit": average <= AGCOM_LIMIT_SECONDS}


def callbacks_by_class(session: Session, start: datetime,
                       end: datetime) -> dict[str, dict[str, int]]:
    """Callbacks booked, promises kept / broken / pending, for not-digital callers and
    for the others. A call that connected but whose outcome no agent recorded yet is
    neither kept nor pending: it is counted apart, as "outcome_needed"."""
    table = {name: {"booked": 0, "kept": 0, "broken": 0, "pending": 0, "outcome_needed": 0}
             for name in ("not_digital", "others")}
    for request in session.scalars(select(CallbackRequest).where(
            CallbackRequest.created_at >= start, CallbackRequest.created_at < end)):
        row = table["not_digital" if request.not_digital else "others"]
        row["booked"] += 1
        kept = request.promise_kept
        key = "pending" if kept is None else ("kept" if kept else "broken")
        if request.status == CONNECTED:
            key = "outcome_needed"
        row[key] += 1
    return table


def intent_counts(session: Session, start: datetime, end: datetime) -> list[tuple[str, int]]:
    """Calls per recognised intent (most frequent first); "(none)" when none was found."""
    counts = Counter(c.intent or "(none)" for c in _calls(session, start, end))
    return counts.most_common()


def confidence_histogram(session: Session, start: datetime, end: datetime,
                         buckets: int = 10) -> list[tuple[str, int]]:
    """Spoken answers per intent-confidence band ("0.0-0.1" ... "0.9-1.0")."""
    values = session.scalars(select(CallEvent.confidence).join(Call).where(
        Call.started_at >= start, Call.started_at < end, CallEvent.confidence.is_not(None),
        or_(CallEvent.source.is_(None), CallEvent.source != "dtmf")))
    counts = Counter(min(int(v * buckets), buckets - 1) for v in values if v is not None)
    return [(f"{i / buckets:.1f}-{(i + 1) / buckets:.1f}", counts.get(i, 0))
            for i in range(buckets)]


def tuning_candidates(session: Session, start: datetime, end: datetime,
                      limit: int = 100) -> list[Utterance]:
    """Utterances worth a look: low confidence, not understood, or misrouted (the caller
    said "no" when asked to confirm the intent we heard)."""
    rows = session.execute(select(CallEvent, Call.language, Flow.key, FlowVersion.document)
                           .join(Call, CallEvent.call_id == Call.id)
                           .join(FlowVersion, Call.flow_version_id == FlowVersion.id)
                           .join(Flow, FlowVersion.flow_id == Flow.id)
                           .where(Call.started_at >= start, Call.started_at < end)
                           .order_by(CallEvent.call_id, CallEvent.id))
    found: list[Utterance] = []
    previous: tuple[CallEvent, str, str] | None = None
    for event, lang, key, document in rows:
        if previous is not None and previous[0].call_id == event.call_id \
                and event.decision == "no" and previous[0].decision == "confirm":
            ask, ask_lang, ask_key = previous
            found.append(_utterance(ask, ask_lang, ask_key, "misrouted"))
        confirm_below = float((document.get("settings") or {}).get(
            "confirm_below", DEFAULT_CONFIRM_BELOW))
        if event.words and event.source != "dtmf":
            if event.intent is not None and event.decision in ("accept", "confirm") \
                    and (event.confidence or 0) < confirm_below:
                found.append(_utterance(event, lang, key, "low_confidence"))
            elif event.decision in ("reprompt", "gave_up") and event.step.startswith("ask"):
                found.append(_utterance(event, lang, key, "not_understood"))
        previous = (event, lang, key)
    found.sort(key=lambda u: u.at, reverse=True)
    return found[:limit]


def _utterance(event: CallEvent, lang: str, key: str, kind: str) -> Utterance:
    return Utterance(event.id, event.call_id, key, lang, event.words or "", event.intent,
                     event.confidence, kind, event.handled_at or event.created_at)


def report(session: Session, start: datetime, end: datetime, tz: str) -> dict[str, Any]:
    """Everything the analytics page shows, for calls started in [start, end)."""
    return {"per_day": calls_per_day(session, start, end, tz),
            "outcomes": outcome_shares(session, start, end),
            "time_to_human": time_to_human(session, start, end),
            "to_person": time_to_person(session, start, end),
            "callbacks": callbacks_by_class(session, start, end),
            "intents": intent_counts(session, start, end),
            "confidence": confidence_histogram(session, start, end),
            "candidates": tuning_candidates(session, start, end)}


def bar_chart(values: Sequence[tuple[str, float]], width: int = 640,
              height: int = 180) -> dict[str, Any]:
    """Geometry for a server-drawn SVG bar chart: bars with x, y, w, h, label, value."""
    top = max([v for _, v in values] + [1])
    gap, bottom = 4, 28
    step = width / max(len(values), 1)
    bars = []
    for i, (label, value) in enumerate(values):
        h = (height - bottom - 12) * value / top
        bars.append({"x": round(i * step + gap / 2, 1), "w": round(max(step - gap, 1), 1),
                     "y": round(height - bottom - h, 1), "h": round(h, 1),
                     "label": label, "value": value})
    return {"width": width, "height": height, "baseline": height - bottom, "bars": bars,
            "max": top}
