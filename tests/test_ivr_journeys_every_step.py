"""At every question of the default flow, a caller can ask for a person or hang up.

The questions come from ivr/flows/main.yaml and the answers that reach each one from
`tests.journey_plans` (read off the flow's graph), so a question added to the flow is
tested here without editing this file. Each call goes through the local Twilio stand-in
with signed webhooks; each test says what the caller heard, in order, and what the agents'
queue holds afterwards.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from callbacks.console_queries import waiting_list
from ivr.engine import caller_declined
from ivr.flowdoc import FlowDoc, default_flow_files, load_file
from ivr.models import Call, CallEvent
from ivr.walker import question_text
from localtwilio import CallTranscript, Press, SayText
from tests.ivr_support import CALLER, OPEN, UK_CALLER, hotline, place_call
from tests.journey_plans import Plan, listening_steps, plan

[FLOW_FILE] = default_flow_files()
DOC = load_file(FLOW_FILE)
QUESTIONS = listening_steps(DOC)
ESCAPES = [(CALLER, "it", SayText("operatore")), (UK_CALLER, "en", SayText("agent", voice="en")),
           (CALLER, "it", Press("0"))]
PUT_THROUGH = {"it": "la metto in contatto con un operatore",
               "en": "i'm putting you through to an agent"}


def _plan(step: str, lang: str) -> Plan:
    found = plan(DOC, step, lang, is_open=True)
    assert found is not None, f"no answers reach {step!r} while open"
    return found


def _question(step: str, lang: str, intent: str | None) -> str:
    """The words the caller hears when asked at `step` (first try)."""
    call = Call(from_number=CALLER if lang == "it" else UK_CALLER, language=lang,
                intent=intent)
    return question_text(call, FlowDoc(DOC), step, 0).lower()


def _heard(transcript: CallTranscript) -> list[str]:
    return [p.lower() for p in transcript.prompts]


def _events_at(session: Any, step: str) -> list[CallEvent]:
    session.expire_all()
    return list(session.scalars(select(CallEvent).where(CallEvent.step == step)))


def test_every_question_of_the_default_flow_is_reached() -> None:
    assert {"ask_need", "offer_callback", "callback_number", "ask_need.emergency"} \
        <= set(QUESTIONS)
    for step in QUESTIONS:
        for lang in ("it", "en"):
            _plan(step, lang)


@pytest.mark.parametrize("step", QUESTIONS)
def test_an_escape_at_any_question_puts_the_caller_through_to_a_person(
        make_app: Any, session: Any, step: str) -> None:
    app = hotline(make_app)
    for caller, lang, escape in ESCAPES:
        route = _plan(step, lang)
        t = place_call(app, [*route.answers, escape], from_=caller)
        heard = _heard(t)
        asked = _question(step, lang, route.intent)
        assert asked in heard, f"{escape} never asked at {step}: {heard}"
        after = heard[heard.index(asked) + 1:]
        assert after and PUT_THROUGH[lang] in after[0], (escape, step, heard)
        assert t.outcome == "transferred:+390299999999"
        [event] = [e for e in _events_at(session, step)
                   if e.call.call_sid == t.call_sid]
        assert event.decision == "human"
    assert waiting_list(session, OPEN, lang="en").rows == []  # nobody left waiting


@pytest.mark.parametrize("step", QUESTIONS)
def test_a_hang_up_at_any_question_books_a_callback(
        make_app: Any, session: Any, step: str) -> None:
    app = hotline(make_app)
    route = _plan(step, "it")
    t = place_call(app, list(route.answers))  # the script runs out: the caller hangs up
    heard = _heard(t)
    assert heard[-1] == _question(step, "it", route.intent)  # nothing said after it
    assert t.hung_up_by == "caller"
    session.expire_all()
    call = session.scalar(select(Call).where(Call.call_sid == t.call_sid))
    assert call is not None and call.current_step == step
    rows = waiting_list(session, OPEN, lang="en").rows
    # A caller who hangs up is called back: with their need when it was heard, as a
    # "silent" call when it was not; unless they had said "no" to the callback.
    if caller_declined(session, call):
        assert call.outcome == "hangup" and rows == []
        return
    assert call.outcome == "hangup_callback"
    [row] = rows
    assert row.request.phone == CALLER
    if route.need_known:
        assert row.request.source == "hangup" and row.request.intent == route.intent
    else:
        assert row.request.source == "silent"
    assert row.request.promise_kind != "urgent"  # a doubt is not an emergency
