"""Who is called back first, and why.

Urgent requests (an emergency: their promise kind is "urgent") come before everyone, then
not-digital callers (a bonus worth hours of waiting), then whoever is closest to (or past)
the time we promised; every minute of waiting adds to the score, so nobody
starves. The effective score of a request at time t is

    score(t) = bonus + w_age * (t - created_at) + w_deadline * (t - promised_by) + boost

which is linear in t with the same slope (w_age + w_deadline) for every request. So

    score(t) = rank_key + (w_age + w_deadline) * t,
    rank_key = bonus - w_age * created_at - w_deadline * promised_by + boost

and ORDER BY rank_key DESC *is* the priority order at every moment. rank_key is stored and
indexed (status, rank_key): a claim with 10,000 queued requests reads one index entry
instead of scoring every row, and no periodic refresh is needed. Only a change of weights,
of the not-digital flag or of the promise re-computes a request's key. Scheduled requests
wait for their window through `not_before`, which the claim filters on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from callbacks.models import OPEN_STATUSES, SILENT, URGENT, CallbackRequest
from callbacks.settings import Weights

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def minutes(moment: datetime) -> float:
    """Minutes since the queue's epoch (small numbers keep float keys precise)."""
    return (moment - EPOCH).total_seconds() / 60.0


def rank_key(request: CallbackRequest, weights: Weights) -> float:
    """The static ordering key of a request (higher is called first)."""
    bonus = weights.not_digital_bonus if request.not_digital else 0.0
    if is_urgent(request):
        bonus += weights.urgent_bonus
    return (bonus + (request.manual_boost or 0.0)
            - weights.age_per_minute * minutes(request.created_at)
            - weights.deadline_per_minute * minutes(request.promised_by))


def is_urgent(request: CallbackRequest) -> bool:
    """Whether the request is an emergency (called back before everyone else)."""
    return request.promise_kind == URGENT


def effective_score(request: CallbackRequest, now: datetime, weights: Weights) -> float:
    """The request's priority score at `now` (for display; ordering uses rank_key)."""
    return rank_key(request, weights) + (
        weights.age_per_minute + weights.deadline_per_minute) * minutes(now)


def apply_rank(request: CallbackRequest, weights: Weights) -> None:
    """Store the request's ordering key after anything it depends on changed."""
    request.rank_key = rank_key(request, weights)


def rerank_open_requests(session: Session, weights: Weights) -> int:
    """Recompute the key of every open request (after the weights changed); returns count."""
    count = 0
    for request in session.scalars(
            select(CallbackRequest).where(CallbackRequest.status.in_(OPEN_STATUSES))):
        apply_rank(request, weights)
        count += 1
    session.flush()
    return count


@dataclass(frozen=True)
class Explanation:
    """Why a request sits where it does: the score and its parts in words."""

    score: float
    parts: tuple[str, ...]

    def text(self) -> str:
        """The parts joined: "not digital, waiting 42 minutes, promised by 11:30"."""
        return ", ".join(self.parts)


_TEXT = {
    "it": {"urgent": "URGENTE: emergenza", "silent": "chiamata silenziosa",
           "nd": "non digitale", "wait": "in attesa da {m} minuti",
           "wait_1": "in attesa da 1 minuto", "wait_0": "in attesa da meno di un minuto",
           "wait_h": "in attesa da {h} h {m} min",
           "by": "promesso entro le {t}", "late": "promessa scaduta alle {t}",
           "window": "da richiamare dalle {t}", "boost": "priorità manuale +{b:g}",
           "nonum": "manca il numero"},
    "en": {"urgent": "URGENT: emergency", "silent": "silent call",
           "nd": "not digital", "wait": "waiting {m} minutes", "wait_h": "waiting {h} h {m} min",
           "wait_1": "waiting 1 minute", "wait_0": "waiting less than a minute",
           "by": "promised by {t}", "late": "promise missed at {t}",
           "window": "to call from {t}", "boost": "manual priority +{b:g}",
           "nonum": "number missing"},
}


def _clock(moment: datetime, now: datetime, zone: ZoneInfo) -> str:
    local, today = moment.astimezone(zone), now.astimezone(zone)
    if local.date() == today.date():
        return local.strftime("%H:%M")
    return local.strftime("%d/%m %H:%M")


def explain(request: CallbackRequest, now: datetime, weights: Weights,
            lang: str = "en", timezone: str = "Europe/Rome") -> Explanation:
    """Explain a request's position: "not digital, waiting 42 minutes, promised by 11:30"."""
    words = _TEXT.get(lang, _TEXT["en"])
    zone = ZoneInfo(timezone)
    parts: list[str] = []
    if is_urgent(request):
        parts.append(words["urgent"])
    if request.source == SILENT:
        parts.append(words["silent"])
    if request.not_digital:
        parts.append(words["nd"])
    waited = max(0, int((now - request.created_at).total_seconds() // 60))
    if waited >= 60:
        parts.append(words["wait_h"].format(h=waited // 60, m=waited % 60))
    elif waited <= 1:  # "1 minuto", never "1 minuti"
        parts.append(words[f"wait_{waited}"])
    else:
        parts.append(words["wait"].format(m=waited))
    if request.not_before > now:
        parts.append(words["window"].format(t=_clock(request.not_before, now, zone)))
    if not is_urgent(request):  # an urgent request promises no time: as soon as possible
        key = "late" if request.promised_by < now else "by"
        parts.append(words[key].format(t=_clock(request.promised_by, now, zone)))
    if request.manual_boost:
        parts.append(words["boost"].format(b=request.manual_boost))
    if request.needs_number:
        parts.append(words["nonum"])
    return Explanation(round(effective_score(request, now, weights), 1), tuple(parts))
