"""Callers and their digital-inclusion profile: the "not digital" flag, where it came from,
why, and every change to it.

The flag can be imported by an admin (CSV), set by an agent after a call, declared by the
caller (a spoken cue or a keypad choice) or inferred by rules an admin can tune. A person's
decision (import, agent, admin) is never overridden by a rule. Only a short reason is
kept (the evidence phrase), never a whole transcript.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import phonenumbers
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callbacks import settings as queue_settings
from callbacks.models import (
    OPEN_STATUSES,
    PROFILE_SOURCES,
    CallbackRequest,
    Caller,
    DigitalProfileChange,
)
from callbacks.priority import apply_rank

PERSON_SOURCES = ("import", "agent", "admin")
REASON_MAX = 200


class InvalidPhone(ValueError):
    """A phone number that cannot be parsed into a valid E.164 number."""


def normalize_phone(raw: str, region: str = "IT") -> str:
    """'333 123 4567' -> '+393331234567'; raises InvalidPhone when it is not a real number."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(f"not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def find_caller(session: Session, phone: str) -> Caller | None:
    """The caller with this number (any format), or None."""
    try:
        number = normalize_phone(phone)
    except InvalidPhone:
        return None
    return session.scalar(select(Caller).where(Caller.phone == number))


def get_or_create_caller(session: Session, phone: str, now: datetime,
                         language: str | None = None) -> Caller:
    """The caller with this number, created if new; raises InvalidPhone."""
    caller = find_or_add_caller(session, normalize_phone(phone), now, language)
    if caller.id is None:
        session.flush()
    return caller


def find_or_add_caller(session: Session, number: str, now: datetime,
                       language: str | None = None) -> Caller:
    """The caller with this E.164 number, or a new one added to the session (written at
    its next flush, so a booking writes caller and request together)."""
    caller = session.scalar(select(Caller).where(Caller.phone == number))
    if caller is None:
        caller = Caller(phone=number, language=language, created_at=now, not_digital=False,
                        decided_by_person=False)
        session.add(caller)
    elif language and not caller.language:
        caller.language = language
    return caller


def is_not_digital(session: Session, phone: str | None) -> bool:
    """Whether the caller at this number is known to be not digital (for the flow engine)."""
    if not phone:
        return False
    caller = find_caller(session, phone)
    return bool(caller and caller.not_digital)


def set_not_digital(session: Session, caller: Caller, value: bool, *, source: str,
                    actor: str, reason: str, now: datetime,
                    open_requests: list[CallbackRequest] | None = None) -> bool:
    """Set or remove the flag, keeping an audit row; returns whether anything changed.

    Rules never override a person's decision; open requests are re-ranked at once.
    A booking that already holds the caller's `open_requests` passes them: they are not
    read again and nothing is flushed (the booking writes everything in one go).
    """
    if source not in PROFILE_SOURCES:
        raise ValueError(f"source must be one of {', '.join(PROFILE_SOURCES)}")
    if source == "rule" and caller.decided_by_person:
        return False
    reason = (reason or "").strip()[:REASON_MAX]
    if caller.not_digital == value and caller.not_digital_source == source:
        return False
    session.add(DigitalProfileChange(caller=caller, at=now, actor=actor,
                                     from_value=caller.not_digital, to_value=value,
                                     source=source, reason=reason))
    caller.not_digital = value
    caller.not_digital_source = source
    caller.not_digital_reason = reason if value else None
    caller.not_digital_since = now if value else None
    if source in PERSON_SOURCES:
        caller.decided_by_person = True
    weights = queue_settings.load(session).weights
    requests = open_requests if open_requests is not None else session.scalars(
        select(CallbackRequest).where(CallbackRequest.caller_id == caller.id,
                                      CallbackRequest.status.in_(OPEN_STATUSES)))
    for request in requests:
        request.not_digital = value
        apply_rank(request, weights)
    if open_requests is None:
        session.flush()
    return True


def apply_rules(session: Session, caller: Caller, now: datetime,
                history: list[CallbackRequest] | None = None) -> str | None:
    """Infer "not digital" from the caller's history; returns the rule that fired, if any.

    `history` is every request of the caller, oldest first, when the caller (a booking)
    already has it; it is read otherwise.
    """
    if caller.not_digital or caller.decided_by_person:
        return None
    rules = queue_settings.load(session).rules
    given = history is not None
    if history is None:
        history = list(session.scalars(select(CallbackRequest).where(
            CallbackRequest.caller_id == caller.id).order_by(CallbackRequest.created_at)))
    fired: tuple[str, str] | None = None
    if rules.repeat_call_enabled:
        since = now - timedelta(days=rules.repeat_call_days)
        per_intent: Counter[str] = Counter()
        for request in history:
            if request.intent and request.created_at >= since:
                per_intent[request.intent] += request.times_requested
        if per_intent and max(per_intent.values()) >= 2:
            fired = ("repeat_call", f"called again within {rules.repeat_call_days} days "
                                    "about the same need")
    if fired is None and rules.keypad_only_enabled:
        calls = sum(r.times_requested for r in history)  # repeat calls update one request
        if calls >= rules.keypad_only_min_calls and all(r.source == "keypad" for r in history):
            fired = ("keypad_only", f"only ever used the keypad ({calls} calls)")
    if fired is None and rules.asked_human_enabled:
        asks = sum(_human_asks(r, rules.human_intents) for r in history)
        if asks >= rules.asked_human_times:
            fired = ("asked_human", f"asked for a person {asks} times")
    if fired is None:
        return None
    set_not_digital(session, caller, True, source="rule", actor=f"rule:{fired[0]}",
                    reason=fired[1], now=now,
                    open_requests=[r for r in history if r.status in OPEN_STATUSES]
                    if given else None)
    return fired[0]


def _human_asks(request: CallbackRequest, human_intents: tuple[str, ...]) -> int:
    """How many of the calls behind `request` asked for a person.

    A request gathers the words of every call about it (" | "-separated), so each call's
    words are checked; the request's own flag or a human intent count at least once.
    """
    asked = 1 if request.asked_for_human or (request.intent or "") in human_intents else 0
    try:
        from speech.cues import wants_human
    except ImportError:  # the understanding package is optional for the queue
        return asked
    language = request.language or "it"
    said = sum(1 for words in (request.words or "").split(" | ")
               if words.strip() and wants_human(words, language))
    return max(asked, said)


def profile(session: Session, phone: str) -> dict[str, object] | None:
    """A caller's profile and its audit trail as JSON-ready data, or None if unknown."""
    caller = find_caller(session, phone)
    if caller is None:
        return None
    requests = session.scalar(select(func.count()).select_from(CallbackRequest).where(
        CallbackRequest.caller_id == caller.id)) or 0
    return {
        "phone": caller.phone, "not_digital": caller.not_digital,
        "source": caller.not_digital_source, "reason": caller.not_digital_reason,
        "since": caller.not_digital_since.isoformat() if caller.not_digital_since else None,
        "decided_by_person": caller.decided_by_person, "requests": requests,
        "history": [{"at": c.at.isoformat(), "actor": c.actor, "from": c.from_value,
                     "to": c.to_value, "source": c.source, "reason": c.reason}
                    for c in caller.changes],
    }
