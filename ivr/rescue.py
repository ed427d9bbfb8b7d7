"""When something fails inside the app, the caller still reaches someone.

Used by the /voice blueprint's error handler and by /voice/fallback (Twilio's Fallback URL,
requested when our Voice URL fails or times out): a short apology, then the fallback number
when there is one, else a callback booked in a fresh transaction, else (the database is the
thing that is down) the caller spooled to local disk (`ivr.spooled`) and promised a callback
all the same; only a caller whose number we do not have hears an apology and goodbye.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ivr import handoff, twiml
from ivr.models import Call
from ivr.spooled import spool_caller
from ivr.voices import DEFAULT_SAY_LANGUAGE as SAY_LANGUAGE
from ivr.voices import DEFAULT_VOICES

log = logging.getLogger(__name__)

MESSAGES = {
    "transfer": {"it": "Ci scusi, c'è un problema tecnico. La passo subito a un operatore.",
                 "en": "Sorry, we have a technical problem. I'm putting you through to an "
                       "agent now."},
    "callback": {"it": "Ci scusi, c'è un problema tecnico. Abbiamo preso nota della sua "
                       "chiamata.",
                 "en": "Sorry, we have a technical problem. We have noted your call."},
    "spooled": {"it": "Ci scusi, c'è un problema tecnico. Abbiamo preso nota della sua "
                       "chiamata: la richiameremo appena possibile.",
                "en": "Sorry, we have a technical problem. We have noted your call and will "
                      "call you back as soon as we can."},
    "sorry": {"it": "Ci scusi, c'è un problema tecnico e non possiamo rispondere ora. "
                    "Arrivederci.",
              "en": "Sorry, we have a technical problem and cannot take your call now. "
                    "Goodbye."},
}


def _book(app: Any, call_sid: str, from_raw: str | None, lang: str, now: datetime,
          said: str = "") -> str | None:
    """Book a callback for this call (whatever we know of it); the promise, or None."""
    from callbacks.booking import book_callback

    with app.extensions["db"].transaction() as session:
        call = session.scalar(select(Call).where(Call.call_sid == call_sid))
        if call is not None:  # what the caller said in the failed request is kept too
            call.words = call.words or (said or None)
            return handoff.book_for_call(session, call, source="fallback", now=now)
        number = handoff.e164(from_raw)
        if number is None:
            return None
        booking = book_callback(session, phone=number, call_sid=call_sid, intent=None,
                                words=said, language=lang, window_start=None, window_end=None,
                                not_digital_cue=None, source="fallback", now=now)
        return booking.promise(lang)


def rescue_twiml(app: Any, form: Mapping[str, str]) -> str:
    """TwiML for a call we failed: apology, then the fallback number or a callback."""
    config = app.config
    lang = config.get("DEFAULT_LANGUAGE", "it")
    lang = lang if lang in MESSAGES["sorry"] else "en"
    say, voice = SAY_LANGUAGE[lang], DEFAULT_VOICES[lang]
    fallback = config.get("FALLBACK_NUMBER") or ""
    if fallback:
        return twiml.apology(MESSAGES["transfer"][lang], say, fallback, voice)
    call_sid = form.get("CallSid") or ""
    promise = None
    if call_sid:
        try:
            promise = _book(app, call_sid, form.get("From"), lang, app.extensions["clock"].now(),
                            (form.get("SpeechResult") or "").strip()[:2000])
        except Exception as exc:
            log.exception("call %s: could not book a callback while rescuing", call_sid)
            if handoff.e164(form.get("From")) is not None and spool_caller(
                    app, form, f"rescue: {type(exc).__name__}"):
                return twiml.render([twiml.Speak(MESSAGES["spooled"][lang], say, voice),
                                     twiml.Hangup()])
    if promise:
        return twiml.render([twiml.Speak(f"{MESSAGES['callback'][lang]} {promise}", say, voice),
                             twiml.Hangup()])
    return twiml.apology(MESSAGES["sorry"][lang], say, None, voice)
