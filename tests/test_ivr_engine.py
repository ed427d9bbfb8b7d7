"""Whole calls through the flow engine, placed with the local Twilio stand-in."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from callbacks.models import CallbackRequest
from ivr.models import Call, CallEvent
from localtwilio import HangUp, Press, SayText, Silence, scripted_dial
from tests.ivr_support import (
    CALLER,
    CHRISTMAS,
    CLOSED,
    UK_CALLER,
    hotline,
    place_call,
    prompts_text,
    twiml,
)


def _call(session: Any, sid: str) -> Call:
    session.expire_all()
    call = session.scalar(select(Call).where(Call.call_sid == sid))
    assert call is not None
    return call


def _requests(session: Any) -> list[CallbackRequest]:
    session.expire_all()
    return list(session.scalars(select(CallbackRequest).order_by(CallbackRequest.id)))


def test_italian_caller_books_a_callback_in_their_own_words(make_app: Any, session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [SayText("ho un problema con la bolletta"), SayText("sì"),
                         SayText("sì")])
    said = prompts_text(t)
    assert "perché sta chiamando" in said
    assert "richiamarla per la bolletta" in said
    assert "5 6 7" in said and "la richiameremo" in said
    call = _call(session, t.call_sid)
    assert call.language == "it" and call.intent == "billing"
    assert call.words == "ho un problema con la bolletta"
    assert call.outcome == "callback_booked" and call.state == "ended"
    [request] = _requests(session)
    assert request.id == call.callback_request_id
    assert request.phone == CALLER and request.intent == "billing"
    assert request.words == "ho un problema con la bolletta"
    event = session.scalar(select(CallEvent).where(CallEvent.call_id == call.id,
                                                   CallEvent.step == "ask_need"))
    assert event.words == "ho un problema con la bolletta" and event.source == "twilio"
    assert event.intent == "billing" and event.decision == "accept"


def test_english_caller_from_the_uk_hears_english(make_app: Any, session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [SayText("I want to pay in instalments", voice="en"), SayText("yes"),
                         SayText("yes")], from_=UK_CALLER)
    said = prompts_text(t)
    assert "why you are calling" in said and "call you back about a payment" in said
    call = _call(session, t.call_sid)
    assert call.language == "en" and call.intent == "payment"
    assert call.outcome == "callback_booked"
    assert _requests(session)[0].language == "en"


def test_silent_caller_gets_one_simpler_reprompt_then_a_human(make_app: Any,
                                                               session: Any) -> None:
    # anonymous: a silent caller whose number we know is called back instead
    # (tests/test_ivr_journeys.py)
    app = hotline(make_app)
    t = place_call(app, [Silence(), Silence()], from_="anonymous")
    said = t.prompts
    assert sum("perché sta chiamando" in p for p in said) == 1
    assert sum("prema 0 per un operatore" in p for p in said) == 1  # the short reprompt, once
    assert t.outcome.startswith("transferred:+390299999999")
    call = _call(session, t.call_sid)
    assert call.outcome == "transferred"
    decisions = [e.decision for e in call.events if e.step == "ask_need"]
    assert decisions == ["reprompt", "gave_up"]


def test_mumbling_caller_can_use_the_keypad_after_the_reprompt(make_app: Any,
                                                               session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [SayText("mmm ehm boh", confidence=0.3), Press("3")])
    call = _call(session, t.call_sid)
    assert call.intent == "outage"  # outage goes straight to a human
    assert t.outcome.startswith("transferred:")
    events = {(e.step, e.attempt): e for e in call.events}
    assert events[("ask_need", 0)].decision == "reprompt"
    assert events[("ask_need", 0)].words == "mmm ehm boh"
    assert events[("ask_need", 1)].source == "dtmf" and events[("ask_need", 1)].digits == "3"


@pytest.mark.parametrize("script", [
    [SayText("operatore")],
    [Press("0")],
    [SayText("la bolletta"), SayText("voglio parlare con un operatore")],
    [SayText("bolletta"), SayText("sì"), Press("0")],
    [SayText("bolletta"), SayText("sì"), SayText("no"), SayText("operatore")],
], ids=["ask", "ask-keypad", "offer", "number", "number-ask"])
def test_operator_reaches_a_human_at_any_step(make_app: Any, session: Any,
                                              script: list[Any]) -> None:
    app = hotline(make_app)
    t = place_call(app, script)
    assert t.outcome == "transferred:+390299999999"
    decisions = [e.decision for e in _call(session, t.call_sid).events]
    assert decisions[-3:] == ["human", "transferred", "completed"]


def test_caller_who_hangs_up_mid_flow_loses_nothing(make_app: Any, session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [SayText("non mi è arrivata la bolletta di ottobre"), HangUp()])
    assert t.outcome == "hangup"
    call = _call(session, t.call_sid)
    assert call.outcome == "hangup_callback" and call.twilio_status == "completed"
    [request] = _requests(session)
    assert request.words == "non mi è arrivata la bolletta di ottobre"
    assert request.phone == CALLER and request.source == "hangup"


def test_silent_caller_who_hangs_up_is_called_back(make_app: Any, session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [HangUp()])
    assert _call(session, t.call_sid).outcome == "hangup_callback"
    [request] = _requests(session)
    assert request.phone == CALLER and request.source == "silent" and request.words == ""


def test_caller_who_declined_and_hung_up_is_not_called_back(make_app: Any,
                                                             session: Any) -> None:
    app = hotline(make_app)  # "no" to the callback, then hangs up at "hold for an agent?"
    t = place_call(app, [SayText("ho un problema con la bolletta"), SayText("no"), HangUp()])
    assert "non la richiamiamo" in prompts_text(t)
    assert _call(session, t.call_sid).outcome == "hangup"
    assert _requests(session) == []


@pytest.mark.parametrize("moment", [CLOSED, CHRISTMAS], ids=["evening", "christmas"])
def test_after_hours_the_caller_is_offered_a_callback(make_app: Any, session: Any,
                                                      moment: Any) -> None:
    app = hotline(make_app, at=moment)
    t = place_call(app, [SayText("c'è un guasto, sono senza luce"), SayText("sì")])
    said = prompts_text(t)
    assert "possiamo richiamarla" in said
    assert "ci richiami" not in said and "richiamare più tardi" not in said
    assert not t.requests_to("Dial") and t.outcome == "hangup"  # no transfer when closed
    call = _call(session, t.call_sid)
    assert call.outcome == "callback_booked" and call.intent == "outage"
    assert "la metto in contatto" not in said


def test_duplicated_webhooks_do_not_advance_the_call_twice(make_app: Any,
                                                          session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [SayText("ho un problema con la bolletta"), SayText("sì"),
                         SayText("sì")], duplicate_webhooks=True)
    firsts = [r for r in t.requests if r.kind != "duplicate"]
    for original, repeat in zip(firsts, [r for r in t.requests if r.kind == "duplicate"],
                                strict=False):
        if original.kind != "status":
            assert repeat.body == original.body
    call = _call(session, t.call_sid)
    assert call.outcome == "callback_booked"
    assert len(_requests(session)) == 1
    assert [e.step for e in call.events if not e.step.startswith("_")] == [
        "ask_need", "offer_callback", "callback_number"]


def test_low_confidence_is_confirmed_and_a_no_asks_again(make_app: Any, session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [SayText("ho pagato due volte la bolletta"), SayText("no"),
                         SayText("vorrei pagare a rate"), SayText("sì"), SayText("sì")])
    call = _call(session, t.call_sid)
    decisions = [(e.step, e.decision) for e in call.events if not e.step.startswith("_")]
    assert decisions[0] == ("ask_need", "confirm")
    assert decisions[1] == ("confirm_need", "no")
    assert decisions[2][0] == "ask_need_again"
    assert call.intent == "payment" and call.outcome == "callback_booked"


def test_high_confidence_is_not_confirmed(make_app: Any, session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [SayText("bolletta"), SayText("sì"), SayText("sì")])
    assert "è corretto" not in prompts_text(t)


def test_anonymous_caller_gives_a_number_by_keypad(make_app: Any, session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [SayText("vorrei un appuntamento con il tecnico"), SayText("sì"),
                         Press("3391234567#")], from_="anonymous")
    said = prompts_text(t)
    assert "termina con" not in said and "mi dica il numero" in said
    call = _call(session, t.call_sid)
    assert call.from_number is None and call.callback_number == "+393391234567"
    assert _requests(session)[0].phone == "+393391234567"


def test_caller_can_give_another_number_by_voice(make_app: Any, session: Any) -> None:
    app = hotline(make_app)
    place_call(app, [SayText("vorrei disdire il contratto"), SayText("sì"), SayText("no"),
                     SayText("tre tre nove uno due tre quattro cinque sei sette")])
    assert _requests(session)[0].phone == "+393391234567"


def test_not_digital_caller_is_never_sent_online_and_hears_slower_prompts(
        make_app: Any, session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [SayText("vorrei una copia della bolletta, non ho internet")],
                   dial=scripted_dial(default="no-answer"))
    said = prompts_text(t)
    assert "sito" not in said and "area clienti" not in said
    call = _call(session, t.call_sid)
    assert call.not_digital and call.not_digital_cue == "non ho internet"
    assert call.path[-2:] == ["human", "callback_number"]  # straight to a person
    last = [r for r in t.requests if r.kind != "status"][-1]
    assert twiml(last.body).find(".//prosody").get("rate") == "85%"


def test_digital_caller_hears_about_the_website(make_app: Any, session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [SayText("mi serve un duplicato della fattura"), SayText("sì"),
                         SayText("sì")])
    assert "area clienti" in prompts_text(t)


def test_unanswered_transfer_becomes_a_callback(make_app: Any, session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [SayText("operatore"), SayText("sì")],
                   dial=scripted_dial(default="busy"))
    call = _call(session, t.call_sid)
    assert call.outcome == "callback_booked"
    assert any(e.decision == "dial_busy" for e in call.events)


def test_caller_flagged_not_digital_gets_patience_and_the_shortest_path(
        make_app: Any, session: Any) -> None:
    from callbacks.profiles import get_or_create_caller, set_not_digital
    from tests.ivr_support import OPEN

    app = hotline(make_app)
    with app.extensions["db"].transaction() as s:
        caller = get_or_create_caller(s, CALLER, OPEN)
        set_not_digital(s, caller, True, source="agent", actor="test", reason="no internet",
                        now=OPEN)
    t = place_call(app, [SayText("ho un problema con la bolletta")])
    first = twiml(t.requests[0].body)
    gather = first.find("Gather")
    assert gather is not None and gather.get("timeout") == "9"
    assert gather.find("Say/prosody").get("rate") == "85%"
    assert gather.find("Pause") is not None
    assert t.outcome == "transferred:+390299999999"  # no callback offer, no confirmation
    assert "vuole essere richiamato" not in prompts_text(t)
    # Twilio honours the slower rate: the voice takes SSML and speaks Italian (no warnings)
    assert t.notices == []
    assert {turn.rate for turn in t.turns if turn.who == "app"} == {"85%"}


@pytest.mark.parametrize(("caller", "words", "voice"), [
    (CALLER, "ho un problema con la bolletta", "Polly.Bianca-Neural"),
    (UK_CALLER, "I have a problem with my bill", "Polly.Amy-Neural"),
])
def test_every_prompt_is_said_by_a_voice_that_speaks_the_callers_language(
        make_app: Any, caller: str, words: str, voice: str) -> None:
    t = place_call(hotline(make_app), [SayText(words), SayText("no"), Silence()],
                   from_=caller)
    assert t.notices == []  # Twilio's debugger would list 13511 (voice/language) or 13513
    said = [turn for turn in t.turns if turn.who == "app" and turn.verb == "Say"]
    assert len(said) >= 3 and {turn.voice for turn in said} == {voice}


def test_anonymous_caller_who_cannot_give_a_number_leaves_a_message(make_app: Any,
                                                                    session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [SayText("ho un problema con la bolletta"), SayText("sì"),
                         Silence(), Silence(), SayText("sono Maria, richiamatemi")],
                   from_="anonymous")
    said = prompts_text(t)
    assert said.count("mi dica il numero") == 1 and said.count("digiti il numero") == 1
    assert "segnale acustico" in said
    call = _call(session, t.call_sid)
    assert call.outcome == "message"
    [request] = _requests(session)
    assert request.needs_number and request.source == "voicemail"
    assert request.words == "ho un problema con la bolletta"
    recorded = [e for e in call.events if e.step == "leave_message"]
    assert recorded[0].detail["RecordingUrl"].startswith("http://localtwilio.test")


def test_a_caller_who_records_nothing_still_hears_goodbye(make_app: Any,
                                                         session: Any) -> None:
    # Twilio skips the <Record> action on an empty recording and runs the next verb.
    app = hotline(make_app)
    t = place_call(app, [SayText("ho un problema con la bolletta"), SayText("sì"),
                         Silence(), Silence(), Silence()], from_="anonymous")
    assert any(turn.text == "(records nothing)" for turn in t.turns)
    [redirect] = [r for r in t.requests_to("/leave_message/0") if r.kind == "redirect"]
    assert "RecordingUrl" not in redirect.params
    assert t.prompts[-1] == "Grazie per aver chiamato. Arrivederci."
    call = _call(session, t.call_sid)
    assert [e.decision for e in call.events if e.step == "leave_message"] == ["recorded"]
    assert t.hung_up_by == "app"  # the flow ended the call, not dead air


def test_a_confirmation_is_reprompted_once_then_a_human(make_app: Any, session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [SayText("bolletta"), SayText("boh"), Silence()])
    call = _call(session, t.call_sid)
    offers = [e.decision for e in call.events if e.step == "offer_callback"]
    assert offers == ["reprompt", "gave_up"]
    assert t.outcome.startswith("transferred:")


def _with_time_question(app: Any) -> None:
    """Publish the default flow with "when shall we call?" before the booking."""
    import copy

    from ivr.flow_store import create_draft, publish, published_version
    from tests.ivr_support import OPEN

    with app.extensions["db"].transaction() as s:
        document = copy.deepcopy(published_version(s, "main").document)
        document["steps"]["callback_number"]["next"] = "callback_time"
        document["steps"]["callback_time"] = {
            "type": "ask_time",
            "prompt": {"it": "Quando preferisce essere richiamato?",
                       "en": "When would you like us to call you back?"},
            "reprompt": {"it": "Dica per esempio domani mattina, o prema 1 per appena possibile.",
                         "en": "Say for example tomorrow morning, or press 1 for any time."},
            "next": "book", "on_failure": "book"}
        publish(s, create_draft(s, document), by="test", now=OPEN)


def test_caller_can_say_when_to_be_called_back(make_app: Any, session: Any) -> None:
    from zoneinfo import ZoneInfo

    app = hotline(make_app)
    _with_time_question(app)
    t = place_call(app, [SayText("ho un problema con la bolletta"), SayText("sì"),
                         SayText("sì"), SayText("domani pomeriggio")])
    call = _call(session, t.call_sid)
    assert call.outcome == "callback_booked"
    start = call.callback_window_start.astimezone(ZoneInfo("Europe/Rome"))
    assert (start.day, start.hour >= 12) == (25, True)  # Wednesday afternoon in Rome
    [request] = _requests(session)
    assert request.window_start == call.callback_window_start
    assert "domani" in prompts_text(t)


def test_a_time_we_cannot_understand_still_books_as_soon_as_possible(make_app: Any,
                                                                     session: Any) -> None:
    app = hotline(make_app)
    _with_time_question(app)
    t = place_call(app, [SayText("bolletta"), SayText("sì"), SayText("sì"), SayText("boh"),
                         Silence()])
    call = _call(session, t.call_sid)
    assert call.outcome == "callback_booked" and call.callback_window_start is None
    assert [e.decision for e in call.events if e.step == "callback_time"] == [
        "reprompt", "gave_up"]


def test_an_answer_of_only_unk_is_reprompted_and_not_stored(make_app: Any,
                                                            session: Any) -> None:
    app = hotline(make_app)
    t = place_call(app, [SayText("[unk] [unk]"), HangUp()])
    call = _call(session, t.call_sid)
    event = next(e for e in call.events if e.step == "ask_need")
    assert event.decision == "reprompt" and event.words is None
    assert call.words is None and call.intent is None
    [request] = _requests(session)  # hung up without a need: called back as a silent call
    assert request.words == "" and request.source == "silent"
