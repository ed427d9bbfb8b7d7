"""Booking a callback: what the flow engine calls when a caller asks to be called back.

`book_callback` records the need, links the caller's profile, applies the non-digital cue
and rules, places the request in the queue and returns the promise to say to the caller.
The same caller calling again updates their open request (keeping its place) instead of
creating a second one; a caller without a usable number is still recorded, flagged as
needing a number. An `urgent` booking (an emergency) is promised no wait in minutes: its
promise kind is "urgent", which puts it at the top of the queue (callbacks.priority) and
stays so when the caller calls again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from callbacks import profiles
from callbacks import settings as queue_settings
from callbacks.models import OPEN_STATUSES, QUEUED, URGENT, CallbackRequest, Caller
from callbacks.priority import apply_rank
from callbacks.promise import Promise, estimate, promise_text, queue_snapshot, stored_promise
from core.privacy import mask_phone

log = logging.getLogger(__name__)

# What Twilio puts in From when the caller hides their number.
ANONYMOUS = {"", "anonymous", "restricted", "unknown", "private", "unavailable",
             "+266696687", "+86282452253", "+7378742833", "+2562533"}
WORDS_MAX = 2000


@dataclass(frozen=True)
class Booking:
    """The result of a booking: the request's id and the promise made to the caller."""

    request: CallbackRequest
    updated: bool
    needs_number: bool
    not_digital: bool
    the_promise: Promise
    timezone: str = "Europe/Rome"

    @property
    def request_id(self) -> int | None:
        """The request's id (None while a deferred booking is not yet written)."""
        return self.request.id

    def promise(self, lang: str) -> str:
        """The sentence to say to the caller ("La richiameremo entro circa 30 minuti.")."""
        return promise_text(self.the_promise, lang, self.timezone)


def _number(phone: str | None) -> tuple[str | None, str | None]:
    """(E.164 number, None) or (None, why it cannot be dialled)."""
    if phone is None or phone.strip().lower() in ANONYMOUS:
        return None, "anonymous"
    try:
        return profiles.normalize_phone(phone), None
    except profiles.InvalidPhone:
        return None, "invalid"


def _asks_for_human(words: str, language: str) -> bool:
    try:
        from speech.cues import wants_human
    except ImportError:  # the understanding package is optional for the queue
        return False
    return wants_human(words, language)


def _join(old: str | None, new: str | None) -> str | None:
    if not new:
        return old
    return (f"{old} | {new}" if old else new)[-WORDS_MAX:]


def _requests_of(session: Session, call_sid: str,
                 caller: Caller | None) -> tuple[CallbackRequest | None, list[CallbackRequest]]:
    """(the request to update, the caller's history) in one query.

    The request to update is this call's open one, else the caller's oldest open one; the
    history is every request of the caller, oldest first (the inference rules read it).
    """
    mine = CallbackRequest.call_sid == call_sid
    if caller is None or caller.id is None:  # no profile yet: no history either
        open_mine = session.scalar(select(CallbackRequest).where(
            mine, CallbackRequest.status.in_(OPEN_STATUSES)).limit(1))
        return open_mine, []
    rows = list(session.scalars(select(CallbackRequest).where(
        or_(CallbackRequest.caller_id == caller.id,
            mine & CallbackRequest.status.in_(OPEN_STATUSES)))
        .order_by(CallbackRequest.created_at, CallbackRequest.id)))
    open_rows = [r for r in rows if r.status in OPEN_STATUSES]
    request = next((r for r in open_rows if r.call_sid == call_sid), None) \
        or min(open_rows, key=lambda r: r.id, default=None)
    return request, [r for r in rows if r.caller_id == caller.id]


def _write_pending(session: Session, kinds: tuple[type, ...],
                   apart_from: object = None) -> None:
    """Flush if the session holds unwritten rows of `kinds` (other than `apart_from`): a
    booking reads callers and requests with autoflush off, and must count them as they are."""
    if any(isinstance(item, kinds) and item is not apart_from
           for item in (*session.new, *session.dirty)):
        session.flush()


def book_callback(session: Session, *, phone: str | None, call_sid: str, intent: str | None,
                  words: str, language: str, window_start: datetime | None,
                  window_end: datetime | None, not_digital_cue: str | None, source: str,
                  now: datetime, flush: bool = True, urgent: bool = False) -> Booking:
    """Book (or update) the caller's callback request and return the promise to make.

    `not_digital_cue` is the caller's own evidence ("non ho internet") or None; `source`
    is how the caller spoke to us ("speech", "keypad", ...). Nothing is committed: the
    caller's transaction decides. With `flush` the request is written before returning
    (its id is known); without, it is written by the session's next flush, so a webhook
    writes its call and the request in one go (a booking reads the queue in 4 statements
    and writes nothing until then). `urgent` (an emergency) puts the request first in the
    queue and promises no wait in minutes.
    """
    _write_pending(session, (CallbackRequest, Caller))  # a booking or re-rank made earlier
    with session.no_autoflush:
        booking = _book(session, phone=phone, call_sid=call_sid, intent=intent, words=words,
                        language=language, window_start=window_start, window_end=window_end,
                        not_digital_cue=not_digital_cue, source=source, now=now,
                        urgent=urgent)
    if flush:
        session.flush()
    log.info("callback %s %s for %s (call %s)", booking.request.id or "(new)",
             "updated" if booking.updated else "booked", mask_phone(booking.request.phone),
             call_sid)
    return booking


def _book(session: Session, *, phone: str | None, call_sid: str, intent: str | None,
          words: str, language: str, window_start: datetime | None, window_end: datetime | None,
          not_digital_cue: str | None, source: str, now: datetime,
          urgent: bool = False) -> Booking:
    settings = queue_settings.load(session)
    number, problem = _number(phone)
    caller: Caller | None = None
    if number is not None:
        caller = profiles.find_or_add_caller(session, number, now, language)
    if window_start is not None and window_end is not None and window_end <= window_start:
        window_start = window_end = None

    request, history = _requests_of(session, call_sid, caller)
    updated = request is not None
    if request is None:
        request = CallbackRequest(
            caller=caller, phone=number, needs_number=number is None, number_problem=problem,
            call_sid=call_sid, intent=intent, words=words[-WORDS_MAX:], language=language,
            source=source, status=QUEUED, created_at=now, updated_at=now, not_before=now,
            promised_by=now + timedelta(minutes=30), manual_boost=0.0, times_requested=1,
            asked_for_human=_asks_for_human(words, language), not_digital=False)
        session.add(request)
        history.append(request)
    else:
        if request.call_sid != call_sid:
            request.times_requested += 1
            request.words = _join(request.words, words) or ""
            if request.source == "keypad" and source != "keypad":
                request.source = source  # "keypad" only while every call used the keys
        request.intent = intent or request.intent
        request.call_sid = call_sid
        request.asked_for_human = request.asked_for_human or _asks_for_human(words, language)
        request.updated_at = now
        if number is not None:
            request.caller = caller
            request.phone, request.needs_number, request.number_problem = number, False, None
    if window_start is not None and window_end is not None:
        request.window_start, request.window_end = window_start, window_end
        request.not_before = max(window_start, now)

    if caller is not None:
        open_requests = [r for r in history if r.status in OPEN_STATUSES]
        if not_digital_cue:
            profiles.set_not_digital(session, caller, True,
                                     source="keypad" if source == "keypad" else "caller",
                                     actor="caller", reason=not_digital_cue, now=now,
                                     open_requests=open_requests)
        else:
            profiles.apply_rules(session, caller, now, history=history)
        request.not_digital = caller.not_digital
    elif not_digital_cue:
        request.not_digital = True  # no profile to keep it in, but serve this request first

    urgent = urgent or (updated and request.promise_kind == URGENT)
    keep_promise = updated and request.promised_by > now and request.promise_made_at is not None
    if urgent:
        request.promised_by, request.promise_kind, request.promise_minutes = now, URGENT, None
        request.promise_made_at = now
    elif not keep_promise:
        apply_rank(request, settings.weights)
        _write_pending(session, (CallbackRequest,), apart_from=request)  # others re-ranked
        ahead, agents = queue_snapshot(session, request.rank_key, now, request.id)
        the_promise = estimate(session, settings, ahead=ahead, now=now, agents=agents,
                               window_start=request.window_start,
                               window_end=request.window_end)
        request.promised_by = the_promise.promised_by
        request.promise_kind = the_promise.kind
        request.promise_minutes = the_promise.minutes
        request.promise_made_at = now
    apply_rank(request, settings.weights)
    return Booking(request, updated, request.needs_number, request.not_digital,
                   stored_promise(request), settings.hours.timezone)


def set_number(session: Session, request_id: int, phone: str, now: datetime) -> CallbackRequest:
    """Give a request the number to call (the caller confirmed it, or an agent found it).

    Raises InvalidPhone for a number that cannot be dialled.
    """
    request = session.get(CallbackRequest, request_id)
    if request is None:
        raise LookupError(f"no callback request {request_id}")
    caller = profiles.get_or_create_caller(session, phone, now, request.language)
    request.caller, request.phone = caller, caller.phone
    request.needs_number, request.number_problem = False, None
    request.not_digital = request.not_digital or caller.not_digital
    request.updated_at = now
    apply_rank(request, queue_settings.load(session).weights)
    session.flush()
    return request


def attach_transcript(session: Session, request_id: int, transcript: str, now: datetime) -> None:
    """Store the transcript of the caller's recorded message on their request."""
    request = session.get(CallbackRequest, request_id)
    if request is None:
        raise LookupError(f"no callback request {request_id}")
    request.transcript = _join(request.transcript, transcript.strip())
    request.updated_at = now
    session.flush()
