"""Where the caller's side meets the agents' side: callback bookings and digital profiles.

The one place that calls into the callbacks package, so the flow engine has a single,
small surface to the agents' side.
"""

from __future__ import annotations

import logging
from datetime import datetime

import phonenumbers
from sqlalchemy.orm import Session

from ivr.emergency import EMERGENCY
from ivr.models import Call

log = logging.getLogger(__name__)

ANONYMOUS = {"", "anonymous", "restricted", "unknown", "private", "unavailable",
             "+266696687", "+86282452253", "+7378742833", "+2562533"}
"""What Twilio puts in From when a caller hides their number."""


def e164(raw: str | None, region: str = "IT") -> str | None:
    """A dialable E.164 number for what Twilio sent in From/To, or None (anonymous, junk)."""
    if raw is None or raw.strip().lower() in ANONYMOUS:
        return None
    try:
        parsed = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def country_of(number: str | None) -> str | None:
    """ISO country code of an E.164 number ("IT"), or None."""
    if not number:
        return None
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return None


def is_not_digital(session: Session, phone: str | None) -> bool:
    """Whether the agents' side knows this caller as not digital."""
    from callbacks.profiles import is_not_digital as profile_flag

    return bool(profile_flag(session, phone))


def book_for_call(session: Session, call: Call, *, source: str, now: datetime,
                  defer_write: bool = False) -> str:
    """Book (or update) the callback for this call; returns the promise to say.

    The number is the one the caller confirmed, else their caller id (None: the request
    is kept and flagged as needing a number). Idempotent per call: booking again updates
    the same request. `defer_write` leaves the request to the session's next flush (the
    webhook's commit writes it with the call, in one go), for callers that do not need
    `call.callback_request_id` before then. A call whose need is an emergency is booked
    urgent (first in the queue, no promise in minutes).
    """
    from callbacks.booking import book_callback

    booking = book_callback(
        session, phone=call.callback_number or call.from_number, call_sid=call.call_sid,
        intent=call.intent, words=call.words or "", language=call.language,
        window_start=call.callback_window_start, window_end=call.callback_window_end,
        not_digital_cue=call.not_digital_cue,
        source=source, now=now, flush=not defer_write, urgent=call.intent == EMERGENCY)
    call.callback_request = booking.request
    if booking.request.id is not None:
        call.callback_request_id = booking.request.id
    log.info("call %s: callback request %s (%s)", call.call_sid,
             booking.request.id or "(new)", source)
    return booking.promise(call.language)


def attach_recording(session: Session, call: Call, recording_url: str,
                     duration: str | int | None, *, now: datetime) -> None:
    """Keep the caller's recorded message on the call's callback request; it is transcribed
    by a "speech" job once the webhook's transaction commits."""
    from flask import current_app

    from callbacks.recordings import attach_recording as attach

    if call.callback_request_id is None:
        return
    text = str(duration or "")
    seconds = int(text) if text.isdigit() else None
    attach(session, call.callback_request_id, recording_url, seconds, now,
           current_app.extensions["jobs"])
