"""Callers' journeys through the default flow, placed with the local Twilio stand-in.

Each test says what the caller heard, in order, and what the agents' queue holds after the
call: an emergency gets safety advice and a person or an urgent callback; a "no" to the
callback offer is respected; a silent caller is called back without a maze; and every
fallback says why before what happens next.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import pytest

from callbacks.booking import book_callback
from callbacks.console_queries import QueueRow, waiting_list
from ivr.flowdoc import FlowDoc, default_flow_files, load_file
from localtwilio import CallTranscript, Press, SayText, Silence, scripted_dial
from tests.ivr_support import CALLER, CLOSED, OPEN, UK_CALLER, hotline, place_call

OTHER = "+393339876543"
NOT_DIGITAL = "+393335550001"


def _queue(session: Any, at: Any, lang: str = "en") -> list[QueueRow]:
    session.expire_all()
    return waiting_list(session, at, lang=lang).rows


def _heard(transcript: CallTranscript) -> list[str]:
    return [p.lower() for p in transcript.prompts]


def _in_order(heard: list[str], *fragments: str) -> None:
    """Each fragment is in a prompt after the one holding the previous fragment."""
    position = -1
    for fragment in fragments:
        found = next((i for i, p in enumerate(heard) if i > position and fragment in p), None)
        assert found is not None, f"{fragment!r} not heard after prompt {position}: {heard}"
        position = found


def _asked_for_a_number(heard: list[str]) -> bool:
    return any("numero" in p or "number" in p for p in heard)


def _seed_queue(app: Any, at: Any) -> None:
    """Two callers already waiting: an ordinary one, and one flagged not digital."""
    with app.extensions["db"].transaction() as s:
        for phone, cue in ((OTHER, None), (NOT_DIGITAL, "non ho internet")):
            book_callback(s, phone=phone, call_sid=f"CA-{phone[-4:]}", intent="billing",
                          words="la bolletta", language="it", window_start=None,
                          window_end=None, not_digital_cue=cue, source="speech",
                          now=at - timedelta(minutes=40))


# ---------------------------------------------------------------- 1. emergencies
@pytest.mark.parametrize("script", [
    [SayText("ho un problema con la bolletta"), SayText("aspetti, sento odore di gas in cucina")],
    [SayText("bolletta"), SayText("sì"), SayText("esce fumo dalla presa del bagno")],
], ids=["keyword-at-the-offer", "model-at-the-number-question"])
def test_an_emergency_said_at_any_question_gets_safety_advice_then_a_person(
        make_app: Any, session: Any, script: list[Any]) -> None:
    app = hotline(make_app)
    t = place_call(app, script)
    heard = _heard(t)
    _in_order(heard, "perché sta chiamando", "richiamarla", "chiami subito il 112",
              "la metto in contatto")
    assert any("odore di gas" in p and "112" in p for p in heard)  # advice and number
    assert t.outcome == "transferred:+390299999999"
    assert _queue(session, OPEN) == []


@pytest.mark.parametrize(("caller", "words", "advice", "closed", "first"), [
    (CALLER, "c'è una fuga di gas in casa", "chiami subito il 112", "adesso siamo chiusi",
     "la prima della lista"),
    (UK_CALLER, "I can smell gas in the kitchen", "call 999 now", "we are closed right now",
     "first in the queue"),
], ids=["it", "en"])
def test_an_emergency_after_hours_is_booked_urgent_at_the_top_of_the_queue(
        make_app: Any, session: Any, caller: str, words: str, advice: str, closed: str,
        first: str) -> None:
    app = hotline(make_app, at=CLOSED)
    _seed_queue(app, CLOSED)
    t = place_call(app, [SayText(words, voice=caller == UK_CALLER and "en" or "it"),
                         SayText("yes" if caller == UK_CALLER else "sì")], from_=caller)
    heard = _heard(t)
    _in_order(heard, advice, closed, "5" if caller == CALLER else "4 5 6", first)
    assert not any("minut" in p for p in heard)  # no wait promised in minutes
    assert not t.requests_to("Dial")
    rows = _queue(session, CLOSED)
    assert [row.request.phone for row in rows] == [caller, NOT_DIGITAL, OTHER]
    urgent = rows[0]
    assert urgent.request.intent == "emergency" and urgent.request.promise_kind == "urgent"
    assert urgent.reason.startswith("URGENT: emergency")
    assert "promised" not in urgent.reason
    assert _queue(session, CLOSED, "it")[0].reason.startswith("URGENTE: emergenza")


def test_an_emergency_nobody_answers_is_booked_urgent_after_saying_why(make_app: Any,
                                                                       session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [SayText("c'è odore di gas in casa"), SayText("sì")],
                   dial=scripted_dial(default="busy"))
    heard = _heard(t)
    _in_order(heard, "112", "la metto in contatto", "nessun operatore è libero",
              "termina con 5 6 7", "la prima della lista", "arrivederci")
    [row] = _queue(session, OPEN)
    assert row.request.phone == CALLER and row.reason.startswith("URGENT: emergency")


@pytest.mark.parametrize(("caller", "voice", "words", "question", "advice", "through"), [
    (CALLER, "it", "esce acqua dal contatore", "è un'emergenza: gas, acqua, pericolo elettrico?",
     "chiami subito il 112", "la metto in contatto"),
    (UK_CALLER, "en", "there's a leak", "is it an emergency: gas, water, electrical danger?",
     "call 999 now", "putting you through"),
], ids=["it", "en"])
def test_an_emergency_understood_with_low_confidence_is_asked_about_not_acted_on(
        make_app: Any, session: Any, caller: str, voice: str, words: str, question: str,
        advice: str, through: str) -> None:
    app = hotline(make_app)
    yes = SayText("sì" if voice == "it" else "yes", voice=voice)
    t = place_call(app, [SayText(words, voice=voice), yes], from_=caller)
    heard = _heard(t)
    _in_order(heard, question, advice, through)
    asked = next(i for i, p in enumerate(heard) if question in p)
    assert not any(advice in p for p in heard[:asked + 1])  # asked first, advice after
    assert t.outcome == "transferred:+390299999999" and _queue(session, OPEN) == []


def test_a_doubtful_emergency_denied_asks_the_same_question_again(make_app: Any,
                                                                  session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [SayText("esce acqua dal contatore"), SayText("no"),
                         SayText("ho un problema con la bolletta"), SayText("sì"),
                         SayText("sì")])
    heard = _heard(t)
    _in_order(heard, "perché sta chiamando", "è un'emergenza", "mi dica solo l'argomento",
              "richiamarla per la bolletta", "termina con 5 6 7", "arrivederci")
    assert not any("112" in p for p in heard)
    [row] = _queue(session, OPEN)
    assert row.request.intent == "billing" and row.request.promise_kind != "urgent"


def test_a_doubtful_emergency_at_a_later_question_goes_back_to_that_question(
        make_app: Any, session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [SayText("ho un problema con la bolletta"),
                         SayText("esce acqua dal contatore"), SayText("no"), SayText("sì"),
                         SayText("sì")])
    _in_order(_heard(t), "vuole essere richiamato", "è un'emergenza",
              "vuole che la richiamiamo", "termina con 5 6 7", "arrivederci")
    [row] = _queue(session, OPEN)
    assert row.request.intent == "billing"


# ---------------------------------------------------------------- 2. respect "no"
def test_declining_the_callback_when_open_offers_to_hold_for_a_person(make_app: Any,
                                                                      session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [SayText("ho un problema con la bolletta"),
                         SayText("no, non voglio essere richiamato"), SayText("sì")])
    heard = _heard(t)
    _in_order(heard, "perché sta chiamando", "vuole essere richiamato",
              "vuole restare in linea", "la metto in contatto")
    assert not _asked_for_a_number(heard)
    assert t.outcome == "transferred:+390299999999"
    assert _queue(session, OPEN) == []


def test_declining_the_callback_and_the_wait_just_says_goodbye(make_app: Any,
                                                               session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [SayText("ho un problema con la bolletta"), SayText("no"),
                         SayText("no")])
    heard = _heard(t)
    _in_order(heard, "vuole essere richiamato", "vuole restare in linea", "arrivederci")
    assert not _asked_for_a_number(heard) and not any("segnale" in p for p in heard)
    assert t.hung_up_by == "app" and _queue(session, OPEN) == []


def test_declining_the_callback_when_nobody_answers_says_why_and_no_number_question(
        make_app: Any, session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [SayText("ho un problema con la bolletta"), SayText("no"),
                         SayText("sì")], dial=scripted_dial(default="no-answer"))
    heard = _heard(t)
    _in_order(heard, "vuole restare in linea", "nessun operatore è libero",
              "riprovare tra qualche minuto", "arrivederci")
    assert not _asked_for_a_number(heard)
    assert _queue(session, OPEN) == []


@pytest.mark.parametrize(("caller", "words", "no", "expected"), [
    (CALLER, "ho un problema con la bolletta", "no, non voglio essere richiamato",
     "adesso siamo chiusi: riapriamo domani alle 8:30"),
    (UK_CALLER, "I have a problem with my bill", "no thanks",
     "we are closed right now: we open again tomorrow at 8:30"),
], ids=["it", "en"])
def test_declining_the_callback_when_closed_says_when_to_call_again(
        make_app: Any, session: Any, caller: str, words: str, no: str, expected: str) -> None:
    app = hotline(make_app, at=CLOSED)
    voice = "en" if caller == UK_CALLER else "it"
    t = place_call(app, [SayText(words, voice=voice), SayText(no, voice=voice)], from_=caller)
    heard = _heard(t)
    assert expected in heard[-2]
    assert heard[-1] in ("grazie per aver chiamato. arrivederci.",
                         "thank you for calling. goodbye.")
    assert not _asked_for_a_number(heard) and not t.requests_to("Record")
    # simulated seconds; the first question names the way to a person (AGCOM), ~4 s
    assert t.duration < 45 and _queue(session, CLOSED) == []


# ---------------------------------------------------------------- 3. silence
@pytest.mark.parametrize("at", [OPEN, CLOSED], ids=["open", "closed"])
def test_a_silent_caller_whose_number_is_known_gets_one_short_question_then_a_callback(
        make_app: Any, session: Any, at: Any) -> None:
    app = hotline(make_app, at=at)
    t = place_call(app, [Silence(), Silence()])
    heard = _heard(t)
    _in_order(heard, "perché sta chiamando", "non la sento", "non sono riuscito a sentirla",
              "richiesta di richiamata a questo numero", "arrivederci")
    assert sum(turn.who == "caller" for turn in t.turns) == 2  # asked two questions in all
    assert not any("prema 1 per la bolletta" in p for p in heard)  # no keypad maze
    assert not any("prendere il numero" in p or "segnale" in p for p in heard)
    assert not t.requests_to("Dial") and not t.requests_to("Record")
    assert t.duration < 45
    [row] = _queue(session, at)
    assert row.request.phone == CALLER and row.request.source == "silent"
    assert "silent call" in row.reason
    assert "chiamata silenziosa" in _queue(session, at, "it")[0].reason


def test_a_silent_caller_who_speaks_at_the_short_question_goes_on_as_usual(
        make_app: Any, session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [Silence(), SayText("ho un problema con la bolletta"), SayText("sì"),
                         SayText("sì")])
    _in_order(_heard(t), "non la sento", "richiamarla per la bolletta")
    [row] = _queue(session, OPEN)
    assert row.request.source == "speech" and "silent call" not in row.reason


def test_a_silent_anonymous_caller_hears_why_then_reaches_a_person(make_app: Any,
                                                                   session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [Silence(), Silence()], from_="anonymous")
    _in_order(_heard(t), "non la sento", "non sono riuscito a sentirla", "la metto in contatto")
    assert t.outcome == "transferred:+390299999999"


# ---------------------------------------------------------------- 4. honest words
@pytest.mark.parametrize(("caller", "script", "why", "then"), [
    (CALLER, [Press("0")], "adesso siamo chiusi.", "termina con"),
    (UK_CALLER, [Press("0")], "we are closed right now.", "ending in"),
], ids=["it", "en"])
def test_pressing_0_after_hours_says_we_are_closed_before_the_callback(
        make_app: Any, session: Any, caller: str, script: list[Any], why: str,
        then: str) -> None:
    t = place_call(hotline(make_app, at=CLOSED), script, from_=caller)
    heard = _heard(t)
    at = next(i for i, p in enumerate(heard) if why in p)
    assert then in heard[at] or then in heard[at + 1]


@pytest.mark.parametrize(("caller", "voice", "why", "then"), [
    (CALLER, "it", "in questo momento nessun operatore è libero.", "termina con"),
    (UK_CALLER, "en", "no agent is free right now.", "ending in"),
], ids=["it", "en"])
def test_an_outage_nobody_answers_says_no_agent_is_free_before_the_callback(
        make_app: Any, session: Any, caller: str, voice: str, why: str, then: str) -> None:
    words = "sono senza luce" if voice == "it" else "I have no power"
    t = place_call(hotline(make_app), [SayText(words, voice=voice)], from_=caller,
                   dial=scripted_dial(default="no-answer"))
    _in_order(_heard(t), why, then)


@pytest.mark.parametrize(("caller", "voice", "why"), [
    (CALLER, "it", "non sono riuscito a capirla."),
    (UK_CALLER, "en", "i could not understand you."),
], ids=["it", "en"])
def test_a_caller_not_understood_twice_hears_why_before_the_person(
        make_app: Any, session: Any, caller: str, voice: str, why: str) -> None:
    t = place_call(hotline(make_app), [SayText("mmm boh", voice=voice),
                                       SayText("ehm mah", voice=voice)], from_=caller)
    _in_order(_heard(t), why, "la metto" if voice == "it" else "putting you through")
    assert t.outcome == "transferred:+390299999999"


def test_the_default_flow_sends_emergencies_to_the_advice_with_the_local_number() -> None:
    [path] = default_flow_files()
    flow = FlowDoc(load_file(path))
    assert flow.emergency_step == "emergency_advice"
    assert "chiami subito il 112" in flow.text("emergency_advice", "prompt", "it")
    assert "call 999 now" in flow.text("emergency_advice", "prompt", "en")


# ---------------------------------------------------------------- 5. not digital
def test_a_caller_who_is_not_digital_hears_they_were_understood_and_goes_first(
        make_app: Any, session: Any) -> None:
    app = hotline(make_app)
    _seed_queue(app, OPEN)
    t = place_call(app, [SayText("vorrei una copia della bolletta ma non ho internet"),
                         SayText("sì")], from_=CALLER, dial=scripted_dial(default="no-answer"))
    heard = _heard(t)
    _in_order(heard, "perché sta chiamando", "capisco, ci pensa una persona",
              "la metto in contatto", "nessun operatore è libero", "termina con 5 6 7",
              "ho registrato la sua richiesta", "arrivederci")
    assert not any("area clienti" in p or "vuole essere richiamato" in p for p in heard)
    rows = _queue(session, OPEN)
    assert [row.request.phone for row in rows] == [NOT_DIGITAL, CALLER, OTHER]
    assert rows[1].request.not_digital


# ---------------------------------------------------------------- 6. language
GERMAN_CALLER = "+4915112345678"  # settings.language_by_country has no DE: words decide


@pytest.mark.parametrize(("caller", "first_words"), [
    (GERMAN_CALLER, "I have a problem with my bill"),
    ("anonymous", "hello, I have a problem with my bill"),
], ids=["foreign-number", "hidden-number"])
def test_a_caller_whose_number_does_not_decide_is_answered_in_the_language_they_speak(
        make_app: Any, session: Any, caller: str, first_words: str) -> None:
    app = hotline(make_app)
    script = [SayText(first_words, voice="en"), SayText("yes", voice="en")]
    if caller != "anonymous":
        script.append(SayText("yes", voice="en"))
    t = place_call(app, script, from_=caller)
    heard = _heard(t)
    _in_order(heard, "perché sta chiamando", "an agent can call you back about your bill")
    italian, english = heard.index(next(p for p in heard if "perché" in p)), \
        heard.index(next(p for p in heard if "your bill" in p))
    says = [turn for turn in t.turns if turn.who == "app" and turn.verb == "Say"]
    assert {turn.language for turn in says[:italian + 1]} == {"it-IT"}
    assert {turn.language for turn in says[english:]} == {"en-GB"}  # the voice follows
    assert {turn.voice for turn in says[english:]} == {"Polly.Amy-Neural"}
    gathers = [g for r in t.requests for g in ET.fromstring(r.body or "<Response/>")
               .iter("Gather")] if t.requests else []
    assert gathers[0].get("language") == "it-IT"  # the first question, before the switch
    assert {g.get("language") for g in gathers[1:]} == {"en-GB"}  # the recogniser follows
    if caller == "anonymous":
        _in_order(heard, "your bill", "please say the number")
        assert _queue(session, OPEN) == []
    else:
        _in_order(heard, "your bill", "ending in 6 7 8", "all set", "goodbye")
        [row] = _queue(session, OPEN)
        assert row.request.phone == GERMAN_CALLER and row.request.language == "en"


def test_a_foreign_caller_speaking_italian_stays_in_italian(make_app: Any,
                                                             session: Any) -> None:
    t = place_call(hotline(make_app), [SayText("ho un problema con la bolletta"),
                                       SayText("sì"), SayText("sì")], from_=GERMAN_CALLER)
    _in_order(_heard(t), "perché sta chiamando", "richiamarla per la bolletta",
              "termina con 6 7 8", "arrivederci")
    [row] = _queue(session, OPEN)
    assert row.request.language == "it"


def test_a_caller_whose_number_decides_keeps_its_language_whatever_they_say(
        make_app: Any, session: Any) -> None:
    t = place_call(hotline(make_app), [SayText("I have a problem with my bill", voice="en")])
    heard = _heard(t)
    _in_order(heard, "perché sta chiamando", "un operatore può richiamarla")
    assert not any("your bill" in p or "agent can call" in p for p in heard)
